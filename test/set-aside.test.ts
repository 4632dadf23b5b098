// Isolates that V8 cannot stop cost their author (issue 13 point 3): a built-in that walks a
// huge array-like never sees the request to terminate, so about 5 s after its CPU limit the
// isolate is set aside for good and the execution ends with a sandbox failure (or, ended by
// its wall-clock limit first, the isolate is set aside after the end, and still charged). Past CHARIOT_QUARANTINE_PER_USER that
// user alone is refused (429) for CHARIOT_QUARANTINE_COOLDOWN_MS, their queued executions too;
// at CHARIOT_QUARANTINE_LIMIT the server drains (CHARIOT_DRAIN_MS) and ends itself for its
// supervisor to start it again. Each server in a process of its own.
import { expect } from 'chai';
import { SetAsideLimitError } from '../src/errors.js';
import { SetAsideLedger } from '../src/set-aside.js';
import { expectExactStream, orProcessDeath, spawnServer, within, type ServerProcess } from './helpers/adversary.js';
import type { Client } from './helpers/client.js';
import { asObject, expectError, expectLogEntries } from './helpers/expectations.js';
import { getResult, streamToEnd, submit } from './helpers/executions.js';

/**
 * A walk inside one built-in over 2^53 - 1 indices (test/native-builtins/programs.ts, SPINS),
 * which even CHARIOT_WALK_GUARDS would let through: it does not look at a length that is an
 * object (docs/API.md, "Walks that fail fast").
 */
const SPINS = 'Array.prototype.indexOf.call({ length: { valueOf: () => 2 ** 53 - 1 } }, 2)';
const SET_ASIDE = 'Sandbox failure: Script failed to terminate; the isolate was set aside';
/** Limits under which the walk is set aside about 5.5 s after it starts, well within the wall-clock limit. */
const LIMITS = { CHARIOT_WALL_MS: '20000', CHARIOT_CPU_MS: '500' } as const;
const QUARANTINE_LINE = /chariot-exec: an isolate in worker thread \d+ was quarantined after "Script failed to terminate"/;

async function runSpins(client: Client, child: ServerProcess): Promise<void> {
  const res = await orProcessDeath(child, client.json('POST', '/api/execute', { program: SPINS }), 15_000, 'the walk');
  expect({ status: res.status, error: asObject(res.body).error }).to.eql({ status: 500, error: SET_ASIDE });
}

async function quarantined(client: Client): Promise<number> {
  const res = await client.json('GET', '/healthz');
  return Number(asObject(asObject(res.body).pool).quarantined);
}

describe('SetAsideLedger', () => {
  it('refuses a user at the limit for the cooldown, then counts from zero again', () => {
    let now = 1_000_000;
    const ledger = new SetAsideLedger({ perUser: 2, cooldownMs: 10_000 }, () => now);
    ledger.record('alice');
    expect(ledger.refusal('alice'), 'one of two').to.equal(undefined);
    ledger.record('alice');
    const refusal = ledger.refusal('alice');
    expect(refusal).to.be.instanceOf(SetAsideLimitError);
    expect({ status: refusal?.status, code: refusal?.code, headers: refusal?.headers, message: refusal?.message }).to.eql({
      status: 429,
      code: 'TOO_MANY_SET_ASIDE',
      headers: { 'Retry-After': '10' },
      message: "This user's executions had 2 isolates set aside that the sandbox could not stop or free (CHARIOT_QUARANTINE_PER_USER): their new executions are refused for 10 s more",
    });
    expect(ledger.refusal('bob'), 'another user').to.equal(undefined);
    now += 9_001;
    expect(ledger.refusal('alice')?.headers).to.eql({ 'Retry-After': '1' });
    now += 999;
    expect(ledger.refusal('alice'), 'after the cooldown').to.equal(undefined);
    ledger.record('alice');
    expect(ledger.refusal('alice'), 'one of two again').to.equal(undefined);
  });
});

describe('isolates set aside, against a server process of its own', function () {
  this.timeout(90_000);
  let child: ServerProcess | undefined;

  afterEach(async () => {
    await child?.kill();
    child = undefined;
  });

  it("past CHARIOT_QUARANTINE_PER_USER the user alone is refused, 429 with Retry-After, and their queued execution ends with the same words; another user's run completes", async () => {
    // One thread with three slots: two for bob's sleepers, one for the walk, so that alice's
    // next execution waits in the queue for the walk's slot.
    child = await spawnServer({
      ...LIMITS,
      CHARIOT_THREADS: '1',
      CHARIOT_TASKS_PER_THREAD: '3',
      CHARIOT_QUARANTINE_PER_USER: '1',
      CHARIOT_QUARANTINE_COOLDOWN_MS: '120000',
      // Alice's queued one waits for the walk, which takes longer than the default wait limit.
      CHARIOT_MAX_QUEUE_WAIT_MS: '60000',
    });
    const [alice, bob] = await Promise.all([child.login('alice'), child.login('bob')]);
    const sleepers = [await submit(bob, 'await sleep(8000); 1'), await submit(bob, 'await sleep(8000); 2')];
    const walk = runSpins(alice, child);
    const queued = await submit(alice, '1+2');
    await walk;
    await within(5000, child.untilOutput(QUARANTINE_LINE), 'the line of the isolate set aside');
    expect(await quarantined(bob)).to.equal(1);
    for (const id of sleepers) expect((await streamToEnd(bob, id)).at(-1)?.data).to.equal('{"status":"completed"}');
    const refusedQueued = asObject((await within(5000, streamToEnd(alice, queued).then(() => getResult(alice, queued)), "alice's queued execution")).body);
    expect({ status: refusedQueued.status, started_at: refusedQueued.started_at }).to.eql({ status: 'error', started_at: null });
    expect(refusedQueued.error).to.match(/^This user's executions had 1 isolates set aside that the sandbox could not stop or free \(CHARIOT_QUARANTINE_PER_USER\): their new executions are refused for (\d+) s more$/);

    const refused = await alice.json('POST', '/api/execute-async', { program: '1+2' });
    const seconds = Number(/for (\d+) s more$/.exec(String(asObject(refused.body).error))?.[1]);
    expect(seconds, 'seconds left of the cooldown').to.be.within(100, 120);
    expectError(refused, 429, `This user's executions had 1 isolates set aside that the sandbox could not stop or free (CHARIOT_QUARANTINE_PER_USER): their new executions are refused for ${seconds} s more`, 'TOO_MANY_SET_ASIDE');
    expect(refused.headers.get('retry-after')).to.equal(String(seconds));
    expect(asObject((await alice.json('POST', '/api/execute', { program: '1+2' })).body).code).to.equal('TOO_MANY_SET_ASIDE');

    const bobs = await bob.json('POST', '/api/execute', { program: 'logPrint("still"); 1+2' });
    expect({ status: bobs.status, result: asObject(bobs.body).result }).to.eql({ status: 200, result: 3 });
    const health = await bob.json('GET', '/healthz');
    expect({ status: health.status, body: asObject(health.body).status }).to.eql({ status: 200, body: 'ok' });
  });

  it("counts an isolate set aside after its execution ended at the wall-clock limit (the walk began just before it) against its author, who alone is then refused", async () => {
    child = await spawnServer({ CHARIOT_WALL_MS: '2000', CHARIOT_CPU_MS: '10000', CHARIOT_THREADS: '2', CHARIOT_QUARANTINE_PER_USER: '2' });
    const [alice, bob] = await Promise.all([child.login('alice'), child.login('bob')]);
    // Two at once: each call's timeout is the wall-clock time left, so the Run ends at that
    // limit while the walk runs on, and the walk is set aside about 5 s later.
    const late = `await sleep(1900); ${SPINS}`;
    const walks = await Promise.all([0, 1].map(() => orProcessDeath(child!, alice.json('POST', '/api/execute', { program: late }), 15_000, 'the late walk')));
    for (const res of walks) {
      expect({ status: res.status, error: asObject(res.body).error }).to.eql({ status: 500, error: 'Wall-clock time limit exceeded: the execution took more than 2000 ms' });
    }
    await within(15_000, (async () => {
      while ((await quarantined(bob)) < 2) await new Promise((resolve) => setTimeout(resolve, 100));
    })(), 'both isolates set aside');
    // The slots are given back once the isolates' fate is known: the count is in by then.
    await within(5000, (async () => {
      while (Number(asObject(asObject((await bob.json('GET', '/healthz')).body).pool).running) > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    })(), 'the slots given back');
    const refused = await alice.json('POST', '/api/execute', { program: '1+2' });
    expect({ status: refused.status, code: asObject(refused.body).code }).to.eql({ status: 429, code: 'TOO_MANY_SET_ASIDE' });
    const bobs = await bob.json('POST', '/api/execute', { program: 'logPrint("still"); 1+2' });
    expect(bobs.status, bobs.text).to.equal(200);
    expect(asObject(bobs.body)).to.deep.include({ result: 3, type: 'number' });
    expectLogEntries(asObject(bobs.body).logs, [{ level: 'INFO', message: 'still' }]);
  });

  it('at CHARIOT_QUARANTINE_LIMIT it refuses new work, lets a running execution finish within CHARIOT_DRAIN_MS, and ends itself for its supervisor (SIGKILL: a thread is pinned)', async () => {
    // The walk is set aside about 5.5 s after it starts, while bob's execution (14 s of sleep)
    // still runs.
    child = await spawnServer({ ...LIMITS, CHARIOT_THREADS: '2', CHARIOT_QUARANTINE_LIMIT: '1', CHARIOT_DRAIN_MS: '20000' });
    const [alice, bob, carol] = await Promise.all([child.login('alice'), child.login('bob'), child.login('carol')]);
    const running = await submit(bob, 'logPrint("before"); await sleep(14000); logPrint("after"); 7');
    const stream = await bob.sse(`/api/logs/${running}`);
    await stream.nthEvent(1);
    await runSpins(alice, child);
    await within(5000, child.untilOutput(/restarting; running executions get up to 20000 ms \(CHARIOT_DRAIN_MS\) to finish, then are cancelled/), 'the restart');
    const health = await carol.json('GET', '/healthz');
    expect({ status: health.status, body: asObject(health.body).status, quarantined: asObject(asObject(health.body).pool).quarantined }).to.eql({ status: 503, body: 'restart-needed', quarantined: 1 });
    expectError(await carol.json('POST', '/api/execute-async', { program: '1+2' }), 503, 'The server takes no new executions until it is restarted: 1 isolates were set aside after fatal errors', 'RESTART_NEEDED');
    expectExactStream(await within(15_000, stream.untilDone(), "bob's execution"), [{ level: 'INFO', message: 'before' }, { level: 'INFO', message: 'after' }], 'completed');
    expect(await child.waitExit(15_000)).to.equal('SIGKILL');
    const output = child.output();
    expect(output).to.match(QUARANTINE_LINE);
    expect(output).to.contain('chariot-exec: 1 isolates were set aside (CHARIOT_QUARANTINE_LIMIT 1): restarting');
    expect(output).to.contain('chariot-exec: drained; ending the process for its supervisor to start it again');
    expect(output).to.contain('chariot-exec: a worker thread holds a quarantined isolate and cannot stop; ending the process by SIGKILL');
  });

  it('with CHARIOT_DRAIN_MS=0 the restart cancels what runs: its streams end with done cancelled', async () => {
    child = await spawnServer({ ...LIMITS, CHARIOT_THREADS: '2', CHARIOT_QUARANTINE_LIMIT: '1', CHARIOT_DRAIN_MS: '0' });
    const [alice, bob] = await Promise.all([child.login('alice'), child.login('bob')]);
    const running = await submit(bob, 'logPrint("before"); await sleep(15000); logPrint("after"); 7');
    const stream = await bob.sse(`/api/logs/${running}`);
    await stream.nthEvent(1);
    await runSpins(alice, child);
    expectExactStream(await within(15_000, stream.untilDone(), "bob's execution, cancelled by the restart"), [{ level: 'INFO', message: 'before' }], 'cancelled');
    expect(await child.waitExit(15_000)).to.equal('SIGKILL');
  });
});
