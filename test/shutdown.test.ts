// RunningServer.close(): cancels what runs, ends every SSE stream with `done`, answers
// waiting requests, stops listening, and resolves; calling it again is harmless.
import { expect } from 'chai';
import type { RunningServer } from '../src/server.js';
import { asArray, asObject } from './helpers/expectations.js';
import { doneStatus, submit } from './helpers/executions.js';
import { loginAs, startTestServer } from './helpers/server.js';

/** Rejects if `promise` has not settled within `ms` (a deadline, not a synchronisation). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

describe('server shutdown (RunningServer.close)', () => {
  let server: RunningServer | undefined;

  afterEach(async () => {
    const closing = server?.close();
    server = undefined;
    if (closing !== undefined) await within(closing, 15_000, 'close() in afterEach');
  });

  it('ends the stream of a sleeping script with done {"status":"cancelled"} and resolves', async () => {
    server = await startTestServer();
    const alice = await loginAs(server.url, 'alice');
    const id = await submit(alice, 'logPrint("long"); await sleep(30000); 1');
    const stream = await alice.sse(`/api/logs/${id}`);
    await stream.nthEvent(1); // the script now sleeps for 30 s
    const closing = server.close();
    const events = await within(stream.untilDone(), 10_000, 'the stream');
    expect(events.map((e) => e.event)).to.eql(['message', 'done']);
    expect(JSON.parse(events[0]!.data)).to.include({ seq: 1, level: 'INFO', message: 'long' });
    expect(doneStatus(events)).to.equal('cancelled');
    await within(closing, 10_000, 'close()');
  });

  it('answers a waiting POST /api/execute with 500 cancelled instead of hanging or resetting it', async () => {
    server = await startTestServer();
    const alice = await loginAs(server.url, 'alice');
    const watcher = await loginAs(server.url, 'alice');
    const answer = alice.json('POST', '/api/execute', { program: 'logPrint("waiting"); await sleep(30000); 1' });
    // The sync request's execution is the only one: find it and wait for its first entry.
    let id: string | undefined;
    for (let tries = 0; id === undefined && tries < 250; tries++) {
      const [first] = asArray((await watcher.json('GET', '/api/executions')).body);
      if (first !== undefined) id = String(asObject(first).execution_id);
      // Registration is not observable by event from outside: poll until it shows.
      else await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (id === undefined) expect.fail('the synchronous execution never showed in /api/executions');
    const stream = await watcher.sse(`/api/logs/${id}`);
    await stream.nthEvent(1);
    const closing = server.close();
    const res = await within(answer, 10_000, 'the POST /api/execute answer');
    expect(res.status, res.text).to.equal(500);
    const body = asObject(res.body);
    expect(body.error).to.be.a('string');
    expect(body.status).to.equal('cancelled');
    expect(doneStatus(await stream.untilDone())).to.equal('cancelled');
    await within(closing, 10_000, 'close()');
  });

  it('stops listening, and a second close() resolves too', async () => {
    server = await startTestServer();
    const { url } = server;
    await within(server.close(), 10_000, 'close()');
    await within(server.close(), 10_000, 'the second close()');
    const refused = await fetch(`${url}/healthz`).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused, 'a request after close').to.be.an('error');
  });
});
