// The main thread's heap: a memory-reducing garbage collection on demand (src/idle-collector.ts),
// with V8's gc() taken once, when this module loads, before the pool starts any worker thread.
//
// gc() exists only in contexts made while V8's --expose-gc flag is on, and the flag is the
// process's: a context made meanwhile in another thread, an isolate's included, would get a `gc`
// global too (and V8 makes it one that cannot be deleted). Taken before any worker thread exists,
// nothing else makes a context while the flag is on; it is off from then on, also in a node
// started with --expose-gc, so no program's context ever has one (test/memory-release.test.ts).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** What V8's gc() takes (its GCExtension): a major, synchronous, memory-reducing collection here. */
interface GcOptions {
  readonly type: 'major';
  readonly execution: 'sync';
  /** 'last-resort': V8's CollectAllAvailableGarbage, which also gives freed pages back. */
  readonly flavor: 'last-resort';
}

function takeGc(): () => void {
  // A worker thread collecting its handles at its end (worker/index.ts) may switch the flag off
  // between the two calls, so a few tries.
  for (let tries = 0; tries < 10; tries++) {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('typeof gc === "function" ? gc : undefined') as ((options: GcOptions) => void) | undefined;
    setFlagsFromString('--no-expose-gc');
    if (gc !== undefined) return () => gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  }
  throw new Error("V8's gc() could not be taken for this worker thread");
}

/**
 * Collects the main thread's heap at once and gives the pages V8 pooled back to the system (a
 * full, blocking collection: tens of milliseconds for a heap of tens of MiB).
 */
export const collectHeap: () => void = takeGc();
