// How fast slots free up: the mean time a run holds its slot, as a moving average of the latest
// runs (each weighs WEIGHT), from which a queue predicts how long a newcomer would wait: with
// every slot busy, `capacity` slots free up once per mean run time (Little's law), whatever the
// runs do meanwhile (a CPU-bound one sharing its thread holds its slot longer).
const WEIGHT = 0.1;

export class RunPace {
  #meanMs: number | undefined;

  /** A run held its slot for `ms`. */
  record(ms: number): void {
    this.#meanMs = this.#meanMs === undefined ? ms : this.#meanMs + WEIGHT * (ms - this.#meanMs);
  }

  /** Runs started per ms by `capacity` busy slots; undefined before any run ended (nothing to go by). */
  rate(capacity: number): number | undefined {
    return this.#meanMs === undefined ? undefined : capacity / Math.max(this.#meanMs, 0.01);
  }

  /** The predicted wait of the `position`-th in line, in whole ms; 0 with nothing to go by. */
  waitMs(position: number, capacity: number): number {
    const rate = this.rate(capacity);
    return rate === undefined ? 0 : Math.ceil(position / rate);
  }
}
