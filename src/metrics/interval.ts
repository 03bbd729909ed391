/**
 * 95% confidence interval of an accuracy measured on a subset: the Wilson score interval, which
 * (unlike the normal approximation) stays inside [0, 100] and behaves at accuracies near 0 or 100
 * and for small n. A full val run has no sampling error against the val set; the interval says how
 * far a subset's number may sit from the full-set one by chance.
 */
export const Z95 = 1.959963984540054;

export interface Interval {
  low: number;
  high: number;
}

/** `hits` of `n` as a percentage interval. */
export function wilsonInterval(hits: number, n: number, z = Z95): Interval {
  if (n <= 0) return { low: 0, high: 100 };
  const p = hits / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  // At p = 0 or 1 the bound is exactly 0 or 100; float rounding would leave 99.999...
  const low = hits <= 0 ? 0 : 100 * Math.max(0, centre - half);
  const high = hits >= n ? 100 : 100 * Math.min(1, centre + half);
  return { low, high };
}

export function contains(i: Interval, value: number): boolean {
  return value >= i.low && value <= i.high;
}
