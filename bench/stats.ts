// Percentiles of a sample, through the harness's HDR histogram (bench/lib/histogram.ts).
import { LatencyRecorder } from './lib/histogram.js';

export interface Spread {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** The percentiles of `values` (ms, to the microsecond); all NaN for an empty sample. */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { count: 0, p50: Number.NaN, p90: Number.NaN, p99: Number.NaN, max: Number.NaN };
  const recorder = new LatencyRecorder();
  for (const value of values) recorder.record(value);
  const { count, p50Ms, p90Ms, p99Ms, maxMs } = recorder.summary();
  return { count, p50: p50Ms, p90: p90Ms, p99: p99Ms, max: maxMs };
}

/** "p50 / p90 / p99 / max" in milliseconds with one decimal. */
export function formatSpread(s: Spread): string {
  const ms = (value: number): string => (Number.isNaN(value) ? '-' : value.toFixed(1));
  return `${ms(s.p50)} / ${ms(s.p90)} / ${ms(s.p99)} / ${ms(s.max)}`;
}
