// A wall clock with sub-millisecond resolution, comparable with Date.now() in the isolates.
//
// Log latency is the time from an entry's `timestamp` (Date.now() read inside the isolate:
// the host's wall clock, whole milliseconds) to the moment a client parsed it. Date.now()
// on the client side would add a second millisecond of truncation; performance.now() alone
// is monotonic but not the wall clock. So: wait for Date.now() to tick (that instant is a
// whole millisecond on the wall clock), pair it with performance.now(), and count from
// there. Calibrated afresh for each measurement, the drift between the two clocks over a
// few seconds is far below a microsecond per second of NTP slew.
import { performance } from 'node:perf_hooks';

export class WallClock {
  readonly #baseMs: number;
  readonly #basePerf: number;

  private constructor(baseMs: number, basePerf: number) {
    this.#baseMs = baseMs;
    this.#basePerf = basePerf;
  }

  /** Spins (at most a millisecond) until Date.now() ticks, and anchors the clock there. */
  static calibrate(): WallClock {
    const start = Date.now();
    let now = start;
    while (now === start) now = Date.now();
    return new WallClock(now, performance.now());
  }

  /** Milliseconds since the epoch, with the resolution of performance.now(). */
  now(): number {
    return this.#baseMs + (performance.now() - this.#basePerf);
  }
}
