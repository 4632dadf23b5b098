// This worker thread's own heap: a memory-reducing garbage collection on demand, with V8's gc()
// taken once, when this module loads, holding the process's context lock alone
// (context-lock.ts): gc() exists only in contexts made while V8's --expose-gc flag is on, and
// the flag is the process's, so no other thread may make a context (an isolate's above all) in
// that moment. A thread that could not have the lock within a second goes without: its
// collections after load do nothing (docs/API.md "Memory after load").
import { aloneWithContextLock } from './context-lock.js';
import { takeGc } from './take-gc.js';

let gc = aloneWithContextLock(takeGc);

/**
 * Collects this thread's heap at once and gives the pages V8 pooled back to the system (a full,
 * blocking collection: tens of milliseconds for a heap of tens of MiB); it also collects the
 * thread's dead isolated-vm handles. `retake`: a thread that went without tries once more to
 * take its gc() (at its end, when the collection is needed).
 */
export function collectHeap(retake = false): void {
  if (gc === undefined && retake) gc = aloneWithContextLock(takeGc);
  gc?.();
}
