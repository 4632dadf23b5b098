// One isolate of a worker thread, with the bootstrap compiled in it and the queue of calls
// into it. It serves one execution at a time: made fresh as a spare (no owner yet), then it
// belongs to the owner of the first execution it serves, and only that owner's next
// executions may have it again (isolate-pool.ts decides when).
import ivm from 'isolated-vm';
import { BOOTSTRAP_SOURCE } from './bootstrap.js';
import { holdingContextLock } from './context-lock.js';
import { PREPARER_SOURCE, type PreparedProgram } from './program.js';

/** Told when isolated-vm reports a fatal V8 error in the isolate, or a call never returned. */
export type CatastropheListener = (host: IsolateHost, message: string) => void;

/** Told, once, that the isolate serving an execution was set aside: the execution ends with it. */
export type LostListener = (message: string) => void;

export class IsolateHost {
  readonly isolate: ivm.Isolate;
  readonly #bootstrap: ivm.Script;
  readonly #onCatastrophe: CatastropheListener;
  /** The rewrite of program.ts in a context of its own, made at its first use. */
  #preparer: ivm.Reference<(original: string) => PreparedProgram> | undefined;
  #onLost: LostListener | undefined;
  #owner: string | undefined;
  /** A fresh context made ahead, while the isolate waited (isolate-pool.ts), for its next execution. */
  #ready: ivm.Context | undefined;
  #tail: Promise<void> = Promise.resolve();
  #busy = false;
  #idleSince = Date.now();
  #disposedByHost = false;
  #quarantined = false;

  constructor(memoryMb: number, onCatastrophe: CatastropheListener) {
    this.#onCatastrophe = onCatastrophe;
    // Without onCatastrophicError, a fatal V8 error inside the isolate aborts the whole process.
    // With it, isolated-vm parks the isolate's thread for good instead and calls us back.
    // Every isolate and context of the process is made holding the context lock (context-lock.ts).
    this.isolate = holdingContextLock(() => new ivm.Isolate({ memoryLimit: memoryMb, onCatastrophicError: (message) => this.#onCatastrophe(this, message) }));
    this.#bootstrap = this.isolate.compileScriptSync(BOOTSTRAP_SOURCE);
  }

  get bootstrap(): ivm.Script {
    return this.#bootstrap;
  }

  /**
   * Rewrites a program (program.ts) inside this isolate, every step bounded by `timeout` like
   * any call into it. The first use loads acorn into a context of its own, which the isolate
   * keeps; no program runs in that context. Call it from a job of the queue.
   */
  async prepare(original: string, timeout: number): Promise<PreparedProgram> {
    if (this.#preparer === undefined) {
      const script = await this.isolate.compileScript(PREPARER_SOURCE);
      const context = this.#newContext();
      this.#preparer = await script.run(context, { reference: true, timeout }) as ivm.Reference<(original: string) => PreparedProgram>;
      script.release();
    }
    return await this.#preparer.apply(undefined, [original], { timeout, result: { copy: true } }) as PreparedProgram;
  }

  /**
   * Makes the fresh context of the next execution now, off the request's path: the isolate is
   * idle (a spare, or kept for its owner). Nothing runs in it until an execution takes it.
   * False when it was not idle any more, or had one.
   */
  prepareContext(): boolean {
    if (this.#ready !== undefined || this.#busy || !this.usable) return false;
    this.#ready = this.#newContext();
    return true;
  }

  /** A fresh context for the execution being installed: the one made ahead, or a new one. */
  takeContext(): ivm.Context {
    const ready = this.#ready;
    this.#ready = undefined;
    return ready ?? this.#newContext();
  }

  #newContext(): ivm.Context {
    return holdingContextLock(() => this.isolate.createContextSync());
  }

  /** The user whose executions this isolate serves; undefined while it is a spare. */
  get owner(): string | undefined {
    return this.#owner;
  }

  /** Gives the isolate to `owner`'s execution; a spare becomes theirs for good. */
  claim(owner: string, onLost: LostListener): void {
    if (this.#owner !== undefined && this.#owner !== owner) throw new Error('an isolate serves one user only');
    this.#owner = owner;
    this.#onLost = onLost;
    this.#busy = true;
  }

  /** The execution it served has ended and its context is released. */
  unclaim(): void {
    this.#onLost = undefined;
    this.#busy = false;
    this.#idleSince = Date.now();
  }

  idleFor(now: number): number {
    return this.#busy ? 0 : now - this.#idleSince;
  }

  /** True when this code disposed the isolate (a cancel, a limit, a shutdown), not the heap limit. */
  get disposedByHost(): boolean {
    return this.#disposedByHost;
  }

  /** True once a catastrophic error parked the isolate: no call into it will ever return. */
  get quarantined(): boolean {
    return this.#quarantined;
  }

  get usable(): boolean {
    return !this.isolate.isDisposed && !this.#quarantined;
  }

  /** Its heap, and what it allocated outside the heap (array buffers), in bytes. */
  heapBytes(): number {
    const heap = this.isolate.getHeapStatisticsSync();
    return heap.total_heap_size + heap.externally_allocated_size;
  }

  /**
   * Runs the tasks V8 left in the isolate's queue while it sat idle: isolated-vm runs them only
   * when a call enters the isolate, so an isolate that waits for long keeps them that long. One of
   * them matters to the whole process: 8 s after an isolate is disposed, V8 hands the release of
   * the heap pages it gave back to the process's shared pool to some other live isolate, as a task
   * (V8 13's PagePool); until it runs, the memory of every isolate disposed since stays resident.
   */
  runPendingTasks(): void {
    if (this.#busy || !this.usable) return;
    void this.enqueue(async () => {
      await this.isolate.getHeapStatistics();
    }).catch(() => undefined);
  }

  dispose(): void {
    if (this.isolate.isDisposed || this.#quarantined) return;
    this.#disposedByHost = true;
    this.isolate.dispose();
  }

  /** Settles once every call queued so far has finished (a disposed isolate fails them fast). */
  settled(): Promise<void> {
    return this.#tail;
  }

  /** Runs `job` after every call queued before it; skipped once the isolate is gone. */
  enqueue(job: () => Promise<void> | void): Promise<void> {
    const next = this.#tail.then(async () => {
      if (this.isolate.isDisposed) return;
      await job();
    });
    this.#tail = next.catch(() => undefined);
    return next;
  }

  /** A call that never returned, and no catastrophic error was reported: treated as one. */
  stuck(message: string): void {
    this.#onCatastrophe(this, message);
  }

  /**
   * After a catastrophic error: the call in flight never returns and the isolate cannot be
   * disposed (its thread holds it), so it is left alone for good, and the execution it serves
   * is told. False when it was already.
   */
  quarantine(message: string): boolean {
    if (this.#quarantined) return false;
    this.#quarantined = true;
    const lost = this.#onLost;
    this.#onLost = undefined;
    lost?.(message);
    return true;
  }
}
