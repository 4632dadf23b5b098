// Latency percentiles from an HDR histogram (hdr-histogram-js): every sample is kept at
// three significant digits, so p99 and max are exact to 0.1 % whatever the sample count,
// where a sorted array would cost memory per sample in the long profiles.
import hdr from 'hdr-histogram-js';

/** Percentiles of one set of latencies, in milliseconds. With `count` 0 every figure is 0. */
export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Samples are recorded in microseconds: the resolution every figure here is reported to. */
const US_PER_MS = 1000;

export class LatencyRecorder {
  readonly #histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });

  /** Records one latency in ms; a negative one (clock noise below a microsecond) counts as 0. */
  record(ms: number): void {
    this.#histogram.recordValue(Math.max(0, Math.round(ms * US_PER_MS)));
  }

  get count(): number {
    return this.#histogram.totalCount;
  }

  summary(): LatencySummary {
    const h = this.#histogram;
    const at = (p: number): number => round(h.getValueAtPercentile(p) / US_PER_MS);
    if (h.totalCount === 0) return { count: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, maxMs: 0 };
    return {
      count: h.totalCount,
      meanMs: round(h.mean / US_PER_MS),
      p50Ms: at(50),
      p90Ms: at(90),
      p99Ms: at(99),
      maxMs: round(h.maxValue / US_PER_MS),
    };
  }
}

/** Three decimals: a microsecond, the histogram's resolution. */
export function round(value: number, decimals = 3): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}

/** a / b rounded, or null when b is 0 (no baseline figure to compare with). */
export function ratio(a: number, b: number): number | null {
  return b === 0 ? null : round(a / b);
}
