// One execution's end never ends another, the same user's or not (issue 11): for each way an
// execution can end (a CPU or wall-clock limit, a memory bomb, the Map and Set bombs that make
// V8 fail fatally, a cancel while it computes, a thrown error, an unhandled rejection, a result
// that cannot be sent), 20 rounds of one bad execution and three good ones of the same user at
// once, on one worker thread and on two. Every good one completes with its exact result and
// log, and the bad one ends exactly as it should.
//
// "At once" is checked from the service's own timestamps, not assumed: a round counts only when
// every good execution started before the bad one ended and completed after it, so that under
// the old design (one isolate per user and thread) the bad end would have taken them with it.
// A round that did not overlap (a busy machine) is run again, up to 40 tries for 20 rounds.
import { expect } from 'chai';
import type { Client } from './helpers/client.js';
import { asObject, expectLogEntries, type ExpectedEntry } from './helpers/expectations.js';
import { expectWholeLog, getResult, submit } from './helpers/executions.js';
import { spawnServer, type ServerProcess } from './helpers/adversary.js';
import { useServer, type User } from './helpers/server.js';
import type { SseStream } from './helpers/sse.js';
import { expectEntriesThenDone } from './helpers/streams.js';

const ROUNDS = 20;
const GOODS = 3;

/** How one kind of bad execution must end: its GET /api/result answer and stream. */
interface BadEnd {
  readonly status: 'error' | 'cancelled' | 'completed';
  /** The `error` of an execution that ended with one. */
  readonly error?: string;
  /** The `result` of one that completed. */
  readonly result?: { readonly value: unknown; readonly type: string };
  readonly logs: readonly ExpectedEntry[];
}

interface Kind {
  readonly name: string;
  readonly program: string;
  readonly end: BadEnd;
  /** How long the good ones sleep between their two entries, in ms. */
  readonly goodSleepMs: number;
  /** How long after the bad one's first entry the good ones are submitted, in ms. */
  readonly goodDelayMs?: number;
  /** Done once the good ones are running (a cancel). */
  readonly act?: (client: Client, badId: string) => Promise<void>;
}

const BAD_ENTRY: ExpectedEntry = { level: 'INFO', message: 'bad' };

function goodProgram(n: number, sleepMs: number): string {
  return `logPrint("good ${n}"); await sleep(${sleepMs}); logPrint("good ${n} woke"); ${n} * 2`;
}

interface Timing {
  readonly startedAt: number;
  readonly completedAt: number;
}

function timingOf(body: Record<string, unknown>): Timing {
  return { startedAt: Date.parse(String(body.started_at)), completedAt: Date.parse(String(body.completed_at)) };
}

async function cancel(client: Client, id: string): Promise<void> {
  const res = await client.json('POST', `/api/execution/${id}/cancel`);
  expect(res.status, `cancel: ${res.text}`).to.equal(202);
}

/** Opens the stream of a just-submitted execution and waits until its first entry arrived. */
async function following(client: Client, id: string): Promise<SseStream> {
  const stream = await client.sse(`/api/logs/${id}`);
  expect(stream.status, `stream of ${id}`).to.equal(200);
  await stream.nthEvent(1);
  return stream;
}

/**
 * One round: the bad execution, then the good ones once it is running, each followed to its
 * end. Asserts every answer whole; returns true when every good one overlapped the bad end.
 */
async function round(client: Client, kind: Kind): Promise<boolean> {
  const badId = await submit(client, kind.program);
  const badStream = await following(client, badId);
  if (kind.goodDelayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, kind.goodDelayMs));
  const goods = await Promise.all(Array.from({ length: GOODS }, async (_, i) => {
    const id = await submit(client, goodProgram(i + 1, kind.goodSleepMs));
    return { n: i + 1, id, stream: await following(client, id) };
  }));
  await kind.act?.(client, badId);

  const badEvents = await badStream.untilDone();
  const bad = await getResult(client, badId);
  const badBody = asObject(bad.body);
  expect({ http: bad.status, status: badBody.status, error: badBody.error, result: badBody.result }, `the bad execution (${kind.name})`).to.eql({
    http: kind.end.status === 'completed' ? 200 : 500,
    status: kind.end.status,
    error: kind.end.error,
    result: kind.end.result,
  });
  expectLogEntries(badBody.logs, kind.end.logs);
  expectWholeLog(badBody, kind.end.logs.length);
  expectEntriesThenDone(badEvents, kind.end.logs, kind.end.status);

  const badEnded = timingOf(badBody).completedAt;
  let overlapped = true;
  for (const good of goods) {
    const logs: ExpectedEntry[] = [{ level: 'INFO', message: `good ${good.n}` }, { level: 'INFO', message: `good ${good.n} woke` }];
    const events = await good.stream.untilDone();
    const res = await getResult(client, good.id);
    const body = asObject(res.body);
    expect({ http: res.status, status: body.status, result: body.result, error: body.error }, `good execution ${good.n} beside ${kind.name}`).to.eql({
      http: 200,
      status: 'completed',
      result: { value: good.n * 2, type: 'number' },
      error: undefined,
    });
    expectLogEntries(body.logs, logs);
    expectWholeLog(body, logs.length);
    expectEntriesThenDone(events, logs, 'completed');
    const { startedAt, completedAt } = timingOf(body);
    if (!(startedAt <= badEnded && completedAt >= badEnded)) overlapped = false;
  }
  return overlapped;
}

/** Runs rounds until `count` of them overlapped; fails past twice as many tries. */
async function rounds(client: Client, kind: Kind, count = ROUNDS): Promise<void> {
  let counted = 0;
  for (let tries = 0; counted < count; tries++) {
    expect(tries, `tries for ${count} rounds in which the good executions ran while the bad one ended (${counted} so far)`).to.be.below(2 * count);
    if (await round(client, kind)) counted++;
  }
}

/** In a server with CPU 200 ms, wall 5 s. */
const QUICK_ENDS: readonly Kind[] = [
  {
    name: 'the CPU limit',
    program: 'logPrint("bad"); while (true) {}',
    end: { status: 'error', error: 'CPU time limit exceeded: the script ran for more than 200 ms', logs: [BAD_ENTRY] },
    goodSleepMs: 500,
  },
  {
    name: 'a thrown error',
    program: 'logPrint("bad"); await sleep(100); throw new TypeError("bad end");',
    end: { status: 'error', error: 'TypeError: bad end', logs: [BAD_ENTRY] },
    goodSleepMs: 300,
  },
  {
    name: 'an unhandled rejection',
    program: 'logPrint("bad"); await sleep(100); Promise.reject(new RangeError("nobody listens")); 5',
    end: {
      status: 'completed',
      result: { value: 5, type: 'number' },
      logs: [BAD_ENTRY, { level: 'ERROR', message: 'Uncaught (in promise) RangeError: nobody listens' }],
    },
    goodSleepMs: 300,
  },
  {
    name: 'a result that cannot be sent',
    program: 'logPrint("bad"); await sleep(100); (function named() {})',
    end: { status: 'error', error: 'The result is a function, which cannot be represented as JSON', logs: [BAD_ENTRY] },
    goodSleepMs: 300,
  },
];

/** In a server with CPU 5 s, wall 1 s. */
const LONG_ENDS: readonly Kind[] = [
  {
    name: 'the wall-clock limit while computing',
    program: 'logPrint("bad"); while (true) {}',
    end: { status: 'error', error: 'Wall-clock time limit exceeded: the execution took more than 1000 ms', logs: [BAD_ENTRY] },
    // Submitted 600 ms in, they sleep past the bad one's end at 1 s and end well before their own.
    goodDelayMs: 600,
    goodSleepMs: 500,
  },
];

/** In a server with CPU 5 s, wall 5 s, heap 32 MiB: room in time, so that a busy machine does not end them another way. */
const ROOMY_ENDS: readonly Kind[] = [
  {
    name: 'a memory bomb',
    program: 'logPrint("bad"); await sleep(100); const a = []; while (true) a.push(new Array(1e6).fill(1));',
    end: { status: 'error', error: "Memory limit exceeded: the isolate's heap passed 32 MiB", logs: [BAD_ENTRY] },
    goodSleepMs: 400,
  },
  {
    name: 'a cancel while computing',
    program: 'logPrint("bad"); while (true) {}',
    end: { status: 'cancelled', error: 'Execution cancelled', logs: [BAD_ENTRY] },
    goodSleepMs: 300,
    act: cancel,
  },
];

/** A server with `env` for the file, and the rounds of each kind in it. */
function endsIn(title: string, env: Readonly<Record<string, string>>, kinds: readonly Kind[]): void {
  describe(title, () => {
    const server = useServer(env);
    let alice: Client;
    before(async () => {
      alice = await server.login('alice');
    });
    for (const kind of kinds) {
      it(`${kind.name}: ${ROUNDS} rounds of it beside ${GOODS} good executions, every one of which completes exactly`, async () => {
        await rounds(alice, kind);
      });
    }
  });
}

for (const threads of ['1', '2']) {
  describe(`one execution's end never ends another of the same user (${threads} worker thread${threads === '1' ? '' : 's'})`, function () {
    this.timeout(120_000);

    endsIn('CPU 200 ms, wall 5 s', { CHARIOT_THREADS: threads, CHARIOT_CPU_MS: '200', CHARIOT_WALL_MS: '5000' }, QUICK_ENDS);
    endsIn('CPU 5 s, wall 1 s', { CHARIOT_THREADS: threads, CHARIOT_CPU_MS: '5000', CHARIOT_WALL_MS: '1000' }, LONG_ENDS);
    endsIn('CPU 5 s, wall 5 s, heap 32 MiB', { CHARIOT_THREADS: threads, CHARIOT_CPU_MS: '5000', CHARIOT_WALL_MS: '5000', CHARIOT_MEMORY_MB: '32' }, ROOMY_ENDS);
  });
}

// The bombs that make Node 24's V8 fail fatally quarantine their isolate, which pins its worker
// thread for good, so they run in a server process of their own (killed at the end). Node 26's
// V8 ends them at the ordinary memory limit: the same rounds then check that.
const V8_SURVIVES_BOMBS = Number(process.versions.v8.split('.')[0]) >= 14;
const FATAL_BOMBS: ReadonlyArray<readonly [string, string]> = [
  ['a huge Map', 'const m = new Map(); for (let i = 0; ; i++) m.set(i, { i });'],
  ['a huge Set', 'const s = new Set(); for (let i = 0; ; i++) s.add({ i });'],
];

for (const threads of ['1', '2']) {
  describe(`the Map and Set bombs never end another execution of the same user (${threads} worker thread${threads === '1' ? '' : 's'}, a server process of its own)`, function () {
    this.timeout(180_000);
    let child: ServerProcess | undefined;
    let alice: Client;

    before(async () => {
      child = await spawnServer({
        CHARIOT_THREADS: threads,
        CHARIOT_CPU_MS: '5000',
        CHARIOT_WALL_MS: '8000',
        CHARIOT_MEMORY_MB: '16',
        // Every round may set an isolate aside; none of that may stop the service here.
        CHARIOT_QUARANTINE_LIMIT: '1000',
      });
      alice = await child.login('alice' satisfies User);
    });

    after(async () => {
      await child?.kill();
    });

    for (const [name, bomb] of FATAL_BOMBS) {
      it(`${name}: ${ROUNDS / 2} rounds of it beside ${GOODS} good executions, every one of which completes exactly`, async () => {
        // Each end is the memory limit, reported as such whether V8 failed fatally or not.
        const kind: Kind = {
          name,
          program: `logPrint("bad"); await sleep(100); ${bomb}`,
          end: { status: 'error', error: "Memory limit exceeded: the isolate's heap passed 16 MiB", logs: [BAD_ENTRY] },
          goodSleepMs: 800,
        };
        await rounds(alice, kind, ROUNDS / 2);
        const health = await alice.json('GET', '/healthz');
        expect(health.status, health.text).to.equal(200);
        const quarantined = Number(asObject(asObject(health.body).pool).quarantined);
        if (V8_SURVIVES_BOMBS) expect(quarantined, 'isolates set aside on a V8 that survives the bombs').to.equal(0);
        expect(child!.exited(), 'the server process').to.equal(undefined);
      });
    }
  });
}
