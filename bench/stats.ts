// Exact percentiles (nearest rank over every sample; the runs are small enough to keep them all).

export interface Summary {
  count: number;
  mean: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  p99_9: number;
  max: number;
}

const r2 = (value: number) => Math.round(value * 100) / 100;

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function summarize(samples: number[]): Summary {
  const sorted = Float64Array.from(samples).sort();
  if (sorted.length === 0) return { count: 0, mean: NaN, min: NaN, p50: NaN, p90: NaN, p99: NaN, p99_9: NaN, max: NaN };
  let total = 0;
  for (const value of sorted) total += value;
  return {
    count: sorted.length,
    mean: r2(total / sorted.length),
    min: r2(sorted[0]!),
    p50: r2(percentile(sorted, 50)),
    p90: r2(percentile(sorted, 90)),
    p99: r2(percentile(sorted, 99)),
    p99_9: r2(percentile(sorted, 99.9)),
    max: r2(sorted[sorted.length - 1]!),
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
