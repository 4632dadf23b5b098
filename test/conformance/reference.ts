// The reference of the conformance suite: each program run by plain Node, in a fresh realm,
// as a classic script named program.js, answered as POST /api/execute answers
// (reference-worker.ts, realm-runner.ts).
//
// How a fresh realm is made, measured over this suite's 872 programs on Node 24:
// - 'context' (the default): a vm context made with vm.constants.DONT_CONTEXTIFY, whose
//   global is an ordinary object as in the service's isolate, with nothing of Node's on it.
//   Programs run one after another in a worker thread (two threads, for two cores), so that
//   each one's unhandled rejections are its own: about 1 ms a program, 0.8 s for the suite.
// - 'worker': a worker thread per program, the program run in that thread's main context
//   once Node's globals (and its Symbol.toStringTag "global") are deleted: the plainest realm
//   Node has, but 15 to 80 ms a program (a thread's start), 43 s for the suite on a loaded
//   machine. It answered as 'context' did for 871 programs; the other one compared an error
//   Node made in its own realm with `instanceof`. The suite re-checks the two on the areas
//   where the realm matters most.
// - node:vm's ordinary contexts are not a reference: their global is contextified (Node's
//   interceptors stand between global code and it). They answered 6 programs differently from
//   both: a strict program's top-level `var` became a configurable property, the global
//   named itself '[object Object]' instead of '#<Object>' in TypeErrors about read-only
//   globals, and `globalThis.constructor` was not `Object`.
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import type { Json } from '../helpers/client.js';

/** One program's answer as POST /api/execute gives it, without `execution_id`; log entries as "LEVEL message". */
export interface ReferenceAnswer {
  readonly http: number;
  readonly status: 'completed' | 'error';
  readonly result?: Json;
  readonly type?: string;
  readonly error?: string;
  readonly logs: readonly string[];
}

export type Realm = 'context' | 'worker';

/** What a reference worker is started with (reference-worker.ts). */
export type WorkerTask =
  | { readonly realm: 'context' }
  | { readonly realm: 'worker'; readonly program: string; readonly standardGlobals: readonly string[] };

export interface ReferenceOptions {
  /** How a fresh realm is made (default 'context'). */
  readonly realm?: Realm;
  /** Worker threads at once (default 2, the machine's cores). */
  readonly concurrency?: number;
  /** A program still unanswered after this long is stopped and reported (default 10000 ms). */
  readonly timeoutMs?: number;
}

/** The own keys of a bare V8 context's global object, symbols as `String(symbol)` (node:vm adds none). */
export const STANDARD_GLOBALS: readonly string[] = Object.freeze(runInNewContext('Reflect.ownKeys(globalThis).map(String)') as string[]);

const WORKER = new URL('./reference-worker.js', import.meta.url);

function failure(error: string): ReferenceAnswer {
  return { http: 0, status: 'error', error: `reference: ${error}`, logs: [] };
}

/** Waits for the next answer of `worker`, or reports why none came. */
function nextAnswer(worker: Worker, timeoutMs: number): Promise<{ answer: ReferenceAnswer; alive: boolean }> {
  return new Promise((resolve) => {
    const finish = (answer: ReferenceAnswer, alive: boolean): void => {
      clearTimeout(timer);
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      if (!alive) void worker.terminate();
      resolve({ answer, alive });
    };
    const onMessage = (answer: ReferenceAnswer): void => finish(answer, true);
    const onError = (error: Error): void => finish(failure(`the worker failed: ${String(error)}`), false);
    const onExit = (): void => finish(failure('the program never settled'), false);
    const timer = setTimeout(() => finish(failure(`no answer after ${timeoutMs} ms`), false), timeoutMs);
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
  });
}

/** One lane of 'context' realms: a worker that runs programs one after another (a new one after a failure). */
async function contextLane(take: () => number | undefined, programs: readonly string[], answers: ReferenceAnswer[], timeoutMs: number): Promise<void> {
  let worker: Worker | undefined;
  for (let index = take(); index !== undefined; index = take()) {
    worker ??= new Worker(WORKER, { workerData: { realm: 'context' } satisfies WorkerTask });
    worker.postMessage(programs[index]);
    const { answer, alive } = await nextAnswer(worker, timeoutMs);
    answers[index] = answer;
    if (!alive) worker = undefined;
  }
  await worker?.terminate();
}

/** One lane of 'worker' realms: a new worker for every program. */
async function workerLane(take: () => number | undefined, programs: readonly string[], answers: ReferenceAnswer[], timeoutMs: number): Promise<void> {
  for (let index = take(); index !== undefined; index = take()) {
    const task: WorkerTask = { realm: 'worker', program: programs[index]!, standardGlobals: STANDARD_GLOBALS };
    const worker = new Worker(WORKER, { workerData: task });
    answers[index] = (await nextAnswer(worker, timeoutMs)).answer;
    await worker.terminate();
  }
}

/** Runs every program in plain Node; the answers come in the programs' order. */
export async function runReference(programs: readonly string[], options: ReferenceOptions = {}): Promise<ReferenceAnswer[]> {
  const { realm = 'context', concurrency = 2, timeoutMs = 10_000 } = options;
  const answers = new Array<ReferenceAnswer>(programs.length);
  let next = 0;
  const take = (): number | undefined => (next < programs.length ? next++ : undefined);
  const lane = realm === 'context' ? contextLane : workerLane;
  await Promise.all(Array.from({ length: Math.min(concurrency, programs.length) }, () => lane(take, programs, answers, timeoutMs)));
  return answers;
}
