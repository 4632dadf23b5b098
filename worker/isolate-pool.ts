// The isolates of one worker thread: warm spares, made off the request path and owned by no
// one, and isolates kept for the user whose execution last ended cleanly in them.
//
//   take(owner) ──► that owner's kept isolate (newest first) ─► else a spare ─► else a new one
//   give back  ──► clean end, small heap: kept for the owner ─► else disposed
//
// Every running execution has an isolate of its own, so nothing that ends one execution (a
// limit, a memory bomb, a cancel, a fatal V8 error) can touch another. Kept isolates are never
// lent to another user. Past `kept`, the isolate idle the longest is disposed, and so is any
// idle for `idleMs`, found by a sweep every third of that, which also enters every idle isolate
// for the tasks V8 left in it (IsolateHost.runPendingTasks); the first sweep that then finds
// none kept and none busy, after executions ran, tells `onQuiet` (the thread collects its heap).
// The heap of all of them together is held to `budgetMb`: measured whenever a call into one
// returns (overBudget), and made room for by disposing idle ones first.
import { IsolateHost, type CatastropheListener } from './isolate-host.js';
import type { IsolateCensus } from './protocol.js';

export interface IsolatePoolOptions {
  /** Heap limit of each isolate, in MiB. */
  readonly memoryMb: number;
  /** Spares kept ready (CHARIOT_SPARE_ISOLATES). */
  readonly spares: number;
  /** Isolates kept for their owners' next executions, at most, in this worker. */
  readonly kept: number;
  /** A kept isolate idle this long is disposed (CHARIOT_ISOLATE_IDLE_MS). */
  readonly idleMs: number;
  /** Heap of all this worker's isolates together, in MiB (its share of CHARIOT_SANDBOX_MEMORY_MB). */
  readonly budgetMb: number;
}

/** Heap of an isolate, in bytes, at or under which it may serve its owner's next execution. */
export const REUSE_HEAP_BYTES = 8 * 1024 * 1024;
const MIB = 1024 * 1024;

export class IsolatePool {
  readonly #options: IsolatePoolOptions;
  readonly #onCatastrophe: CatastropheListener;
  readonly #spares: IsolateHost[] = [];
  /** Kept isolates by owner, the most recently used last. */
  readonly #kept = new Map<string, IsolateHost[]>();
  /** Every kept isolate, the one idle longest first. */
  readonly #keptOrder = new Set<IsolateHost>();
  /** Isolates serving an execution now. */
  readonly #busy = new Set<IsolateHost>();
  /** Disposed isolates whose last calls may still be settling. */
  readonly #retired = new Set<IsolateHost>();
  /** Every live isolate's heap as last measured, in bytes, and their sum. */
  readonly #heap = new Map<IsolateHost, number>();
  #heapTotal = 0;
  readonly #sweep: NodeJS.Timeout;
  #refill: NodeJS.Immediate | undefined;
  /** Idle isolates whose next context is still to be made, one per turn of the event loop. */
  readonly #unprepared = new Set<IsolateHost>();
  #prepare: NodeJS.Immediate | undefined;
  #closed = false;
  readonly #onQuiet: () => void;
  /** An isolate was taken since the pool was last found quiet. */
  #takenSinceQuiet = false;
  #quiets = 0;

  /**
   * `onCatastrophe` hears of each isolate parked by a fatal error, once; `onQuiet`, of each sweep
   * that finds no isolate kept, busy or still settling after some were taken since the last one.
   */
  constructor(options: IsolatePoolOptions, onCatastrophe: CatastropheListener, onQuiet: () => void = () => undefined) {
    this.#options = options;
    this.#onCatastrophe = onCatastrophe;
    this.#onQuiet = onQuiet;
    this.#sweep = setInterval(() => this.#sweepIdle(), Math.ceil(options.idleMs / 3));
    this.#sweep.unref();
    this.#scheduleRefill();
  }

  /** An isolate of `owner`'s, for one execution: kept, spare or new, in that order. */
  take(owner: string, memoryMb: number): IsolateHost {
    const kept = this.#kept.get(owner);
    let host = kept?.pop();
    if (host !== undefined) {
      this.#keptOrder.delete(host);
      if (kept!.length === 0) this.#kept.delete(owner);
    } else if (memoryMb === this.#options.memoryMb && this.#spares.length > 0) {
      host = this.#spares.shift()!;
      this.#scheduleRefill();
    } else {
      host = this.#create(memoryMb);
    }
    this.#busy.add(host);
    this.#takenSinceQuiet = true;
    return host;
  }

  /** How many isolates it holds, by role, and how many times it was found quiet. */
  get census(): IsolateCensus {
    return { busy: this.#busy.size, kept: this.#keptOrder.size, spares: this.#spares.length, quiets: this.#quiets };
  }

  /**
   * The execution served by `host` has ended and its context is released. A clean end (the
   * program settled, no limit hit, nothing left pending) with a small heap keeps the isolate
   * for the same owner; anything else disposes it.
   */
  giveBack(host: IsolateHost, clean: boolean): void {
    this.#busy.delete(host);
    host.unclaim();
    if (host.quarantined) return;
    const owner = host.owner;
    if (!clean || this.#closed || owner === undefined || !host.usable || this.#measure(host) > REUSE_HEAP_BYTES) return this.#retire(host);
    let kept = this.#kept.get(owner);
    if (kept === undefined) this.#kept.set(owner, (kept = []));
    kept.push(host);
    this.#keptOrder.add(host);
    if (this.#keptOrder.size > this.#options.kept) this.#evict(this.#keptOrder.values().next().value!);
    this.#schedulePrepare(host);
  }

  /**
   * Measures `host` (whose call has just returned) and tells whether this worker's isolates
   * together are over its budget. Spares and kept isolates are disposed first, the one idle
   * longest first; true when the isolates serving executions are still over it without them.
   */
  overBudget(host: IsolateHost): boolean {
    if (!host.usable) return false;
    this.#measure(host);
    const budget = this.#options.budgetMb * MIB;
    while (this.#heapTotal > budget && this.#spares.length > 0) this.#retire(this.#spares.pop()!);
    for (const kept of this.#keptOrder) {
      if (this.#heapTotal <= budget) break;
      this.#evict(kept);
    }
    return this.#heapTotal > budget;
  }

  /**
   * Disposes every isolate (none is made again) and resolves once every call into them has
   * settled, and one more turn of the event loop for the failure callbacks of those calls.
   */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweep);
    clearImmediate(this.#refill);
    clearImmediate(this.#prepare);
    this.#unprepared.clear();
    for (const host of [...this.#spares, ...this.#keptOrder, ...this.#busy]) this.#retire(host);
    this.#spares.length = 0;
    this.#kept.clear();
    this.#keptOrder.clear();
    this.#busy.clear();
    await Promise.all([...this.#retired].map((host) => host.settled()));
    await new Promise((resolve) => setImmediate(resolve));
  }

  #create(memoryMb: number): IsolateHost {
    const host = new IsolateHost(memoryMb, (failed, message) => this.#catastrophe(failed, message));
    this.#measure(host);
    return host;
  }

  /** Reads an isolate's heap now (it is idle: no call of its is running) and counts it. */
  #measure(host: IsolateHost): number {
    const bytes = host.heapBytes();
    this.#heapTotal += bytes - (this.#heap.get(host) ?? 0);
    this.#heap.set(host, bytes);
    return bytes;
  }

  /** Stops counting an isolate that was disposed or set aside. */
  #forget(host: IsolateHost): void {
    this.#heapTotal -= this.#heap.get(host) ?? 0;
    this.#heap.delete(host);
  }

  /** Tops the spares up, one per turn of the event loop, so that no request waits behind many. */
  #scheduleRefill(): void {
    if (this.#closed || this.#refill !== undefined || this.#spares.length >= this.#options.spares) return;
    this.#refill = setImmediate(() => {
      this.#refill = undefined;
      if (this.#closed || this.#spares.length >= this.#options.spares) return;
      const spare = this.#create(this.#options.memoryMb);
      this.#spares.push(spare);
      this.#schedulePrepare(spare);
      this.#scheduleRefill();
    });
  }

  /**
   * Makes `host`'s next context in a later turn of the event loop, one isolate per turn (about
   * 0.4 ms each), so that no request waits behind many; one taken meanwhile makes its own.
   */
  #schedulePrepare(host: IsolateHost): void {
    this.#unprepared.add(host);
    if (this.#closed || this.#prepare !== undefined) return;
    this.#prepare = setImmediate(() => {
      this.#prepare = undefined;
      const [next] = this.#unprepared;
      if (next === undefined || this.#closed) return;
      this.#unprepared.delete(next);
      // Measured only while idle: a heap read waits for a call in flight.
      if (next.prepareContext()) this.#measure(next);
      if (this.#unprepared.size > 0) this.#schedulePrepare(this.#unprepared.values().next().value!);
    });
  }

  #catastrophe(host: IsolateHost, message: string): void {
    // A cancel may have retired it a moment before: its calls will never settle, so nothing may
    // wait for them (close() waits for the retired).
    if (!host.quarantine(message)) return;
    // Its heap stays in use for good, outside the budget (the quarantine limit bounds it).
    this.#forget(host);
    this.#retired.delete(host);
    this.#busy.delete(host);
    this.#onCatastrophe(host, message);
  }

  #evict(host: IsolateHost): void {
    this.#keptOrder.delete(host);
    const kept = this.#kept.get(host.owner!);
    if (kept !== undefined) {
      kept.splice(kept.indexOf(host), 1);
      if (kept.length === 0) this.#kept.delete(host.owner!);
    }
    this.#retire(host);
  }

  /** Disposes an isolate and keeps it until its last call has settled. */
  #retire(host: IsolateHost): void {
    if (host.quarantined) return;
    this.#forget(host);
    host.dispose();
    if (this.#retired.has(host)) return;
    this.#retired.add(host);
    void host.settled().then(() => this.#retired.delete(host));
  }

  #sweepIdle(): void {
    const now = Date.now();
    for (const host of [...this.#keptOrder]) {
      if (host.idleFor(now) >= this.#options.idleMs) this.#evict(host);
    }
    for (const host of [...this.#spares, ...this.#keptOrder]) host.runPendingTasks();
    if (!this.#takenSinceQuiet || this.#busy.size > 0 || this.#keptOrder.size > 0 || this.#retired.size > 0) return;
    this.#takenSinceQuiet = false;
    this.#quiets += 1;
    this.#onQuiet();
  }
}
