// GET /api/ws against the real server with the `ws` client: the upgrade's refusals (path,
// session, cross-site Origin), every message type both ways, many executions on one socket,
// resume with `after`, the level filter, exact gaps, bad frames (each answered, the socket and
// the server still healthy), and what a socket that stops reading costs.
import { expect } from 'chai';
import { ExecutionNotFoundError } from '../src/errors.js';
import { socketStats } from '../src/ws/connection.js';
import type { Client } from './helpers/client.js';
import { streamToEnd } from './helpers/executions.js';
import { healthWhen, loginAs, startTestServer, useServer } from './helpers/server.js';
import { entry, refusedUpgrade, shape, WsClient, type Message } from './helpers/ws.js';


async function socketOf(client: Client): Promise<WsClient> {
  return WsClient.open(client.baseUrl, client.cookieHeader);
}

describe('WebSocket /api/ws', function () {
  this.timeout(60_000);
  const server = useServer({ CHARIOT_THREADS: '2', CHARIOT_LOG_BUFFER: '10', CHARIOT_WS_MAX_MESSAGE: '4kb', CHARIOT_ALLOWED_ORIGINS: 'https://ui.example' });
  const open: WsClient[] = [];
  afterEach(() => {
    for (const socket of open.splice(0)) socket.terminate();
  });
  async function connect(client: Client): Promise<WsClient> {
    const socket = await socketOf(client);
    open.push(socket);
    return socket;
  }

  describe('the upgrade', () => {
    it('is refused with 401 without a session, and nothing is upgraded', async () => {
      const answer = await refusedUpgrade(server.url, {});
      expect(answer).to.eql({ status: 401, body: { error: 'Unauthorized', code: 'UNAUTHORIZED' } });
    });

    it('is refused with 401 for a forged session cookie', async () => {
      const answer = await refusedUpgrade(server.url, { cookie: 'chariot.sid=forged; chariot.sid.sig=forged' });
      expect(answer).to.eql({ status: 401, body: { error: 'Unauthorized', code: 'UNAUTHORIZED' } });
    });

    it('is refused with 403 for a cross-site Origin, before the session is looked at', async () => {
      const alice = await server.login('alice');
      for (const origin of ['http://evil.example', 'null', `${server.url.replace('127.0.0.1', 'localhost')}`]) {
        const answer = await refusedUpgrade(server.url, { cookie: alice.cookieHeader!, origin });
        expect(answer.status, origin).to.equal(403);
        expect(answer.body, origin).to.eql({
          error: `Cross-origin request refused: Origin ${JSON.stringify(origin)} is neither this server's origin nor in CHARIOT_ALLOWED_ORIGINS`,
          code: 'CROSS_ORIGIN',
        });
      }
      const anonymous = await refusedUpgrade(server.url, { origin: 'http://evil.example' });
      expect(anonymous.status).to.equal(403);
    });

    it('is accepted from the server\'s own origin, an allowed one, and with no Origin (not a browser)', async () => {
      const alice = await server.login('alice');
      const variants: Array<Record<string, string>> = [{ origin: server.url }, { origin: 'https://ui.example' }, {}];
      for (const headers of variants) {
        const socket = await WsClient.open(server.url, alice.cookieHeader, headers);
        open.push(socket);
        expect(await socket.run('1'), JSON.stringify(headers)).to.match(/^[0-9a-f-]{36}$/);
      }
    });

    it('answers 404 for another path under /api', async () => {
      const alice = await server.login('alice');
      const answer = await refusedUpgrade(server.url, { cookie: alice.cookieHeader! }, '/api/wsx');
      expect(answer).to.eql({ status: 404, body: { error: 'No such endpoint: GET /api/wsx (upgrade)', code: 'NOT_FOUND' } });
    });
  });

  describe('messages', () => {
    it('run answers started with its ref; subscribe streams the entries, progress and done with the result, once each, in order', async () => {
      const alice = await server.login('alice');
      const socket = await connect(alice);
      const id = await socket.run('logPrint("a"); console.warn("b"); progress(50, "half"); console.error("c"); ({ n: 3 })', 'mine');
      expect(socket.messages).to.eql([{ type: 'started', ref: 'mine', execution_id: id }]);
      socket.send({ type: 'subscribe', execution_id: id });
      const messages = (await socket.untilDone(id)).map(shape);
      expect(messages).to.eql([
        { type: 'started', ref: 'mine', execution_id: id },
        entry(id, 1, 'INFO', 'a'),
        entry(id, 2, 'WARN', 'b'),
        { type: 'progress', execution_id: id, percent: 50, message: 'half' },
        entry(id, 3, 'ERROR', 'c'),
        { type: 'done', execution_id: id, status: 'completed', result: { value: { n: 3 }, type: 'object' } },
      ]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(socket.messages.length, 'nothing after done').to.equal(6);
    });

    it('done carries the error of a failed execution', async () => {
      const alice = await server.login('alice');
      const socket = await connect(alice);
      const id = await socket.run('throw new TypeError("nope")');
      socket.send({ type: 'subscribe', execution_id: id });
      const messages = await socket.untilDone(id);
      expect(messages.slice(1)).to.eql([{ type: 'done', execution_id: id, status: 'error', error: 'TypeError: nope' }]);
    });

    it('carries many executions on one socket, each whole and in order', async () => {
      const alice = await server.login('alice');
      const socket = await connect(alice);
      const program = (name: string): string => `for (let i = 1; i <= 5; i++) { logPrint("${name}" + i); await sleep(5); } "${name}"`;
      const ids = await Promise.all(['x', 'y', 'z'].map((name) => socket.run(program(name))));
      for (const id of ids) socket.send({ type: 'subscribe', execution_id: id });
      for (const [i, id] of ids.entries()) {
        const name = ['x', 'y', 'z'][i]!;
        const messages = (await socket.untilDone(id)).filter((message) => message.type !== 'started').map(shape);
        expect(messages).to.eql([
          ...[1, 2, 3, 4, 5].map((n) => entry(id, n, 'INFO', `${name}${n}`)),
          { type: 'done', execution_id: id, status: 'completed', result: { value: name, type: 'string' } },
        ]);
      }
      expect(socket.messages.length).to.equal(3 * 7);
    });

    it('resumes after a seq, filters by level, and sends an exact gap for what the ring evicted', async () => {
      const alice = await server.login('alice');
      const socket = await connect(alice);
      // 25 entries, the ring keeps 10: seqs 16..25.
      const id = await socket.run('for (let i = 1; i <= 25; i++) (i % 5 === 0 ? console.warn : logPrint)("e" + i); 0');
      await streamToEnd(alice, id);
      const done = { type: 'done', execution_id: id, status: 'completed', result: { value: 0, type: 'number' } };
      const after20 = await connect(alice);
      after20.send({ type: 'subscribe', execution_id: id, after: 20 });
      expect((await after20.untilDone(id)).map(shape)).to.eql([21, 22, 23, 24, 25].map((n) => entry(id, n, n % 5 === 0 ? 'WARN' : 'INFO', `e${n}`)).concat([done]));
      const fromStart = await connect(alice);
      fromStart.send({ type: 'subscribe', execution_id: id, level: 'warn' });
      expect((await fromStart.untilDone(id)).map(shape)).to.eql([
        { type: 'gap', execution_id: id, missed: 15, seq: 15 },
        entry(id, 20, 'WARN', 'e20'),
        entry(id, 25, 'WARN', 'e25'),
        done,
      ]);
    });

    it('unsubscribe stops a stream; a second one is refused as not subscribed', async () => {
      const alice = await server.login('alice');
      const socket = await connect(alice);
      const id = await socket.run('logPrint("one"); await sleep(300); logPrint("two"); 2');
      socket.send({ type: 'subscribe', execution_id: id });
      await socket.waitFor((message) => message.type === 'entry');
      socket.send({ type: 'unsubscribe', execution_id: id });
      socket.send({ type: 'unsubscribe', execution_id: id, ref: 'again' });
      await socket.waitFor((message) => message.type === 'error');
      // Until the execution ended ("two" and its done were logged), and a moment for anything stray.
      await streamToEnd(alice, id);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(socket.messages.map(shape)).to.eql([
        { type: 'started', ref: socket.messages[0]!.ref!, execution_id: id },
        entry(id, 1, 'INFO', 'one'),
        { type: 'error', ref: 'again', execution_id: id, code: 'NOT_SUBSCRIBED', error: 'This socket is not subscribed to this execution' },
      ]);
    });

    it('cancel stops a running execution (its subscribers get done cancelled); a finished one is ALREADY_FINISHED', async () => {
      const alice = await server.login('alice');
      const socket = await connect(alice);
      const id = await socket.run('logPrint("spinning"); for (;;) {}');
      socket.send({ type: 'subscribe', execution_id: id });
      await socket.waitFor((message) => message.type === 'entry');
      socket.send({ type: 'cancel', execution_id: id });
      expect((await socket.untilDone(id)).slice(1).map(shape)).to.eql([
        entry(id, 1, 'INFO', 'spinning'),
        { type: 'done', execution_id: id, status: 'cancelled', error: 'Execution cancelled' },
      ]);
      socket.send({ type: 'cancel', execution_id: id, ref: 'late' });
      expect(await socket.waitFor((message) => message.type === 'error')).to.eql({
        type: 'error', ref: 'late', execution_id: id, code: 'ALREADY_FINISHED', error: 'Execution already finished with status cancelled',
      });
    });

    it('input reaches the script\'s input() in order; the end makes it null; input after the end or the finish is refused', async () => {
      const alice = await server.login('alice');
      const socket = await connect(alice);
      const id = await socket.run('logPrint("ready"); const got = []; for (let line; (line = await input()) !== null;) got.push(line); got.join("+")');
      socket.send({ type: 'subscribe', execution_id: id });
      await socket.waitFor((message) => message.type === 'entry');
      for (const data of ['one', 'two', 'three']) socket.send({ type: 'input', execution_id: id, data });
      socket.send({ type: 'input', execution_id: id, end: true });
      socket.send({ type: 'input', execution_id: id, data: 'late', ref: 'after-end' });
      const refused = await socket.waitFor((message) => message.type === 'error');
      const messages = (await socket.untilDone(id)).map(shape);
      expect(messages.filter((message) => message.type !== 'error')).to.eql([
        { type: 'started', ref: messages[0]!.ref!, execution_id: id },
        entry(id, 1, 'INFO', 'ready'),
        { type: 'done', execution_id: id, status: 'completed', result: { value: 'one+two+three', type: 'string' } },
      ]);
      expect(refused).to.eql({ type: 'error', ref: 'after-end', execution_id: id, code: 'INPUT_ENDED', error: 'The input of this execution was ended' });
      socket.send({ type: 'input', execution_id: id, data: 'too late', ref: 'finished' });
      expect(await socket.waitFor((message) => message.ref === 'finished')).to.eql({
        type: 'error', ref: 'finished', execution_id: id, code: 'ALREADY_FINISHED', error: 'Execution already finished with status completed',
      });
    });

    it('another user\'s execution is unknown to subscribe and cancel, as over HTTP', async () => {
      const alice = await server.login('alice');
      const bob = await server.login('bob');
      const id = await (await connect(alice)).run('await sleep(200); 1');
      const socket = await connect(bob);
      socket.send({ type: 'subscribe', execution_id: id, ref: 's' });
      socket.send({ type: 'cancel', execution_id: id, ref: 'c' });
      await socket.waitFor((message) => message.ref === 's');
      await socket.waitFor((message) => message.ref === 'c');
      const notFound = new ExecutionNotFoundError().message;
      expect(socket.messages.sort((a, b) => String(a.ref).localeCompare(String(b.ref)))).to.eql([
        { type: 'error', ref: 'c', execution_id: id, code: 'EXECUTION_NOT_FOUND', error: notFound },
        { type: 'error', ref: 's', execution_id: id, code: 'EXECUTION_NOT_FOUND', error: notFound },
      ]);
    });
  });

  describe('bad frames', () => {
    const cases: ReadonlyArray<readonly [string, string | Buffer, Message]> = [
      ['not JSON', '{"type":', { type: 'error', code: 'BAD_JSON', error: 'A message must be one JSON object: Unexpected end of JSON input' }],
      ['JSON but not an object', '[1,2]', { type: 'error', code: 'BAD_MESSAGE', error: 'A message must be one JSON object' }],
      ['binary', Buffer.from('{"type":"run"}'), { type: 'error', code: 'BAD_MESSAGE', error: 'Messages must be JSON in text frames, not binary ones' }],
      ['no type', '{"ref":"a"}', { type: 'error', ref: 'a', code: 'BAD_MESSAGE', error: '"type" is missing' }],
      ['an unknown type', '{"type":"explode","ref":"b"}', { type: 'error', ref: 'b', code: 'UNKNOWN_TYPE', error: 'Unknown message type "explode": one of run, subscribe, unsubscribe, input, cancel' }],
      ['run without a ref', '{"type":"run","program":"1"}', { type: 'error', code: 'BAD_MESSAGE', error: '"ref" is missing: a run is answered by "started" with its ref' }],
      ['run without a program', '{"type":"run","ref":"c"}', { type: 'error', ref: 'c', code: 'MISSING_PROGRAM', error: 'Missing program in request' }],
      ['subscribe without an execution_id', '{"type":"subscribe","ref":"d"}', { type: 'error', ref: 'd', code: 'BAD_MESSAGE', error: '"execution_id" is missing' }],
      ['an execution_id that is not a string', '{"type":"cancel","execution_id":7}', { type: 'error', code: 'BAD_MESSAGE', error: '"execution_id" must be a string' }],
      ['an execution_id that is no id', '{"type":"subscribe","execution_id":"../etc"}', { type: 'error', execution_id: '../etc', code: 'EXECUTION_NOT_FOUND', error: 'Execution not found' }],
      ['an unknown execution_id', '{"type":"subscribe","execution_id":"00000000-0000-4000-8000-000000000000"}', { type: 'error', execution_id: '00000000-0000-4000-8000-000000000000', code: 'EXECUTION_NOT_FOUND', error: 'Execution not found' }],
      ['a bad after', '{"type":"subscribe","execution_id":"00000000-0000-4000-8000-000000000000","after":-1}', { type: 'error', execution_id: '00000000-0000-4000-8000-000000000000', code: 'BAD_MESSAGE', error: '"after" must be a whole number from 0 to 9007199254740991' }],
      ['a bad level', '{"type":"subscribe","execution_id":"00000000-0000-4000-8000-000000000000","level":"loud"}', { type: 'error', execution_id: '00000000-0000-4000-8000-000000000000', code: 'BAD_MESSAGE', error: '"level" must be one of debug, info, warn, error' }],
      ['input with neither data nor end', '{"type":"input","execution_id":"00000000-0000-4000-8000-000000000000"}', { type: 'error', execution_id: '00000000-0000-4000-8000-000000000000', code: 'BAD_MESSAGE', error: 'An input message needs either "data" (a string) or "end": true' }],
      ['a ref that is too long', JSON.stringify({ type: 'run', ref: 'r'.repeat(300), program: '1' }), { type: 'error', code: 'BAD_MESSAGE', error: '"ref" must be a string of at most 256 characters' }],
    ];
    for (const [name, frame, answer] of cases) {
      it(`${name}: an error message, and the socket goes on working`, async () => {
        const alice = await server.login('alice');
        const socket = await connect(alice);
        socket.sendRaw(frame);
        await socket.waitFor((message) => message.type === 'error');
        const id = await socket.run('21 * 2', 'after');
        expect(socket.messages).to.eql([answer, { type: 'started', ref: 'after', execution_id: id }]);
      });
    }

    it('a message over CHARIOT_WS_MAX_MESSAGE closes the socket with 1009; the server stays healthy', async () => {
      const alice = await server.login('alice');
      const socket = await connect(alice);
      socket.send({ type: 'run', ref: 'big', program: `"${'x'.repeat(5000)}"` });
      const closed = await socket.closed;
      expect(closed.code).to.equal(1009);
      expect(socket.messages).to.eql([]);
      const health = await healthWhen(server, (body) => body.websockets === 0);
      expect(health.status).to.equal(200);
      const again = await connect(alice);
      expect(await again.run('1')).to.match(/^[0-9a-f-]{36}$/);
    });
  });

  describe('what a socket holds', () => {
    it('counts open sockets and their subscriptions in /healthz, and gives both back at close', async () => {
      const alice = await server.login('alice');
      const socket = await connect(alice);
      const id = await socket.run('await sleep(400); 1');
      socket.send({ type: 'subscribe', execution_id: id });
      const during = await healthWhen(server, (body) => body.websockets === 1 && body.streams === 1);
      expect([during.body && (during.body as Message).websockets, (during.body as Message).streams]).to.eql([1, 1]);
      socket.close();
      const after = await healthWhen(server, (body) => body.websockets === 0 && body.streams === 0);
      expect([(after.body as Message).websockets, (after.body as Message).streams]).to.eql([0, 0]);
      expect(socketStats()).to.eql([]);
    });
  });

  describe('stream slots', () => {
    const limited = useServer({ CHARIOT_MAX_STREAMS_PER_USER: '2' });

    it('each subscription holds one of the user\'s stream slots (TOO_MANY_STREAMS past them); a second subscribe to one execution is ALREADY_SUBSCRIBED', async () => {
      const alice = await limited.login('alice');
      const socket = await WsClient.open(limited.url, alice.cookieHeader);
      open.push(socket);
      const ids = [await socket.run('await sleep(500); 1'), await socket.run('await sleep(500); 2'), await socket.run('await sleep(500); 3')];
      socket.send({ type: 'subscribe', execution_id: ids[0]!, ref: 's0' });
      socket.send({ type: 'subscribe', execution_id: ids[0]!, ref: 'again' });
      await socket.waitFor((message) => message.ref === 'again');
      socket.send({ type: 'subscribe', execution_id: ids[1]!, ref: 's1' });
      const sse = await alice.sse(`/api/logs/${ids[2]!}`);
      expect(sse.status, 'the SSE stream takes the second slot... ').to.equal(429);
      sse.close();
      socket.send({ type: 'unsubscribe', execution_id: ids[1]! });
      const third = await alice.sse(`/api/logs/${ids[2]!}`);
      expect(third.status, '...and gets one once the socket gave its slot back').to.equal(200);
      // The socket's s0 and the SSE stream hold both slots now.
      socket.send({ type: 'subscribe', execution_id: ids[2]!, ref: 's2' });
      await socket.waitFor((message) => message.ref === 's2');
      third.close();
      expect(socket.messages.filter((message) => message.type === 'error')).to.eql([
        { type: 'error', ref: 'again', execution_id: ids[0]!, code: 'ALREADY_SUBSCRIBED', error: 'This socket is subscribed to this execution already' },
        { type: 'error', ref: 's2', execution_id: ids[2]!, code: 'TOO_MANY_STREAMS', error: 'Too many open log streams: at most 2 per user' },
      ]);
    });
  });

  describe('when the server stops', () => {
    it('a drain closes every socket with 1012 (reconnect elsewhere), and close() with 1001 after the executions\' done', async () => {
      const draining = await startTestServer();
      const stopping = await startTestServer();
      try {
        const sockets: Record<string, WsClient> = {};
        const ids: Record<string, string> = {};
        for (const [name, running] of Object.entries({ draining, stopping })) {
          const alice = await loginAs(running.url, 'alice');
          sockets[name] = await WsClient.open(running.url, alice.cookieHeader);
          ids[name] = await sockets[name]!.run('logPrint("on"); await sleep(30000); 1');
          sockets[name]!.send({ type: 'subscribe', execution_id: ids[name]! });
          await sockets[name]!.waitFor((message) => message.type === 'entry');
        }
        void draining.drain(100);
        expect(await sockets.draining!.closed).to.eql({ code: 1012, reason: 'This instance is restarting: reconnect and subscribe again with "after"' });
        await stopping.close();
        expect(await sockets.stopping!.closed).to.eql({ code: 1001, reason: 'The server is shutting down' });
        const id = ids.stopping!;
        expect(sockets.stopping!.messages.slice(1).map(shape)).to.eql([
          entry(id, 1, 'INFO', 'on'),
          { type: 'done', execution_id: id, status: 'cancelled', error: 'Execution cancelled' },
        ]);
      } finally {
        await Promise.all([draining.close(), stopping.close()]);
      }
    });
  });
});
