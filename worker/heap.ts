// The heap of the thread that loads this module (the main thread, src/idle-collector.ts, or a
// worker, isolate-pool.ts's onQuiet): a memory-reducing garbage collection on demand, with V8's
// gc() taken once, when this module loads.
//
// gc() exists only in contexts made while V8's --expose-gc flag is on, and the flag is the
// process's: a context made meanwhile in another thread, an isolate's included, would get a `gc`
// global too, one that V8 makes undeletable. So it is taken holding alone the process's context
// lock, which every isolate and context the worker threads make holds too (context-lock.ts), and
// the flag is off from then on, also in a node started with --expose-gc: no program's context
// ever has one (test/memory-release.test.ts). A thread that could not have the lock within a
// second goes without: its collections do nothing (docs/API.md "Memory after load").
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { aloneWithContextLock } from './context-lock.js';

/** What V8's gc() takes (its GCExtension): a major, synchronous, memory-reducing collection here. */
interface GcOptions {
  readonly type: 'major';
  readonly execution: 'sync';
  /** 'last-resort': V8's CollectAllAvailableGarbage, which also gives freed pages back. */
  readonly flavor: 'last-resort';
}

/** Switches the flag on for the moment it takes to make one node:vm context; the lock is held. */
function takeGc(): (() => void) | undefined {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('typeof gc === "function" ? gc : undefined') as ((options: GcOptions) => void) | undefined;
  setFlagsFromString('--no-expose-gc');
  return gc === undefined ? undefined : () => gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

let gc = aloneWithContextLock(takeGc);

/**
 * Collects this thread's heap at once and gives the pages V8 pooled back to the system (a full,
 * blocking collection: tens of milliseconds for a heap of tens of MiB); in a worker it also
 * collects the thread's dead isolated-vm handles. `retake`: a thread that went without tries
 * once more to take its gc() (a worker at its end, when the collection is needed).
 */
export function collectHeap(retake = false): void {
  if (gc === undefined && retake) gc = aloneWithContextLock(takeGc);
  gc?.();
}
