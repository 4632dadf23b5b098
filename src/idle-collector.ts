// IdleCollector: once a stretch of executions is over and none has been in flight for `idleMs`,
// the main thread runs one memory-reducing garbage collection (worker/heap.ts). V8 keeps the
// pages a load's garbage occupied in a pool of its own and gives them back to the system only
// in such a collection, which nothing else starts while the service is idle: after a burst of
// 10,000 trivial executions they were about 65 MiB of resident memory here. Checked every third
// of `idleMs`; at most one collection per stretch of work (docs/API.md "Memory after load").
import { collectHeap } from '../worker/heap.js';

export class IdleCollector {
  readonly #idleMs: number;
  readonly #busy: () => boolean;
  readonly #collect: () => void;
  readonly #timer: NodeJS.Timeout;
  /** Work was submitted since the last collection. */
  #worked = false;
  #lastBusy = Date.now();
  #collections = 0;

  /** `busy`: whether any execution is queued or running now. */
  constructor(idleMs: number, busy: () => boolean, collect: () => void = () => collectHeap()) {
    this.#idleMs = idleMs;
    this.#busy = busy;
    this.#collect = collect;
    this.#timer = setInterval(() => this.#check(), Math.ceil(idleMs / 3));
    this.#timer.unref();
  }

  /** An execution was submitted. */
  worked(): void {
    this.#worked = true;
    this.#lastBusy = Date.now();
  }

  /** Collections so far. */
  get collections(): number {
    return this.#collections;
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #check(): void {
    const now = Date.now();
    if (this.#busy()) {
      this.#lastBusy = now;
      return;
    }
    if (!this.#worked || now - this.#lastBusy < this.#idleMs) return;
    this.#worked = false;
    this.#collections += 1;
    this.#collect();
  }
}
