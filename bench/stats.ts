// Percentiles of a sample, by sorting it (samples here are at most a few million numbers).

export interface Spread {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** The nearest-rank percentiles of `values`; all NaN for an empty sample. */
export function spread(values: readonly number[]): Spread {
  const sorted = Float64Array.from(values).sort();
  const at = (p: number): number => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);
  return { count: sorted.length, p50: at(50), p90: at(90), p99: at(99), max: at(100) };
}

/** "p50 / p90 / p99 / max" in milliseconds with one decimal. */
export function formatSpread(s: Spread): string {
  const ms = (value: number): string => (Number.isNaN(value) ? '-' : value.toFixed(1));
  return `${ms(s.p50)} / ${ms(s.p90)} / ${ms(s.p99)} / ${ms(s.max)}`;
}
