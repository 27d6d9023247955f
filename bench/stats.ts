/** The nearest-rank percentile: a value that was really measured, never an interpolation. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) throw new Error('percentile of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export type Spread = { n: number; p50: number; min: number; max: number };

/** Median and range, rounded to 0.1 ms: what a small sample (tens of page loads) can support. */
export function spread(samples: number[]): Spread {
  const round = (value: number) => Math.round(value * 10) / 10;
  return { n: samples.length, p50: round(percentile(samples, 50)), min: round(Math.min(...samples)), max: round(Math.max(...samples)) };
}
