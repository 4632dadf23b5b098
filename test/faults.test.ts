// Faults: a worker thread that dies turns its executions into errors (never a forever-running
// record) and is replaced; so is one that stops responding, and its slots are free again; a
// client that goes away mid-stream or mid-request leaves no subscriber or listener behind.
import { expect } from 'chai';
import type { Worker } from 'node:worker_threads';
import type { Execution } from '../src/execution.js';
import type { RunningServer } from '../src/server.js';
import type { CrashKind } from '../worker/protocol.js';
import type { Client } from './helpers/client.js';
import { within } from './helpers/adversary.js';
import { asObject, expectLogEntries, healthBody } from './helpers/expectations.js';
import { doneStatus, expectUnfinishedWith, getResult, submit } from './helpers/executions.js';
import { loginAs, startTestServer } from './helpers/server.js';
import type { SseEvent } from './helpers/sse.js';
import { REDIS_MODE } from './helpers/redis-mode.js';

/** Listeners an execution holds for its subscribers and waiting requests. */
function listeners(execution: Execution): { appended: number; end: number; progress: number } {
  return {
    appended: execution.logs.listenerCount('appended'),
    end: execution.listenerCount('end'),
    progress: execution.listenerCount('progress'),
  };
}

/** Polls `check` until it holds, for state with no event to wait on (a socket's close
 * reaching the server, a worker being replaced). */
async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let tries = 0; tries < 200; tries++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect.fail(`${what} did not happen within 2 s`);
}

describe('faults', () => {
  let server: RunningServer;

  before(async () => {
    // One worker thread, so the test knows which thread holds the executions.
    server = await startTestServer({ CHARIOT_THREADS: '1', CHARIOT_CPU_MS: '60000' });
  });

  after(() => server.close());

  const DEATHS: ReadonlyArray<readonly [CrashKind, string, string]> = [
    ['exit', 'exits with code 1', 'The worker thread running this execution stopped: worker exited with code: 1'],
    ['out-of-memory', 'runs out of its own (host) heap',
      'The worker thread running this execution stopped: Worker terminated due to reaching memory limit: JS heap out of memory'],
  ];
  for (const [how, what, error] of DEATHS) {
    it(`turns the executions of a worker that ${what} into errors, and the pool replaces the worker`, async () => {
      const [alice, bob] = await Promise.all([loginAs(server.url, 'alice'), loginAs(server.url, 'bob')]);
      const sleeping = await submit(alice, 'logPrint("asleep"); await sleep(60000)');
      const spinning = await submit(bob, 'logPrint("spinning"); while (true) {}');
      const streams = await Promise.all([alice.sse(`/api/logs/${sleeping}`), bob.sse(`/api/logs/${spinning}`)]);
      await Promise.all(streams.map((stream) => stream.nthEvent(1)));
      const [worker] = server.manager.workers;
      // Not worker.terminate(): a thread stopped while it holds isolates can crash or deadlock
      // inside isolated-vm (docs/API.md). The injected death disposes them first.
      server.manager.crashWorkerOf(sleeping, how);

      for (const [client, id, stream, message] of [[alice, sleeping, streams[0]!, 'asleep'], [bob, spinning, streams[1]!, 'spinning']] as const) {
        expect(doneStatus(await stream.untilDone())).to.equal('error');
        const result = await getResult(client, id);
        expect(result.status).to.equal(500);
        const body = asObject(result.body);
        expect(body).to.deep.include({ status: 'error', error });
        expectLogEntries(body.logs, [{ level: 'INFO', message }]);
      }
      await eventually(() => server.manager.workers.length === 1 && server.manager.workers[0] !== worker, 'the replacement worker');
      const after = await alice.json('POST', '/api/execute', { program: 'logPrint("fresh"); 2+2' });
      expect(after.status, after.text).to.equal(200);
      expect(asObject(after.body)).to.deep.include({ result: 4, type: 'number' });
    });
  }

  it('leaves no listener behind when SSE subscribers hang up mid-stream', async () => {
    const alice = await loginAs(server.url, 'alice');
    const id = await submit(alice, 'logPrint("one"); progress(10); await sleep(60000)');
    const execution = await server.manager.get(id, 'alice');
    const streams = await Promise.all(Array.from({ length: 5 }, () => alice.sse(`/api/logs/${id}`)));
    await Promise.all(streams.map((stream) => stream.nthEvent(1)));
    // In Redis mode the journal that writes it through listens too, while it runs.
    const own = REDIS_MODE ? { appended: 1, end: 0, progress: 1 } : { appended: 0, end: 0, progress: 0 };
    expect(listeners(execution)).to.eql({ appended: own.appended + 5, end: own.end + 5, progress: own.progress + 5 });
    for (const stream of streams) stream.close();
    await eventually(() => listeners(execution).appended === own.appended, 'the unsubscribe');
    expect(listeners(execution)).to.eql(own);
    expect((await alice.json('POST', `/api/execution/${id}/cancel`)).status).to.equal(202);
  });

  it('leaves no listener behind when a client of POST /api/execute hangs up before the end', async () => {
    const alice = await loginAs(server.url, 'alice');
    const program = 'logPrint("started"); await sleep(300); "finished alone"';
    const controller = new AbortController();
    const request = fetch(`${server.url}/api/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: alice.cookieHeader ?? '' },
      body: JSON.stringify({ program }),
      signal: controller.signal,
    }).catch((error: unknown) => error);
    let execution: Execution | undefined;
    await eventually(async () => {
      const [listed] = (await server.manager.list('alice')).filter((item) => item.program === program);
      if (listed?.status !== 'running') return false;
      // The execution itself (in Redis mode the list holds copies of what Redis has).
      execution = await server.manager.get(listed.id, 'alice');
      return true;
    }, 'the synchronous execution to run');
    controller.abort();
    expect(((await request) as Error).name).to.equal('AbortError');
    // Nobody is left to get the answer: the execution is cancelled, then nothing is left.
    expect(await execution!.whenFinished()).to.equal('cancelled');
    expect(listeners(execution!)).to.eql({ appended: 0, end: 0, progress: 0 });
  });
});

describe('faults: a worker thread that stops responding', () => {
  let server: RunningServer;

  before(async () => {
    server = await startTestServer({ CHARIOT_THREADS: '1', CHARIOT_WALL_MS: '1000' });
  });

  after(() => server.close());

  it('ends its executions with an error once their wall-clock limit and as much again have passed', async () => {
    const alice = await loginAs(server.url, 'alice');
    const id = await submit(alice, 'logPrint("asleep"); await sleep(600); logPrint("never"); 1');
    const stream = await alice.sse(`/api/logs/${id}`);
    await stream.nthEvent(1);
    server.manager.crashWorkerOf(id, 'freeze');
    expect(doneStatus(await stream.untilDone())).to.equal('error');
    const result = await getResult(alice, id);
    expect(result.status).to.equal(500);
    const body = asObject(result.body);
    expect(body).to.deep.include({
      status: 'error',
      error: 'The worker thread running this execution stopped responding: no end 1000 ms after the wall-clock limit of 1000 ms',
    });
    expectLogEntries(body.logs, [{ level: 'INFO', message: 'asleep' }]);
    const health = await alice.json('GET', '/healthz');
    expect(health.status, health.text).to.equal(200);
  });
});

/**
 * Shows that `slots` executions run at once and the next one waits: `slots` + 1 sleeping
 * executions of one user, the first `slots` seen running (their first entry), the last queued,
 * /healthz saying so; then all are cancelled and the pool is idle again.
 */
async function expectCapacity(client: Client, slots: number): Promise<void> {
  const ids: string[] = [];
  for (let i = 0; i <= slots; i++) ids.push(await submit(client, `logPrint("holding ${i}"); await sleep(1800)`));
  const streams = await Promise.all(ids.slice(0, slots).map((id) => client.sse(`/api/logs/${id}`)));
  await within(5000, Promise.all(streams.map((stream) => stream.nthEvent(1))), `${slots} executions running at once`);
  await expectUnfinishedWith(client, ids[slots]!, 0, 'the execution past the capacity');
  const health = await client.json('GET', '/healthz');
  expect(asObject(health.body).pool, 'the pool while its slots are full').to.deep.include({ queued: 1, running: slots });
  for (const id of ids) expect((await client.json('POST', `/api/execution/${id}/cancel`)).status, `cancel ${id}`).to.equal(202);
  await eventually(async () => {
    const pool = asObject((await client.json('GET', '/healthz')).body).pool;
    return asObject(pool).running === 0 && asObject(pool).queued === 0;
  }, 'the pool to be idle');
}

/**
 * The execution `id`, sent to a thread before it was found to have stopped responding and
 * never begun there, ran on another: its stream ended `completed`, with 2 and its one entry.
 */
async function expectMoved(client: Client, id: string, events: readonly SseEvent[]): Promise<void> {
  expect(doneStatus(events)).to.equal('completed');
  const res = await getResult(client, id);
  expect(res.status, res.text).to.equal(200);
  const moved = asObject(res.body);
  expect(moved).to.deep.include({ status: 'completed', result: { value: 2, type: 'number' } });
  expectLogEntries(moved.logs, [{ level: 'INFO', message: 'moved' }]);
}

/** /healthz counts the one lost thread, and a new thread took the place of `lost`. */
async function expectReplaced(server: RunningServer, client: Client, lost: Worker | undefined): Promise<void> {
  const health = await client.json('GET', '/healthz');
  expect(health.status, health.text).to.equal(200);
  expect(health.body).to.eql(healthBody({ status: 'ok', pool: { threads: 1, queued: 0, running: 0, quarantined: 0, lost: 1 }, logs: server.manager.logStats, streams: 0, websockets: 0 }));
  expect(server.manager.workers).to.have.length(1);
  expect(server.manager.workers[0]).to.not.equal(lost);
}

describe('faults: a worker thread that stops responding is replaced', () => {
  let server: RunningServer;

  before(async () => {
    // One thread of two slots; the watchdog fires 2 s after the wall-clock limit of 2 s.
    server = await startTestServer({ CHARIOT_THREADS: '1', CHARIOT_TASKS_PER_THREAD: '2', CHARIOT_WALL_MS: '2000' });
  });

  after(() => server.close());

  it('frees its slots, ends the executions it still held, runs as many executions at once as before, counts the loss in /healthz, and closes without a hang', async () => {
    const [alice, bob] = await Promise.all([loginAs(server.url, 'alice'), loginAs(server.url, 'bob')]);
    await expectCapacity(alice, 2);
    const [thread] = server.manager.workers;

    const frozen = await submit(alice, 'logPrint("asleep"); await sleep(1500); 1');
    const frozenStream = await alice.sse(`/api/logs/${frozen}`);
    await frozenStream.nthEvent(1);
    server.manager.crashWorkerOf(frozen, 'freeze');
    // Work sent to the thread after it froze and before it is found out goes to it (nothing can
    // tell yet). This wait puts the second execution's own watchdog (4 s after it) well after
    // the thread is found out (4 s after the first, plus at most 1 s for it to answer a
    // cancel), so that it is the replacement, not its watchdog, that decides its fate: it had
    // not begun, so it runs on the new thread.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const stranded = await submit(bob, 'logPrint("moved"); 2');
    const strandedStream = await bob.sse(`/api/logs/${stranded}`);

    expect(doneStatus(await frozenStream.untilDone())).to.equal('error');
    const frozenResult = asObject((await getResult(alice, frozen)).body);
    expect(frozenResult).to.deep.include({
      status: 'error',
      error: 'The worker thread running this execution stopped responding: no end 2000 ms after the wall-clock limit of 2000 ms',
    });
    expectLogEntries(frozenResult.logs, [{ level: 'INFO', message: 'asleep' }]);

    await expectMoved(bob, stranded, await strandedStream.untilDone());
    await expectReplaced(server, alice, thread);

    await expectCapacity(alice, 2);
    const after = await bob.json('POST', '/api/execute', { program: 'logPrint("fresh"); 2+2' });
    expect(after.status, after.text).to.equal(200);
    expect(asObject(after.body)).to.deep.include({ result: 4, type: 'number' });

    // The frozen thread was stopped: nothing pins the process, and close() does not wait it out.
    expect(server.manager.pinned, 'pinned').to.equal(false);
    await within(5000, server.close(), 'close()');
  });
});

describe('faults: a worker thread that stops answering the heartbeat', () => {
  let server: RunningServer;

  before(async () => {
    // A wall-clock limit of a minute (the watchdog would take 70 s): only the heartbeat can
    // find the thread out within the test's deadline.
    server = await startTestServer({ CHARIOT_THREADS: '1', CHARIOT_TASKS_PER_THREAD: '2', CHARIOT_THREAD_STALL_MS: '1500', CHARIOT_WALL_MS: '60000' });
  });

  after(() => server.close());

  it('is found within CHARIOT_THREAD_STALL_MS and replaced: its running execution ends with an error, one it had not begun runs on the new thread, /healthz counts the loss, and another user runs', async () => {
    const [alice, bob, carol] = await Promise.all([loginAs(server.url, 'alice'), loginAs(server.url, 'bob'), loginAs(server.url, 'carol')]);
    const [thread] = server.manager.workers;
    const asleep = await submit(alice, 'logPrint("asleep"); await sleep(30000); 1');
    const asleepStream = await alice.sse(`/api/logs/${asleep}`);
    await asleepStream.nthEvent(1);
    server.manager.crashWorkerOf(asleep, 'freeze');
    // The worker disposes its isolates before it freezes (a few ms); the only thread, it gets
    // the next execution too, which it never begins.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const waiting = await submit(bob, 'logPrint("moved"); 2');
    const waitingStream = await bob.sse(`/api/logs/${waiting}`);

    expect(doneStatus(await within(8000, asleepStream.untilDone(), 'the end of the execution on the frozen thread'))).to.equal('error');
    const asleepResult = await getResult(alice, asleep);
    expect(asleepResult.status, asleepResult.text).to.equal(500);
    const lost = asObject(asleepResult.body);
    expect(lost).to.deep.include({ status: 'error', error: 'The worker thread running this execution stopped responding and was replaced' });
    expectLogEntries(lost.logs, [{ level: 'INFO', message: 'asleep' }]);

    await expectMoved(bob, waiting, await within(8000, waitingStream.untilDone(), 'the moved execution'));
    await expectReplaced(server, carol, thread);
    const after = await carol.json('POST', '/api/execute', { program: 'logPrint("fresh"); 2+2' });
    expect(after.status, after.text).to.equal(200);
    expect(asObject(after.body)).to.deep.include({ result: 4, type: 'number' });
    expectLogEntries(asObject(after.body).logs, [{ level: 'INFO', message: 'fresh' }]);
  });

  it('leaves a thread alone that answers: a sleep and a busy isolate on the one thread end as their programs say', async () => {
    const alice = await loginAs(server.url, 'alice');
    const lostBefore = server.manager.stats.lost;
    const [sleeper, spinner] = await Promise.all([
      submit(alice, 'logPrint("a"); await sleep(3000); "slept"'),
      submit(alice, 'const t = Date.now(); while (Date.now() - t < 3000) {} "spun"'),
    ]);
    for (const [id, result] of [[sleeper, 'slept'], [spinner, 'spun']] as const) {
      await (await server.manager.get(id, 'alice')).whenFinished();
      const res = await getResult(alice, id);
      expect(res.status, res.text).to.equal(200);
      expect(asObject(res.body)).to.deep.include({ status: 'completed', result: { value: result, type: 'string' } });
    }
    expect(server.manager.stats.lost).to.equal(lostBefore);
  });
});

describe('faults: shutdown just after a worker thread stopped responding', () => {
  let server: RunningServer;

  before(async () => {
    // A watchdog that would fire only 40 s from now: shutdown must not wait for it.
    server = await startTestServer({ CHARIOT_THREADS: '1', CHARIOT_WALL_MS: '20000' });
  });

  after(() => server.close());

  it('takes the thread out when it does not answer the cancel, ends its executions, and closes within a few seconds', async () => {
    const alice = await loginAs(server.url, 'alice');
    const id = await submit(alice, 'logPrint("asleep"); await sleep(15000); 1');
    const stream = await alice.sse(`/api/logs/${id}`);
    await stream.nthEvent(1);
    const execution = await server.manager.get(id, 'alice');
    server.manager.crashWorkerOf(id, 'freeze');
    // The worker disposes its isolates before it freezes (a few ms); a cancel that reached it
    // before would end the execution as cancelled. Nothing tells from outside when it froze.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const started = Date.now();
    await within(5000, server.close(), 'close()');
    expect(Date.now() - started, 'ms to close').to.be.below(5000);
    expect(doneStatus(await stream.untilDone())).to.equal('error');
    expect({ status: execution.status, error: execution.error }).to.eql({
      status: 'error',
      error: 'The worker thread running this execution stopped responding',
    });
    // Not replaced: nothing more runs at shutdown.
    expect(server.manager.stats).to.deep.include({ lost: 1, threads: 0 });
    expect(server.manager.pinned, 'pinned').to.equal(false);
  });
});
