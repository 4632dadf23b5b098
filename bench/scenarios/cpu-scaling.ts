// Scenario 4: CPU-heavy scaling. `jobs` executions of fib(n) submitted at once, with
// CHARIOT_THREADS = 1..cores; executions per second and the speed-up over one thread.
// In the same run and on the same thread counts: the same script through POST /api/execute
// of the QuickJS baseline (quickjs-emscripten, an interpreter compiled to WebAssembly, with
// QUICKJS_THREADS worker threads: the peer a user would pick instead), in the raw-isolate
// baseline (fresh Context + eval, no HTTP), and the same function as plain Node code in
// worker threads (no sandbox at all, already compiled and optimised by the first call).
// chariot / plain is the sandbox's whole compute overhead for this work, a fresh context's
// cold code included; chariot / quickjs is what V8's compilers give over an interpreter.
//
// One user, so that each worker thread holds exactly one isolate (one per user per thread):
// the thread count alone sets how many executions compute at once.
// Each thread count runs `rounds` batches after a warm-up batch and keeps the fastest: on a
// shared machine the slowest batches measure the neighbours, the fastest the code.
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { RawIsolatePool } from '../baselines/raw-isolate.js';
import { ratio, round } from '../lib/histogram.js';
import { benchUsers, HttpTarget, loginUsers } from '../lib/http.js';
import { startChariot, startQuickjsServer, type ServerProcess } from '../lib/processes.js';
import type { Profile } from '../lib/profile.js';
import { fibProgram, fibValue } from '../lib/programs.js';
import type { RawTask } from '../baselines/raw-worker.js';

export interface CpuRun {
  /** Wall time of the fastest batch, from the first request sent to the last answer. */
  readonly batchMs: number;
  readonly executionsPerS: number;
  /** executionsPerS over the same target's at one thread. */
  readonly speedUp: number;
}

export interface CpuPoint {
  readonly threads: number;
  readonly chariot: CpuRun;
  /** The same script through the QuickJS baseline's POST /api/execute. */
  readonly quickjs: CpuRun;
  readonly rawIsolate: CpuRun;
  readonly plainNode: CpuRun;
  readonly ratios: {
    /** Time per execution, chariot over plain Node: the sandbox's compute overhead. */
    readonly chariotTimeVsPlainNode: number | null;
    /** Below 1: chariot computes faster than QuickJS. */
    readonly chariotTimeVsQuickjs: number | null;
    readonly chariotTimeVsRawIsolate: number | null;
    readonly rawIsolateTimeVsPlainNode: number | null;
  };
}

export interface CpuScalingResult {
  readonly program: string;
  readonly jobs: number;
  readonly rounds: number;
  readonly points: readonly CpuPoint[];
}

type Batch = () => Promise<void>;

/** Runs one warm-up batch, then `rounds` measured ones; returns the fastest, in ms. */
async function fastest(batch: Batch, rounds: number): Promise<number> {
  await batch();
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await batch();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

function check(value: unknown, expected: number, what: string): void {
  if (value !== expected) throw new Error(`${what} returned ${String(value)}, expected ${expected}`);
}

/** `jobs` POST /api/execute at once on a server started for one user (whose names it is given). */
async function httpBatchMs(what: string, starting: Promise<ServerProcess>, userNames: readonly string[], program: string, expected: number, jobs: number, rounds: number): Promise<number> {
  const server = await starting;
  const http = new HttpTarget(server.url, jobs);
  try {
    const [cookie] = await loginUsers(http, userNames);
    return await fastest(async () => {
      await Promise.all(Array.from({ length: jobs }, async () => {
        const answer = await http.post('/api/execute', { program }, cookie!);
        if (answer.status !== 200) throw new Error(`${what}: POST /api/execute answered ${answer.status}: ${answer.text}`);
        check((JSON.parse(answer.text) as { result: unknown }).result, expected, what);
      }));
    }, rounds);
  } finally {
    await http.close();
    await server.close();
  }
}

async function rawBatchMs(threads: number, task: RawTask, expected: number, jobs: number, rounds: number): Promise<number> {
  // Plain code holds its thread for the whole call: one task per thread, so that Piscina
  // hands each task to a free thread. The isolate path awaits, as the service's does.
  const pool = new RawIsolatePool(threads, task.kind === 'plainFib' ? 1 : 64);
  try {
    return await fastest(async () => {
      await Promise.all(Array.from({ length: jobs }, async () => check(await pool.run(task), expected, task.kind)));
    }, rounds);
  } finally {
    await pool.close();
  }
}

export async function runCpuScaling(profile: Profile, log: (line: string) => void): Promise<CpuScalingResult> {
  const { fibN, jobs, rounds } = profile.cpu;
  const program = fibProgram(fibN);
  const expected = fibValue(fibN);
  const cores = availableParallelism();
  const users = benchUsers(1);
  const measured: { threads: number; chariot: number; quickjs: number; raw: number; plain: number }[] = [];
  for (let threads = 1; threads <= cores; threads++) {
    const chariotServer = startChariot({ CHARIOT_THREADS: String(threads), CHARIOT_USERS: users.env });
    const chariot = await httpBatchMs('chariot', chariotServer, users.names, program, expected, jobs, rounds);
    const quickjsServer = startQuickjsServer({ QUICKJS_THREADS: String(threads), QUICKJS_USERS: users.env });
    const quickjs = await httpBatchMs('quickjs', quickjsServer, users.names, program, expected, jobs, rounds);
    const raw = await rawBatchMs(threads, { kind: 'isolate', source: program }, expected, jobs, rounds);
    const plain = await rawBatchMs(threads, { kind: 'plainFib', n: fibN }, expected, jobs, rounds);
    measured.push({ threads, chariot, quickjs, raw, plain });
    log(`  threads ${threads}  chariot ${chariot.toFixed(0)} ms  quickjs ${quickjs.toFixed(0)} ms  raw isolate ${raw.toFixed(0)} ms  plain node ${plain.toFixed(0)} ms  (${jobs} × fib(${fibN}))`);
  }
  const one = measured[0]!;
  const run = (batchMs: number, batchMsAtOne: number): CpuRun => ({
    batchMs: round(batchMs, 1),
    executionsPerS: round((jobs / batchMs) * 1000, 1),
    speedUp: round(batchMsAtOne / batchMs),
  });
  return {
    program,
    jobs,
    rounds,
    points: measured.map(({ threads, chariot, quickjs, raw, plain }) => ({
      threads,
      chariot: run(chariot, one.chariot),
      quickjs: run(quickjs, one.quickjs),
      rawIsolate: run(raw, one.raw),
      plainNode: run(plain, one.plain),
      ratios: {
        chariotTimeVsPlainNode: ratio(chariot, plain),
        chariotTimeVsQuickjs: ratio(chariot, quickjs),
        chariotTimeVsRawIsolate: ratio(chariot, raw),
        rawIsolateTimeVsPlainNode: ratio(raw, plain),
      },
    })),
  };
}
