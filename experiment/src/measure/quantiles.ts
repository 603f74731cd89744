/**
 * The q-quantile of `values` by linear interpolation between the closest ranks (numpy's default, "linear"):
 * position (n − 1)·q in the sorted values. The median of an even count is the mean of the middle two.
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Median and 90th percentile. */
export function medianP90(values: readonly number[]): { median: number; p90: number } {
  return { median: quantile(values, 0.5), p90: quantile(values, 0.9) };
}
