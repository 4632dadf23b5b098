// The raw-isolate baseline's worker thread (a Piscina task file; see raw-isolate.ts).
//
//   isolate    a fresh Context in this thread's warm Isolate, `context.eval(source)` (async,
//              as the service runs programs), the value copied out, the Context released:
//              the least any isolated-vm execution costs, with no HTTP, no bootstrap globals,
//              no scheduler and no log relay.
//   plainFib   fib(n) as ordinary code of this thread (no sandbox, no eval): the compute
//              baseline of the CPU-heavy scenario. Not an eval of the script's text: a script
//              that redeclares a global function at each eval deoptimises its callers, which
//              would make plain Node look slower than it is.
//   logStreams `streams` contexts, each logging `entries` times, one entry every
//              `intervalMs` from `startAt` (staggered): an isolate callback reads Date.now()
//              inside the isolate and the worker posts it to the main thread, which times its
//              arrival. The floor for log latency: isolate → worker → main thread.
import ivm from 'isolated-vm';
import { BroadcastChannel, parentPort, workerData } from 'node:worker_threads';
import { fib } from '../lib/programs.js';

export type RawTask =
  | { readonly kind: 'isolate'; readonly source: string }
  | { readonly kind: 'plainFib'; readonly n: number }
  | { readonly kind: 'logStreams'; readonly streams: number; readonly entries: number; readonly intervalMs: number; readonly startAt: number; readonly staggerMs: number };

/** What a raw worker posts to the main thread outside of task results. */
export type RawWorkerMessage =
  /** One log entry of a logStreams task: the isolate's Date.now() at the call. */
  | { readonly kind: 'log'; readonly isolateMs: number }
  /** This thread disposed its isolate and may now be stopped. */
  | { readonly kind: 'disposed' };

export interface RawWorkerData {
  /** Name of the BroadcastChannel on which the pool asks every thread to dispose its isolate. */
  readonly controlChannel: string;
}

const isolate = new ivm.Isolate({ memoryLimit: 128 });
const TIMEOUT_MS = 10_000;

// Stopping a thread that still holds an isolate can crash or hang the process (see
// docs/API.md, "Known limits"): the pool asks every thread to dispose its isolate first.
const control = new BroadcastChannel((workerData as RawWorkerData).controlChannel);
control.onmessage = () => {
  if (!isolate.isDisposed) isolate.dispose();
  parentPort!.postMessage({ kind: 'disposed' } satisfies RawWorkerMessage);
};
control.unref();

async function inIsolate(source: string): Promise<unknown> {
  const context = await isolate.createContext();
  try {
    return await context.eval(source, { timeout: TIMEOUT_MS, copy: true });
  } finally {
    context.release();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function logStream(startAt: number, entries: number, intervalMs: number): Promise<void> {
  const context = await isolate.createContext();
  const post = (time: number): void => parentPort!.postMessage({ kind: 'log', isolateMs: time } satisfies RawWorkerMessage);
  await context.global.set('__post', new ivm.Callback(post));
  const script = await isolate.compileScript('__post(Date.now())');
  try {
    for (let i = 0; i < entries; i++) {
      await sleep(startAt + i * intervalMs - Date.now());
      await script.run(context, { timeout: TIMEOUT_MS });
    }
  } finally {
    script.release();
    context.release();
  }
}

export default async function runRawTask(task: RawTask): Promise<unknown> {
  switch (task.kind) {
    case 'isolate':
      return inIsolate(task.source);
    case 'plainFib':
      return fib(task.n);
    case 'logStreams': {
      const streams: Promise<void>[] = [];
      for (let i = 0; i < task.streams; i++) streams.push(logStream(task.startAt + i * task.staggerMs, task.entries, task.intervalMs));
      await Promise.all(streams);
      return task.streams * task.entries;
    }
  }
}
