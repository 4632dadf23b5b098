// One lock for the whole process, in a SharedArrayBuffer word that every worker thread gets
// (WorkerConfig.contextLock), between the threads that make isolates and contexts and a thread
// that switches V8's --expose-gc flag on to take its own gc() (heap.ts). The flag is the
// process's, and a context made while it is on gets a `gc` global that cannot be deleted.
//
// Makers share the lock (a count): they never wait for one another, so one that never comes
// back (a thread parked inside isolated-vm) stops no other. A taker needs it alone: it first
// asks new makers to wait, then waits for the count to fall to 0, holds it for the moment its
// flag is on, and gives up after TAKE_WAIT_MS (its thread then goes without collections): makers
// wait at most that long, once per thread start.
import { workerData } from 'node:worker_threads';
import type { WorkerConfig } from './protocol.js';

/** A taker holds it alone. */
const TAKEN = 1 << 30;
/** A taker waits for the makers inside to leave; new makers wait. */
const ASKED = 1 << 29;
/** How long a taker waits for the makers inside before it gives up. */
const TAKE_WAIT_MS = 1000;
/** Waits are re-checked this often (a notify can come between a check and a wait). */
const RECHECK_MS = 5;

// A worker thread's comes from the pool (workerData); the main thread's is made here, once per
// process, and given to every pool's workers (contextLockBuffer), so that there is one lock in
// the process however many pools it runs (the in-process tests run several servers).
const buffer = (workerData as WorkerConfig | null)?.contextLock ?? new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
const cell = new Int32Array(buffer);

/** The word the lock is, for the pool to give its workers (in the main thread: the process's). */
export function contextLockBuffer(): SharedArrayBuffer {
  return buffer;
}

/** Runs `make` (synchronous: an isolate or a context made) sharing the lock with other makers. */
export function holdingContextLock<T>(make: () => T): T {
  for (;;) {
    const value = Atomics.load(cell, 0);
    if ((value & (TAKEN | ASKED)) !== 0) {
      Atomics.wait(cell, 0, value, RECHECK_MS);
      continue;
    }
    if (Atomics.compareExchange(cell, 0, value, value + 1) === value) break;
  }
  try {
    return make();
  } finally {
    Atomics.sub(cell, 0, 1);
    Atomics.notify(cell, 0);
  }
}

/**
 * Runs `take` holding the lock alone, once every maker inside has left; undefined, without
 * running it, when they have not within TAKE_WAIT_MS.
 */
export function aloneWithContextLock<T>(take: () => T): T | undefined {
  const deadline = Date.now() + TAKE_WAIT_MS;
  // One taker at a time: another one asking first is waited for as makers are.
  for (;;) {
    const value = Atomics.load(cell, 0);
    if ((value & (TAKEN | ASKED)) === 0 && Atomics.compareExchange(cell, 0, value, value | ASKED) === value) break;
    if (Date.now() > deadline) return undefined;
    Atomics.wait(cell, 0, value, RECHECK_MS);
  }
  for (;;) {
    if (Atomics.compareExchange(cell, 0, ASKED, TAKEN) === ASKED) break;
    if (Date.now() > deadline) {
      Atomics.and(cell, 0, ~ASKED);
      Atomics.notify(cell, 0);
      return undefined;
    }
    Atomics.wait(cell, 0, Atomics.load(cell, 0), RECHECK_MS);
  }
  try {
    return take();
  } finally {
    Atomics.and(cell, 0, ~TAKEN);
    Atomics.notify(cell, 0);
  }
}
