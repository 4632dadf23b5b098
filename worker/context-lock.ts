// One lock for the whole process, in a SharedArrayBuffer that every worker thread gets
// (WorkerConfig.contextLock): held while a thread makes an isolate or a V8 context, and while a
// thread has V8's --expose-gc flag on to take its own gc() (heap.ts). The flag is the process's,
// and a context made while it is on gets a `gc` global that cannot be deleted: under the lock,
// no program's context is ever made in that moment. Uncontended it costs two atomic operations;
// a context takes about 0.4 ms to make, the flag's moment less.
import { workerData } from 'node:worker_threads';
import type { WorkerConfig } from './protocol.js';

const UNLOCKED = 0;
const LOCKED = 1;

// Outside a worker thread (no workerData) nothing else takes it: a lock of this thread's own.
const cell = new Int32Array((workerData as WorkerConfig | null)?.contextLock ?? new SharedArrayBuffer(4));

/** Runs `make` (synchronous) holding the lock; waits for another thread's hold to end first. */
export function holdingContextLock<T>(make: () => T): T {
  while (Atomics.compareExchange(cell, 0, UNLOCKED, LOCKED) !== UNLOCKED) Atomics.wait(cell, 0, LOCKED);
  try {
    return make();
  } finally {
    Atomics.store(cell, 0, UNLOCKED);
    Atomics.notify(cell, 0, 1);
  }
}
