// Memory after load (docs/API.md "Memory after load"): against the real server process, the
// isolates a worker thread keeps for its users are disposed once idle for
// CHARIOT_ISOLATE_IDLE_MS, the first sweep that then finds a thread with nothing kept or running
// collects its heap, and the main thread collects its own once no execution has been in flight
// for as long, each once per stretch of work (worker/isolate-pool.ts, src/idle-collector.ts).
// Seen through the test probe's census (CHARIOT_TEST_PROBE, src/test-probe.ts): each worker's
// isolates by role and collections, and the main thread's. And the gc() that V8's --expose-gc
// flag gives every context is never a script's.
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CensusAnswer } from '../src/test-probe.js';
import type { IsolateCensus } from '../worker/protocol.js';
import { spawnServer, within, type ServerProcess } from './helpers/adversary.js';
import type { Client } from './helpers/client.js';
import { asObject } from './helpers/expectations.js';

const IDLE_MS = 2000;
/** A sweep runs every third of the idle time. */
const SWEEP_MS = Math.ceil(IDLE_MS / 3);
const SPARES = 2;

/** The one worker's isolates by role, and the main thread's collections after load as `main`. */
type Census = IsolateCensus & { readonly main: number };

async function census(server: ServerProcess): Promise<Census> {
  const answer = await within(10_000, server.ask({ kind: 'census' }), "the census's answer") as CensusAnswer;
  expect(answer.kind).to.equal('census-answer');
  expect(answer.threads, JSON.stringify(answer)).to.have.length(1);
  return { ...answer.threads[0]!.isolates, main: answer.main.collections };
}

/** Polls the census until `wanted` holds; fails with the last census after `ms`. */
async function censusWhen(server: ServerProcess, wanted: (isolates: Census) => boolean, ms: number, what: string): Promise<Census> {
  const deadline = Date.now() + ms;
  for (;;) {
    const isolates = await census(server);
    if (wanted(isolates)) return isolates;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms, the census is ${JSON.stringify(isolates)}`);
    await sleep(100);
  }
}

async function run(client: Client, program: string): Promise<unknown> {
  const res = await client.json('POST', '/api/execute', { program });
  expect(res.status, res.text).to.equal(200);
  return asObject(res.body).result;
}

describe(`memory after load: kept isolates disposed after CHARIOT_ISOLATE_IDLE_MS (${IDLE_MS} ms here), then the threads' heaps collected`, function () {
  this.timeout(60_000);
  let server: ServerProcess;

  beforeEach(async () => {
    server = await spawnServer({ CHARIOT_THREADS: '1', CHARIOT_TEST_PROBE: '1', CHARIOT_ISOLATE_IDLE_MS: String(IDLE_MS) }, { ipc: true });
    await censusWhen(server, (isolates) => isolates.spares === SPARES, 10_000, 'the spares made at start');
  });

  afterEach(async () => {
    await server.kill();
  });

  it('keeps an isolate per user after their executions, disposes them once idle, collects once, and not again without work', async () => {
    expect(await census(server)).to.eql({ busy: 0, kept: 0, spares: SPARES, quiets: 0, main: 0 });
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    for (let i = 1; i <= 3; i++) expect(await run(alice, `${i} + 2`)).to.equal(i + 2);
    expect(await run(bob, '"bob"')).to.equal('bob');
    // Well within the idle time: one isolate kept for each user, spares topped up, nothing collected.
    expect(await census(server)).to.eql({ busy: 0, kept: 2, spares: SPARES, quiets: 0, main: 0 });

    const released = await censusWhen(server, (isolates) => isolates.quiets > 0 && isolates.main > 0, IDLE_MS + 4 * SWEEP_MS + 5000, 'the collection after the idle time');
    expect(released).to.eql({ busy: 0, kept: 0, spares: SPARES, quiets: 1, main: 1 });
    // Three more sweeps with no execution: no second collection.
    await sleep(3 * SWEEP_MS + 200);
    expect(await census(server)).to.eql({ busy: 0, kept: 0, spares: SPARES, quiets: 1, main: 1 });

    // Work again, then idle again: one more.
    expect(await run(bob, '6 * 7')).to.equal(42);
    expect(await census(server)).to.eql({ busy: 0, kept: 1, spares: SPARES, quiets: 1, main: 1 });
    expect(await censusWhen(server, (isolates) => isolates.quiets > 1 && isolates.main > 1, IDLE_MS + 4 * SWEEP_MS + 5000, 'the second collection')).to.eql({ busy: 0, kept: 0, spares: SPARES, quiets: 2, main: 2 });
  });

  it('collects nothing while an execution runs, even with no isolate kept; the running one is kept once it ends, then released', async () => {
    const alice = await server.login('alice');
    const bob = await server.login('bob');
    expect(await run(bob, '1')).to.equal(1);
    const res = await alice.json('POST', '/api/execute-async', { program: `await sleep(${3 * IDLE_MS}); "slept"` });
    expect(res.status, res.text).to.equal(200);
    const id = String(asObject(res.body).execution_id);
    // Bob's kept isolate goes after the idle time; alice's execution still runs, so no collection.
    expect(await censusWhen(server, (isolates) => isolates.kept === 0, IDLE_MS + 4 * SWEEP_MS + 5000, "bob's kept isolate disposed")).to.eql({ busy: 1, kept: 0, spares: SPARES, quiets: 0, main: 0 });
    const result = await within(3 * IDLE_MS + 10_000, (async () => {
      for (;;) {
        const answer = await alice.json('GET', `/api/result/${id}`);
        if (asObject(answer.body).status !== 'running') return answer;
        await sleep(100);
      }
    })(), "alice's execution's end");
    expect({ status: asObject(result.body).status, result: asObject(result.body).result }).to.eql({ status: 'completed', result: { type: 'string', value: 'slept' } });
    expect(await censusWhen(server, (isolates) => isolates.quiets > 0 && isolates.main > 0, IDLE_MS + 4 * SWEEP_MS + 5000, 'the collection after her end')).to.eql({ busy: 0, kept: 0, spares: SPARES, quiets: 1, main: 1 });
  });
});

describe('gc(): the flag that makes it is never a script’s', function () {
  this.timeout(60_000);

  it('8 threads taking their gc() while the others make their spares: no context of any of 80 executions has one', async () => {
    const server = await spawnServer({ CHARIOT_THREADS: '8', CHARIOT_SPARE_ISOLATES: '4' });
    try {
      const clients = await Promise.all((['alice', 'bob', 'carol'] as const).map((user) => server.login(user)));
      const answers = await Promise.all(Array.from({ length: 80 }, (_, i) => run(clients[i % clients.length]!, 'typeof gc')));
      expect(answers).to.eql(Array.from({ length: 80 }, () => 'undefined'));
    } finally {
      await server.kill();
    }
  });

  it('a server started with node --expose-gc gives scripts no gc, and its threads still collect after load', async () => {
    const server = await spawnServer({ CHARIOT_THREADS: '1', CHARIOT_TEST_PROBE: '1', CHARIOT_ISOLATE_IDLE_MS: String(IDLE_MS) }, { ipc: true, flags: ['--no-node-snapshot', '--expose-gc'] });
    try {
      const alice = await server.login('alice');
      expect(await run(alice, '[typeof gc, typeof globalThis.gc, Object.getOwnPropertyNames(globalThis).includes("gc")]')).to.eql(['undefined', 'undefined', false]);
      expect(await run(alice, 'try { gc(); "collected" } catch (e) { String(e) }')).to.equal('ReferenceError: gc is not defined');
      expect(await censusWhen(server, (isolates) => isolates.quiets > 0 && isolates.main > 0, IDLE_MS + 4 * SWEEP_MS + 5000, 'the collection after load')).to.eql({ busy: 0, kept: 0, spares: SPARES, quiets: 1, main: 1 });
    } finally {
      await server.kill();
    }
  });
});
