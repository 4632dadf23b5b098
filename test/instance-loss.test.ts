// Instance loss (docs/API.md "Scale-out"): instance A, a real server process, runs an
// execution that B streams; A is killed (SIGKILL: no shutdown, no last write). Within
// CHARIOT_INSTANCE_TIMEOUT_MS, B (or any instance) ends the execution as `error`
// "Instance lost: instance-a", every stream gets `done`, and its owner's unfinished count is
// freed on every instance.
import { expect } from 'chai';
import type { RunningServer } from '../src/server.js';
import { spawnServer, within, type ServerProcess } from './helpers/adversary.js';
import { Client } from './helpers/client.js';
import { asArray, asObject, expectError } from './helpers/expectations.js';
import { getResult, PAGE_KEYS, streamToEnd, submit } from './helpers/executions.js';
import { startRedis, type RedisProcess } from './helpers/redis.js';
import { startTestServer } from './helpers/server.js';
import { expectEvents } from './helpers/streams.js';

const TIMEOUT_MS = 2000;

describe('scale-out: an instance that dies', function () {
  this.timeout(60_000);
  let redis: RedisProcess;
  let a: ServerProcess | undefined;
  let b: RunningServer;

  const env = (id: string): Record<string, string> => ({
    CHARIOT_REDIS_URL: redis.url,
    CHARIOT_SESSION_KEYS: 'instance-loss-key-0123456789abcdef',
    CHARIOT_INSTANCE_ID: id,
    CHARIOT_INSTANCE_TIMEOUT_MS: String(TIMEOUT_MS),
    CHARIOT_MAX_PER_USER: '1',
    CHARIOT_THREADS: '1',
  });

  before(async () => {
    redis = await startRedis();
    a = await spawnServer(env('instance-a'));
    b = await startTestServer(env('instance-b'));
  });

  after(async () => {
    await a?.kill();
    await b?.close();
    await redis?.close();
  });

  it('has its running executions end as errors on every stream, and frees their owners', async () => {
    const alice = await a!.login('alice');
    const id = await submit(alice, 'logPrint("before"); await sleep(50000); logPrint("never")');
    const onB = new Client(b.url, alice.cookieHeader);
    const stream = await onB.sse(`/api/logs/${id}`);
    await stream.nthEvent(1);
    // At its limit of one unfinished execution, on B too.
    expectError(await onB.json('POST', '/api/execute-async', { program: '1' }), 429, 'Too many unfinished executions: at most 1 per user', 'TOO_MANY_EXECUTIONS');
    await a!.kill();
    a = undefined;
    await within(2 * TIMEOUT_MS, stream.untilDone(), 'the done of the stream from B');
    expectEvents(stream.events, [{ seq: 1, message: 'before' }, { done: 'error' }], 'the stream from B');

    const res = await getResult(onB, id);
    expect(res.status).to.equal(500);
    const body = asObject(res.body);
    expect(Object.keys(body)).to.eql(['execution_id', 'status', 'instance', 'error', 'logs', ...PAGE_KEYS, 'started_at', 'completed_at', 'duration_ms']);
    expect({ status: body.status, instance: body.instance, error: body.error, logs: asArray(body.logs).map((entry) => asObject(entry).message) })
      .to.eql({ status: 'error', instance: 'instance-a', error: 'Instance lost: instance-a', logs: ['before'] });
    // A late stream replays it the same way.
    expectEvents(await streamToEnd(onB, id), [{ seq: 1, message: 'before' }, { done: 'error' }], 'a late stream from B');
    // Alice is no longer at her limit.
    const next = await submit(onB, '"after"');
    const events = await streamToEnd(onB, next);
    expect(events.at(-1)?.data).to.equal('{"status":"completed"}');
    const list = asArray((await onB.json('GET', '/api/executions')).body).map((item) => asObject(item));
    expect(list.map((item) => [item.execution_id, item.status])).to.eql([[next, 'completed'], [id, 'error']]);
  });
});
