// The isolates of one worker thread: warm spares, made off the request path and owned by no
// one, and isolates kept for the user whose execution last ended cleanly in them.
//
//   take(owner) ──► that owner's kept isolate (newest first) ─► else a spare ─► else a new one
//   give back  ──► clean end, small heap: kept for the owner ─► else disposed
//
// Every running execution has an isolate of its own, so nothing that ends one execution (a
// limit, a memory bomb, a cancel, a fatal V8 error) can touch another. Kept isolates are never
// lent to another user. Past `kept`, the isolate idle the longest is disposed, and so is any
// idle for IDLE_MS.
import { IsolateHost, type CatastropheListener } from './isolate-host.js';

export interface IsolatePoolOptions {
  /** Heap limit of each isolate, in MiB. */
  readonly memoryMb: number;
  /** Spares kept ready (CHARIOT_SPARE_ISOLATES). */
  readonly spares: number;
  /** Isolates kept for their owners' next executions, at most, in this worker. */
  readonly kept: number;
}

/** An isolate kept for its owner is disposed after this long without an execution. */
const IDLE_MS = 60_000;

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
  readonly #sweep: NodeJS.Timeout;
  #refill: NodeJS.Immediate | undefined;
  #closed = false;

  /** `onCatastrophe` hears of each isolate parked by a fatal error, once. */
  constructor(options: IsolatePoolOptions, onCatastrophe: CatastropheListener) {
    this.#options = options;
    this.#onCatastrophe = onCatastrophe;
    this.#sweep = setInterval(() => this.#disposeIdle(), IDLE_MS / 2);
    this.#sweep.unref();
    this.#scheduleRefill();
  }

  /** Spares ready now. */
  get spares(): number {
    return this.#spares.length;
  }

  /** Isolates kept for their owners now. */
  get kept(): number {
    return this.#keptOrder.size;
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
    return host;
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
    if (!clean || this.#closed || owner === undefined || !host.usable || !host.small) return this.#retire(host);
    let kept = this.#kept.get(owner);
    if (kept === undefined) this.#kept.set(owner, (kept = []));
    kept.push(host);
    this.#keptOrder.add(host);
    if (this.#keptOrder.size > this.#options.kept) this.#evict(this.#keptOrder.values().next().value!);
  }

  /**
   * Disposes every isolate (none is made again) and resolves once every call into them has
   * settled, and one more turn of the event loop for the failure callbacks of those calls.
   */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweep);
    clearImmediate(this.#refill);
    for (const host of [...this.#spares, ...this.#keptOrder, ...this.#busy]) this.#retire(host);
    this.#spares.length = 0;
    this.#kept.clear();
    this.#keptOrder.clear();
    this.#busy.clear();
    await Promise.all([...this.#retired].map((host) => host.settled()));
    await new Promise((resolve) => setImmediate(resolve));
  }

  #create(memoryMb: number): IsolateHost {
    return new IsolateHost(memoryMb, (host, message) => this.#catastrophe(host, message));
  }

  /** Tops the spares up, one per turn of the event loop, so that no request waits behind many. */
  #scheduleRefill(): void {
    if (this.#closed || this.#refill !== undefined || this.#spares.length >= this.#options.spares) return;
    this.#refill = setImmediate(() => {
      this.#refill = undefined;
      if (this.#closed || this.#spares.length >= this.#options.spares) return;
      this.#spares.push(this.#create(this.#options.memoryMb));
      this.#scheduleRefill();
    });
  }

  #catastrophe(host: IsolateHost, message: string): void {
    // A cancel may have retired it a moment before: its calls will never settle, so nothing may
    // wait for them (close() waits for the retired).
    if (!host.quarantine(message)) return;
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
    host.dispose();
    if (this.#retired.has(host)) return;
    this.#retired.add(host);
    void host.settled().then(() => this.#retired.delete(host));
  }

  #disposeIdle(): void {
    const now = Date.now();
    for (const host of [...this.#keptOrder]) {
      if (host.idleFor(now) >= IDLE_MS) this.#evict(host);
    }
  }
}
