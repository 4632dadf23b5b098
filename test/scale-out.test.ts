// Scale-out on Redis (docs/API.md "Scale-out"): two instances, A and B, in this process, on one
// real redis-server. Every call for every execution works on either: a session made on one is
// good on the other; an execution run on A is polled, listed, streamed, resumed and cancelled
// through B exactly as through A; CHARIOT_MAX_PER_USER counts across both; and what finished
// survives a restart of both instances and of Redis (append-only file on).
import { expect } from 'chai';
import type { RunningServer } from '../src/server.js';
import { Client } from './helpers/client.js';
import { asArray, asObject, expectError, expectKeys, expectLogEntries, type JsonObject } from './helpers/expectations.js';
import { getResult, openToEnd, PAGE_KEYS, streamToEnd, submit } from './helpers/executions.js';
import { redisCommand, startRedis, type RedisProcess } from './helpers/redis.js';
import { loginAs, startTestServer, type User } from './helpers/server.js';
import { entries, expectEvents, summary } from './helpers/streams.js';

const SESSION_KEYS = 'scale-out-test-key-0123456789abcdef';

function instanceEnv(redis: RedisProcess, id: string, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { CHARIOT_REDIS_URL: redis.url, CHARIOT_SESSION_KEYS: SESSION_KEYS, CHARIOT_INSTANCE_ID: id, CHARIOT_THREADS: '1', CHARIOT_TASKS_PER_THREAD: '2', ...extra };
}

/** The same session, used on another instance. */
function on(server: RunningServer, client: Client): Client {
  return new Client(server.url, client.cookieHeader);
}

/** Polls /api/result until the execution is running, for a test that acts on a running one. */
async function untilRunning(client: Client, id: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const body = asObject((await getResult(client, id)).body);
    if (body.status === 'running') return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect.fail(`execution ${id} never started running`);
}

/** A finished execution's /api/result answer, whole, from instance `instance`. */
function expectFinishedOn(body: JsonObject, id: string, instance: string, status: string): void {
  expect(Object.keys(body)).to.eql(['execution_id', 'status', 'instance', status === 'completed' ? 'result' : 'error', 'logs', ...PAGE_KEYS, 'started_at', 'completed_at', 'duration_ms']);
  expect({ execution_id: body.execution_id, status: body.status, instance: body.instance }).to.eql({ execution_id: id, status, instance });
}

describe('scale-out: two instances on one Redis', function () {
  this.timeout(60_000);
  let redis: RedisProcess;
  let a: RunningServer;
  let b: RunningServer;

  before(async () => {
    redis = await startRedis();
    a = await startTestServer(instanceEnv(redis, 'instance-a', { CHARIOT_MAX_PER_USER: '3', CHARIOT_LOG_BUFFER: '100' }));
    b = await startTestServer(instanceEnv(redis, 'instance-b', { CHARIOT_MAX_PER_USER: '3', CHARIOT_LOG_BUFFER: '100' }));
  });

  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await redis?.close();
  });

  const login = (server: RunningServer, user: User): Promise<Client> => loginAs(server.url, user);

  it('a session made on A works on B, and a logout on B ends it on A', async () => {
    const alice = await login(a, 'alice');
    const onB = on(b, alice);
    const me = await onB.json('GET', '/api/me');
    expect({ status: me.status, body: me.body }).to.eql({ status: 200, body: { username: 'alice' } });
    const out = await onB.json('POST', '/logout');
    expect(out.status).to.equal(204);
    expectError(await alice.json('GET', '/api/me'), 401, 'Unauthorized');
  });

  it('an execution run on A is polled on B: its result, its log and the instance that ran it', async () => {
    const alice = await login(a, 'alice');
    const id = await submit(alice, 'logPrint("one"); console.warn("two"); 6 * 7');
    const events = await streamToEnd(alice, id);
    expect(events.at(-1)?.data).to.equal('{"status":"completed"}');
    const res = await getResult(on(b, alice), id);
    expect(res.status).to.equal(200);
    const body = asObject(res.body);
    expectFinishedOn(body, id, 'instance-a', 'completed');
    expect(body.result).to.eql({ value: 42, type: 'number' });
    expectLogEntries(body.logs, [{ level: 'INFO', message: 'one' }, { level: 'WARN', message: 'two' }]);
    // The same answer from A, where it ran, once it is over.
    expect((await getResult(alice, id)).body).to.eql(body);
  });

  it('B streams an execution that A runs, live, exactly as A streams it', async () => {
    const alice = await login(a, 'alice');
    const program = 'for (let i = 1; i <= 30; i++) { logPrint("line " + i); if (i % 10 === 0) progress(i * 3, "at " + i); await sleep(5); } "ok"';
    const id = await submit(alice, program);
    const [fromA, fromB] = await Promise.all([openToEnd(alice, `/api/logs/${id}`), openToEnd(on(b, alice), `/api/logs/${id}`)]);
    const logged = entries(1, 30, (seq) => `line ${seq}`);
    // Progress comes in its place; a subscriber that keeps up sees each report.
    const expected = [...logged.slice(0, 10), { progress: 30, message: 'at 10' }, ...logged.slice(10, 20), { progress: 60, message: 'at 20' }, ...logged.slice(20), { progress: 90, message: 'at 30' }, { done: 'completed' }];
    expectEvents(fromB.events, expected, 'the stream from B');
    expect(summary(fromB.events)).to.eql(summary(fromA.events));
  });

  it('a stream cut on A resumes on B after its Last-Event-ID, with no repeat and no hole', async () => {
    const alice = await login(a, 'alice');
    const id = await submit(alice, 'for (let i = 1; i <= 20; i++) { logPrint("n" + i); await sleep(10); }');
    const first = await alice.sse(`/api/logs/${id}`);
    await first.nthEvent(7);
    first.close();
    const seen = first.events.slice(0, 7);
    expectEvents(seen, entries(1, 7, (seq) => `n${seq}`), 'the first stream, from A');
    const rest = await openToEnd(on(b, alice), `/api/logs/${id}`, { 'Last-Event-ID': '7' });
    expectEvents(rest.events, [...entries(8, 20, (seq) => `n${seq}`), { done: 'completed' }], 'the resumed stream, from B');
  });

  it('a burst far larger than the ring reaches a stream on B whole', async () => {
    const alice = await login(a, 'alice');
    // The ring keeps 100 entries; 5,000 are logged in one go.
    const id = await submit(alice, 'await sleep(300); for (let i = 1; i <= 5000; i++) logPrint("burst " + i); "done"');
    const stream = await openToEnd(on(b, alice), `/api/logs/${id}`);
    expectEvents(stream.events, [...entries(1, 5000, (seq) => `burst ${seq}`), { done: 'completed' }], 'the stream from B');
    // A late reader gets the ring: a gap, then the newest 100.
    const late = await openToEnd(on(b, alice), `/api/logs/${id}`);
    expectEvents(late.events, [{ gap: 4900, through: 4900 }, ...entries(4901, 5000, (seq) => `burst ${seq}`), { done: 'completed' }], 'a late stream from B');
  });

  it('B cancels an execution that A runs; every stream ends cancelled, on both', async () => {
    const alice = await login(a, 'alice');
    const id = await submit(alice, 'logPrint("started"); while (true) {}');
    await untilRunning(alice, id);
    const streamA = await alice.sse(`/api/logs/${id}`);
    const streamB = await on(b, alice).sse(`/api/logs/${id}`);
    const res = await on(b, alice).json('POST', `/api/execution/${id}/cancel`);
    expect({ status: res.status, body: res.body }).to.eql({ status: 202, body: { execution_id: id, status: 'cancelled' } });
    await Promise.all([streamA.untilDone(), streamB.untilDone()]);
    for (const stream of [streamA, streamB]) expectEvents(stream.events, [{ seq: 1, message: 'started' }, { done: 'cancelled' }]);
    const result = asObject((await getResult(alice, id)).body);
    expectFinishedOn(result, id, 'instance-a', 'cancelled');
    expect(result.error).to.equal('Execution cancelled');
    // Cancelling again, from either: it finished.
    for (const client of [alice, on(b, alice)]) {
      expectError(await client.json('POST', `/api/execution/${id}/cancel`), 409, /already finished/i);
    }
  });

  it('B cancels an execution submitted to A that waits in the shared queue', async () => {
    const alice = await login(a, 'alice');
    const bob = await login(a, 'bob');
    // One thread with two tasks on each: these hold every slot of both, so that the last one waits.
    const holders = [await submit(alice, 'await sleep(30000)'), await submit(alice, 'await sleep(30000)')];
    const bobs = [await submit(bob, 'await sleep(30000)'), await submit(bob, 'await sleep(30000)')];
    for (const id of holders) await untilRunning(alice, id);
    for (const id of bobs) await untilRunning(bob, id);
    const queued = await submit(alice, 'logPrint("never")');
    expect(asObject((await getResult(on(b, alice), queued)).body).status).to.equal('queued');
    const res = await on(b, alice).json('POST', `/api/execution/${queued}/cancel`);
    expect({ status: res.status, body: res.body }).to.eql({ status: 202, body: { execution_id: queued, status: 'cancelled' } });
    const result = asObject((await getResult(on(b, alice), queued)).body);
    expect(Object.keys(result)).to.eql(['execution_id', 'status', 'error', 'logs', ...PAGE_KEYS, 'started_at', 'completed_at', 'duration_ms']);
    expect({ status: result.status, error: result.error, logs: result.logs, started_at: result.started_at })
      .to.eql({ status: 'cancelled', error: 'Execution cancelled', logs: [], started_at: null });
    for (const id of holders) expect((await on(b, alice).json('POST', `/api/execution/${id}/cancel`)).status).to.equal(202);
    for (const id of bobs) expect((await on(b, bob).json('POST', `/api/execution/${id}/cancel`)).status).to.equal(202);
  });

  it('another user gets 404 on B for an execution of A, as for one that does not exist', async () => {
    const alice = await login(a, 'alice');
    const bob = await login(b, 'bob');
    const id = await submit(alice, '1');
    await streamToEnd(alice, id);
    for (const path of [`/api/result/${id}`, `/api/logs/${id}`]) expectError(await bob.json('GET', path), 404, 'Execution not found');
    expectError(await bob.json('POST', `/api/execution/${id}/cancel`), 404, 'Execution not found');
  });

  it('CHARIOT_MAX_PER_USER counts the unfinished executions on every instance', async () => {
    const carol = await login(a, 'carol');
    const onB = on(b, carol);
    const ids = [await submit(carol, 'await sleep(30000)'), await submit(onB, 'await sleep(30000)'), await submit(carol, 'await sleep(30000)')];
    expectError(await onB.json('POST', '/api/execute-async', { program: '1' }), 429, 'Too many unfinished executions: at most 3 per user', 'TOO_MANY_EXECUTIONS');
    expectError(await carol.json('POST', '/api/execute-async', { program: '1' }), 429, 'Too many unfinished executions: at most 3 per user', 'TOO_MANY_EXECUTIONS');
    // One ends (cancelled from the other instance): one more is admitted, on either.
    const cancelled = await onB.json('POST', `/api/execution/${ids[0]}/cancel`);
    expect({ status: cancelled.status, body: cancelled.body }).to.eql({ status: 202, body: { execution_id: ids[0], status: 'cancelled' } });
    const again = await submit(onB, '"admitted"');
    const events = await streamToEnd(carol, again);
    expect(events.at(-1)?.data).to.equal('{"status":"completed"}');
    for (const id of ids.slice(1)) expect((await carol.json('POST', `/api/execution/${id}/cancel`)).status).to.equal(202);
  });

  it('B lists the executions run on A, newest first', async () => {
    const dave = await login(a, 'dave');
    const first = await submit(dave, '"first"');
    await streamToEnd(dave, first);
    const second = await submit(on(b, dave), '"second"');
    await streamToEnd(dave, second);
    for (const server of [a, b]) {
      const res = await on(server, dave).json('GET', '/api/executions');
      expect(res.status).to.equal(200);
      const list = asArray(res.body).map((item) => asObject(item));
      expect(list.map((item) => [item.execution_id, item.status, item.program_preview])).to.eql([
        [second, 'completed', '"second"'],
        [first, 'completed', '"first"'],
      ]);
      for (const item of list) expectKeys(item, ['execution_id', 'status', 'started_at', 'completed_at', 'duration_ms', 'program_preview']);
    }
  });

  it('an instance that lost its claim on an execution writes nothing more of it, and stops running it', async () => {
    const bob = await login(a, 'bob');
    const id = await submit(bob, 'for (let i = 1; i <= 400; i++) { logPrint("beat " + i); await sleep(10); }');
    const stream = await on(b, bob).sse(`/api/logs/${id}`);
    await stream.nthEvent(5);
    const local = await a.manager.get(id, 'bob');
    // What an instance that declared A lost does first: the record's claim is no longer A's.
    expect(await redisCommand(redis.port, 'HSET', `chariot:exec:${id}`, 'claim', 'instance-c/taken-over')).to.equal(':0\r\n');
    // A's next write is refused, and A stops the run: its own execution ends, cancelled.
    const status = await local.whenFinished();
    expect(status).to.equal('cancelled');
    const seqAtFence = await redisCommand(redis.port, 'HGET', `chariot:exec:${id}`, 'seq');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Nothing more reached Redis: not a log entry, not an end. The record is the new claimant's to end.
    expect(await redisCommand(redis.port, 'HGET', `chariot:exec:${id}`, 'seq')).to.equal(seqAtFence);
    expect(await redisCommand(redis.port, 'HGET', `chariot:exec:${id}`, 'status')).to.equal('$7\r\nrunning\r\n');
    const entriesSent = Number(/^\$\d+\r\n(\d+)\r\n$/.exec(seqAtFence)?.[1]);
    expect(entriesSent).to.be.within(5, 399);
    expect(stream.events.map((event) => event.event)).to.not.include('done');
    expectEvents(stream.events, entries(1, stream.events.length, (seq) => `beat ${seq}`), 'the stream from B');
    stream.close();
    // Leave no unfinished execution counted against bob.
    await redisCommand(redis.port, 'SREM', 'chariot:user:bob:unfinished', id);
  });

  it('/healthz says Redis is ok', async () => {
    const res = await new Client(b.url).json('GET', '/healthz');
    expect(res.status).to.equal(200);
    const body = asObject(res.body);
    expect({ status: body.status, redis: body.redis }).to.eql({ status: 'ok', redis: 'ok' });
  });

  it('finished executions, their logs and sessions survive a restart of both instances and of Redis', async () => {
    const alice = await login(a, 'alice');
    const id = await submit(alice, 'logPrint("kept"); "persisted"');
    await streamToEnd(alice, id);
    const before = (await getResult(alice, id)).body;
    await Promise.all([a.close(), b.close()]);
    await redis.stop();
    await redis.start();
    a = await startTestServer(instanceEnv(redis, 'instance-a', { CHARIOT_MAX_PER_USER: '3', CHARIOT_LOG_BUFFER: '100' }));
    b = await startTestServer(instanceEnv(redis, 'instance-b', { CHARIOT_MAX_PER_USER: '3', CHARIOT_LOG_BUFFER: '100' }));
    for (const server of [a, b]) {
      const res = await getResult(on(server, alice), id);
      expect({ status: res.status, body: res.body }).to.eql({ status: 200, body: before });
      const stream = await openToEnd(on(server, alice), `/api/logs/${id}`);
      expectEvents(stream.events, [{ seq: 1, message: 'kept' }, { done: 'completed' }]);
    }
  });
});

describe('scale-out: the retention time in Redis mode', function () {
  this.timeout(30_000);
  let redis: RedisProcess;
  let server: RunningServer;

  before(async () => {
    redis = await startRedis();
    server = await startTestServer(instanceEnv(redis, 'instance-r', { CHARIOT_RETENTION_MS: '400' }));
  });

  after(async () => {
    await server?.close();
    await redis?.close();
  });

  it('forgets a finished execution after it, in Redis and in the memory of the instance that ran it', async () => {
    const alice = await loginAs(server.url, 'alice');
    const id = await submit(alice, 'for (let i = 1; i <= 10; i++) logPrint("kept " + i); 0');
    await streamToEnd(alice, id);
    expect((await getResult(alice, id)).status).to.equal(200);
    const kept = async (): Promise<unknown> => asObject(asObject((await new Client(server.url).json('GET', '/healthz')).body).logs).kept_bytes;
    expect(await kept()).to.be.above(0);
    // Redis forgets it (PEXPIRE), and so does this instance (its retention sweep): nothing kept.
    for (let tries = 0; tries < 200 && ((await getResult(alice, id)).status !== 404 || (await kept()) !== 0); tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expectError(await getResult(alice, id), 404, 'Execution not found');
    expect(await kept()).to.equal(0);
    expect(await redisCommand(redis.port, 'EXISTS', `chariot:exec:${id}`, `chariot:exec:${id}:log`)).to.equal(':0\r\n');
  });
});
