// The shared queue (docs/API.md "Scale-out on Redis"): work goes where capacity is. Two
// instances of one slot each (one thread, one task) on one real redis-server: everything sent to
// A runs on A and B, one at a time on each; a user with many queued runs delays another user's
// single run by a turn, not by their whole queue; and what waits in the queue survives the
// SIGKILL of the instance it was sent to, runs on another, and nothing runs twice.
import { expect } from 'chai';
import type { RunningServer } from '../src/server.js';
import { spawnServer, within, type ServerProcess } from './helpers/adversary.js';
import { Client } from './helpers/client.js';
import { asArray, asObject, type JsonObject } from './helpers/expectations.js';
import { getResult, PAGE_KEYS, streamToEnd, submit } from './helpers/executions.js';
import { startRedis, type RedisProcess } from './helpers/redis.js';
import { loginAs, startTestServer } from './helpers/server.js';
import { expectEvents } from './helpers/streams.js';
import { useTwoInstances } from './helpers/two-instances.js';

const SESSION_KEYS = 'shared-queue-test-key-0123456789abcdef';
const TIMEOUT_MS = 2000;

function instanceEnv(redisUrl: string, id: string): Record<string, string> {
  return {
    CHARIOT_REDIS_URL: redisUrl,
    CHARIOT_SESSION_KEYS: SESSION_KEYS,
    CHARIOT_INSTANCE_ID: id,
    CHARIOT_INSTANCE_TIMEOUT_MS: String(TIMEOUT_MS),
    CHARIOT_THREADS: '1',
    CHARIOT_TASKS_PER_THREAD: '1',
    CHARIOT_MAX_PER_USER: '100',
    // Where work runs and in what turns, not the bounded wait (queue-wait.test.ts): on a loaded
    // machine the flood's runs take longer, and the default 5 s would refuse some of it.
    CHARIOT_MAX_QUEUE_WAIT_MS: '60000',
  };
}

/** The same session, used on another instance. */
function on(url: string, client: Client): Client {
  return new Client(url, client.cookieHeader);
}

/** Each execution's final /api/result answer, once its stream ended. */
async function finalResults(client: Client, ids: readonly string[]): Promise<JsonObject[]> {
  const results: JsonObject[] = [];
  for (const id of ids) {
    await streamToEnd(client, id);
    const res = await getResult(client, id);
    results.push(asObject(res.body));
  }
  return results;
}

/** Asserts that no two executions ran on one instance at once (each has one slot). */
function expectOneAtATime(results: readonly JsonObject[]): void {
  const byInstance = new Map<string, Array<[number, number]>>();
  for (const result of results) {
    const spans = byInstance.get(String(result.instance)) ?? [];
    spans.push([Date.parse(String(result.started_at)), Date.parse(String(result.completed_at))]);
    byInstance.set(String(result.instance), spans);
  }
  for (const [instance, spans] of byInstance) {
    spans.sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < spans.length; i++) {
      expect(spans[i]![0], `a run on ${instance} started before the one before it ended`).to.be.at.least(spans[i - 1]![1]);
    }
  }
}

describe('scale-out: the shared queue', function () {
  this.timeout(60_000);
  const instances = useTwoInstances(instanceEnv);

  it('runs what is sent to a busy instance on an idle one, one at a time on each', async () => {
    const { a, b } = instances;
    const alice = await loginAs(a.url, 'alice');
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await submit(alice, `logPrint("run ${i}"); await sleep(200); ${i}`));
    const results = await finalResults(alice, ids);
    results.forEach((result, i) => {
      expect(Object.keys(result)).to.eql(['execution_id', 'status', 'instance', 'result', 'logs', ...PAGE_KEYS, 'started_at', 'completed_at', 'duration_ms']);
      expect({ status: result.status, result: result.result, logs: asArray(result.logs).map((entry) => asObject(entry).message) })
        .to.eql({ status: 'completed', result: { value: i, type: 'number' }, logs: [`run ${i}`] });
    });
    const onB = results.filter((result) => result.instance === 'instance-b').length;
    const onA = results.filter((result) => result.instance === 'instance-a').length;
    expect({ onA: onA >= 2, onB: onB >= 2, all: onA + onB }, 'where the six ran').to.eql({ onA: true, onB: true, all: 6 });
    expectOneAtATime(results);
    // B answers the same for each, wherever it ran.
    for (const result of results) {
      const res = await getResult(on(b.url, alice), String(result.execution_id));
      expect({ status: res.status, instance: asObject(res.body).instance }).to.eql({ status: 200, instance: result.instance });
    }
  });

  it('gives another user a turn across instances: a flood of queued runs delays a single run by a turn, not by the flood', async () => {
    const flood = await loginAs(instances.a.url, 'bob');
    const single = await loginAs(instances.b.url, 'carol');
    const floodIds: string[] = [];
    for (let i = 0; i < 30; i++) floodIds.push(await submit(flood, `await sleep(40); ${i}`));
    const submittedAt = Date.now();
    const singleId = await submit(single, '"mine"');
    const [mine] = await finalResults(single, [singleId]);
    expect({ status: mine!.status, result: mine!.result }).to.eql({ status: 'completed', result: { value: 'mine', type: 'string' } });
    const floodResults = await finalResults(flood, floodIds);
    for (const result of floodResults) expect(result.status).to.equal('completed');
    const mineStarted = Date.parse(String(mine!.started_at));
    // Started after the single run was submitted and before it: at most one taken per slot just
    // before the submission (two slots), and the one turn the flood had ahead of it.
    const overtook = floodResults.filter((result) => {
      const started = Date.parse(String(result.started_at));
      return started >= submittedAt && started < mineStarted;
    });
    expect(overtook.length, 'flood runs started between the single run\'s submission and its start').to.be.at.most(3);
    // The flood went on after it: it was not simply over.
    const after = floodResults.filter((result) => Date.parse(String(result.started_at)) > mineStarted);
    expect(after.length, 'flood runs started after the single run').to.be.at.least(20);
    expectOneAtATime([...floodResults, mine!]);
  });
});

describe('scale-out: queued work survives the instance it was sent to', function () {
  this.timeout(60_000);
  let redis: RedisProcess;
  let a: ServerProcess | undefined;
  let b: RunningServer;

  before(async () => {
    redis = await startRedis();
    a = await spawnServer(instanceEnv(redis.url, 'instance-a'));
    b = await startTestServer(instanceEnv(redis.url, 'instance-b'));
  });

  after(async () => {
    await a?.kill();
    await b?.close();
    await redis?.close();
  });

  it('runs every queued execution elsewhere after a SIGKILL, ends the running one as lost, and starts nothing twice', async () => {
    const alice = await a!.login('alice');
    const onB = on(b.url, alice);
    const long = await submit(alice, 'logPrint("long"); await sleep(50000); logPrint("never")');
    const stream = await onB.sse(`/api/logs/${long}`);
    await stream.nthEvent(1);
    expect(asObject((await getResult(onB, long)).body).instance).to.equal('instance-a');
    // A's one slot is busy: these wait in the shared queue, and B takes them one at a time.
    const queued: string[] = [];
    for (let i = 0; i < 5; i++) queued.push(await submit(alice, `logPrint("queued ${i}"); await sleep(300); ${i}`));
    await a!.kill();
    a = undefined;
    const results = await finalResults(onB, queued);
    results.forEach((result, i) => {
      expect({ status: result.status, instance: result.instance, result: result.result, logs: asArray(result.logs).map((entry) => asObject(entry).message) })
        .to.eql({ status: 'completed', instance: 'instance-b', result: { value: i, type: 'number' }, logs: [`queued ${i}`] });
    });
    await within(2 * TIMEOUT_MS, stream.untilDone(), 'the done of the long one');
    expectEvents(stream.events, [{ seq: 1, message: 'long' }, { done: 'error' }], 'the stream of the long one');
    const lost = asObject((await getResult(onB, long)).body);
    expect({ status: lost.status, instance: lost.instance, error: lost.error, logs: asArray(lost.logs).map((entry) => asObject(entry).message) })
      .to.eql({ status: 'error', instance: 'instance-a', error: 'Instance lost: instance-a', logs: ['long'] });
    // Nothing was started again: the list has each once, and B holds nothing more.
    const list = asArray((await onB.json('GET', '/api/executions')).body).map((item) => asObject(item));
    expect(list.map((item) => [item.execution_id, item.status])).to.eql([...[...queued].reverse().map((id) => [id, 'completed']), [long, 'error']]);
    expect(b.manager.stats.running).to.equal(0);
  });
});
