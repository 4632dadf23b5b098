// The main thread's heap: a memory-reducing garbage collection on demand (src/idle-collector.ts),
// with V8's gc() taken once, when this module loads (before the first pool starts).
//
// gc() exists only in contexts made while V8's --expose-gc flag is on, and the flag is the
// process's: a context made meanwhile in another thread, an isolate's included, would get a `gc`
// global too (and V8 makes it one that cannot be deleted). It is taken holding alone the
// process's context lock, which every isolate and context the worker threads make holds too
// (worker/context-lock.ts), as worker threads take theirs (worker/heap.ts); the flag is off from
// then on, also in a node started with --expose-gc, so no program's context ever has one
// (test/memory-release.test.ts).
import { aloneWithContextLock } from '../worker/context-lock.js';
import { takeGc } from '../worker/take-gc.js';

const gc = aloneWithContextLock(takeGc);

/**
 * Collects the main thread's heap at once and gives the pages V8 pooled back to the system (a
 * full, blocking collection: tens of milliseconds for a heap of tens of MiB). Nothing, if the
 * lock could not be had when this module loaded (a worker parked while making a context).
 */
export function collectHeap(): void {
  gc?.();
}
