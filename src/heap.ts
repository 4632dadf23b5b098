// The main thread's heap: a memory-reducing garbage collection on demand (src/idle-collector.ts),
// with V8's gc() taken once, when this module loads, before the pool starts any worker thread.
//
// gc() exists only in contexts made while V8's --expose-gc flag is on, and the flag is the
// process's: a context made meanwhile in another thread, an isolate's included, would get a `gc`
// global too (and V8 makes it one that cannot be deleted). Taken before any worker thread exists,
// nothing else makes a context while the flag is on; it is off from then on, also in a node
// started with --expose-gc, so no program's context ever has one (test/memory-release.test.ts).
// Worker threads take theirs under a lock that every context they make holds (worker/heap.ts).
import { takeGc } from '../worker/take-gc.js';

/**
 * Collects the main thread's heap at once and gives the pages V8 pooled back to the system (a
 * full, blocking collection: tens of milliseconds for a heap of tens of MiB).
 */
export const collectHeap: () => void = takeGc();
