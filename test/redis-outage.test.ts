// Redis failure (docs/API.md "Scale-out on Redis"): two instances on one real redis-server,
// which is stopped mid-run and started again. Meanwhile every call that needs Redis answers 503
// REDIS_UNAVAILABLE with Retry-After and /healthz says so; the running script goes on, its
// streams lose nothing, and the service recovers by itself. Then Redis comes back without its
// data (killed, its append-only file deleted): the new epoch is noticed, the running execution
// is registered again from what its holder keeps, and it completes, readable on every instance.
import { expect } from 'chai';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningServer } from '../src/server.js';
import { Client, type HttpResult } from './helpers/client.js';
import { asArray, asObject, expectError } from './helpers/expectations.js';
import { getResult, openToEnd, submit } from './helpers/executions.js';
import { loginAs } from './helpers/server.js';
import { entries, expectEvents } from './helpers/streams.js';
import { useTwoInstances } from './helpers/two-instances.js';

/** Polls until `check` holds, for state that changes with a connection (no event to wait on). */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let tries = 0; tries < 300; tries++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect.fail(`never: ${what}`);
}

function expectUnavailable(res: HttpResult, what: string): void {
  expect({ status: res.status, retryAfter: res.headers.get('retry-after'), body: res.body }, what).to.eql({
    status: 503,
    retryAfter: '1',
    body: { error: 'Storage unavailable', code: 'REDIS_UNAVAILABLE' },
  });
}

async function healthOf(server: RunningServer): Promise<{ status: number; health: unknown; redis: unknown }> {
  const res = await new Client(server.url).json('GET', '/healthz');
  const body = asObject(res.body);
  return { status: res.status, health: body.status, redis: body.redis };
}

describe('scale-out: Redis stops, and comes back', function () {
  this.timeout(60_000);
  const instances = useTwoInstances((redisUrl, id) => ({
    CHARIOT_REDIS_URL: redisUrl,
    CHARIOT_SESSION_KEYS: 'redis-outage-key-0123456789abcdef',
    CHARIOT_INSTANCE_ID: id,
    CHARIOT_THREADS: '1',
    CHARIOT_LOG_BUFFER: '5',
  }));

  it('answers 503 REDIS_UNAVAILABLE meanwhile, loses nothing of a running script, and recovers by itself', async () => {
    const { redis, a, b } = instances;
    const alice = await loginAs(a.url, 'alice');
    const onB = new Client(b.url, alice.cookieHeader);
    const id = await submit(alice, 'for (let i = 1; i <= 40; i++) { logPrint("line " + i); await sleep(40); } "survived"');
    const fromA = await alice.sse(`/api/logs/${id}`);
    const fromB = await onB.sse(`/api/logs/${id}`);
    await fromB.nthEvent(5);
    await redis.stop();

    expectUnavailable(await onB.json('GET', `/api/result/${id}`), 'a poll on B');
    expectUnavailable(await alice.json('POST', '/api/execute-async', { program: '1' }), 'a submission on A');
    expectUnavailable(await new Client(b.url).login('bob', 'bob-pw'), 'a login on B');
    for (const server of [a, b]) {
      await eventually(async () => (await healthOf(server)).status === 503, '/healthz 503');
      expect(await healthOf(server)).to.eql({ status: 503, health: 'redis-unavailable', redis: 'unavailable' });
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    await redis.start();

    await Promise.all([fromA.untilDone(), fromB.untilDone()]);
    const whole = [...entries(1, 40, (seq) => `line ${seq}`), { done: 'completed' }];
    expectEvents(fromA.events, whole, 'the stream from A (where it runs)');
    expectEvents(fromB.events, whole, 'the stream from B (through Redis, across the outage)');
    for (const server of [a, b]) {
      await eventually(async () => (await healthOf(server)).status === 200, '/healthz 200 again');
      expect(await healthOf(server)).to.eql({ status: 200, health: 'ok', redis: 'ok' });
    }
    const res = await getResult(onB, id);
    expect(res.status).to.equal(200);
    expect(asObject(res.body).result).to.eql({ value: 'survived', type: 'string' });
    expect(asArray(asObject(res.body).logs).map((entry) => asObject(entry).seq)).to.eql([36, 37, 38, 39, 40]);

    // B's subscription is back: a cancel from B reaches A.
    const spin = await submit(alice, 'while (true) {}');
    await eventually(async () => asObject((await getResult(alice, spin)).body).status === 'running', 'running');
    const cancel = await onB.json('POST', `/api/execution/${spin}/cancel`);
    expect({ status: cancel.status, body: cancel.body }).to.eql({ status: 202, body: { execution_id: spin, status: 'cancelled' } });
  });

  it('notices a Redis that lost its data (a new epoch): a running execution is written again and completes', async () => {
    const { redis, a, b } = instances;
    const alice = await loginAs(a.url, 'alice');
    const onB = new Client(b.url, alice.cookieHeader);
    const id = await submit(alice, 'for (let i = 1; i <= 30; i++) { logPrint("n" + i); await sleep(40); } "kept"');
    const fromB = await onB.sse(`/api/logs/${id}`);
    await fromB.nthEvent(10);
    await redis.kill();
    rmSync(join(redis.dir, 'appendonlydir'), { recursive: true, force: true });
    await redis.start();

    await fromB.untilDone();
    expectEvents(fromB.events, [...entries(1, 30, (seq) => `n${seq}`), { done: 'completed' }], 'the stream from B, across the loss');
    // The sessions went with the data: alice logs in again.
    expectError(await onB.json('GET', '/api/me'), 401, 'Unauthorized');
    const again = await loginAs(b.url, 'alice');
    const res = await getResult(again, id);
    expect(res.status).to.equal(200);
    const body = asObject(res.body);
    expect({ result: body.result, instance: body.instance, seqs: asArray(body.logs).map((entry) => asObject(entry).seq) })
      .to.eql({ result: { value: 'kept', type: 'string' }, instance: 'instance-a', seqs: [26, 27, 28, 29, 30] });
    // A late reader resuming early gets an exact gap, then the ring.
    const late = await openToEnd(new Client(a.url, again.cookieHeader), `/api/logs/${id}`, { 'Last-Event-ID': '2' });
    expectEvents(late.events, [{ gap: 23, through: 25 }, ...entries(26, 30, (seq) => `n${seq}`), { done: 'completed' }], 'a late stream');
    const list = asArray((await again.json('GET', '/api/executions')).body).map((item) => asObject(item).execution_id);
    expect(list).to.eql([id]);
  });
});
