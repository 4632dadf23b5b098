// V8's gc() for the thread that calls this, as a memory-reducing collection (src/heap.ts for the
// main thread, worker/heap.ts for a worker's). It switches V8's --expose-gc flag on for the
// moment it takes to make one node:vm context: the flag is the process's, so the caller makes
// sure no other thread makes a context meanwhile.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** What V8's gc() takes (its GCExtension): a major, synchronous, memory-reducing collection here. */
interface GcOptions {
  readonly type: 'major';
  readonly execution: 'sync';
  /** 'last-resort': V8's CollectAllAvailableGarbage, which also gives freed pages back. */
  readonly flavor: 'last-resort';
}

export function takeGc(): () => void {
  // Another thread taking its own may switch the flag off between the two calls, so a few tries.
  for (let tries = 0; tries < 10; tries++) {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('typeof gc === "function" ? gc : undefined') as ((options: GcOptions) => void) | undefined;
    setFlagsFromString('--no-expose-gc');
    if (gc !== undefined) return () => gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  }
  throw new Error("V8's gc() could not be taken for this thread");
}

