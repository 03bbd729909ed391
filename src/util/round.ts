/**
 * Rounding as the Python references do it, in one place: the model families size channels with
 * Python's round(), torchvision's CenterCrop places the crop with it, and timm rounds its results
 * tables to 4 decimals.
 */

/** Python 3's round(x): halves go to the even neighbour (round(2.5) == 2, round(3.5) == 4). */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** A result figure as timm's results tables print it: 4 decimals. */
export function round4(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}
