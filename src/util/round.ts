/**
 * Rounding as the Python references do it, in one place: the model families size channels with
 * Python's round(), torchvision's CenterCrop places the crop with it, and timm rounds its results
 * tables to 4 decimals (round(x, 4)) and prints accuracies with `{:.3f}`. A figure is rounded once,
 * from the measured value: a table never re-rounds a JSON figure (86.79245 is 86.7925 in the JSON
 * and 86.792 in the table, as timm prints it, not 86.793).
 */

/** Python 3's round(x): halves go to the even neighbour (round(2.5) == 2, round(3.5) == 4). */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Python's format(x, `.{digits}f`): the exact binary value rounded to `digits` decimals, an exact
 * tie to the even neighbour. toFixed rounds the same except on exact ties, which it takes away from
 * zero ((0.0625).toFixed(3) is 0.063, Python's 0.062): an accuracy of 1 in 1,600 images is one.
 */
export function fixed(x: number, digits: number): string {
  const s = x.toFixed(digits);
  // A tie needs a value of at least 10^-(digits+1), whose exact expansion fits in toFixed's 100
  // places for digits up to 10; beyond that (or 1e21 and up, or NaN) toFixed is all there is.
  const a = Math.abs(x);
  if (!(a >= 10 ** -(digits + 1)) || a >= 1e21 || digits > 10) return s;
  const exact = a.toFixed(100);
  const point = exact.indexOf('.');
  const rest = exact.slice(point + 1 + digits);
  if (!/^50*$/.test(rest)) return s;
  const kept = exact.slice(0, digits === 0 ? point : point + 1 + digits);
  if (Number(kept[kept.length - 1]) % 2 !== 0) return s;
  return (x < 0 ? '-' : '') + kept;
}

/** Python's round(x, digits). */
export function roundTo(x: number, digits: number): number {
  return Number(fixed(x, digits));
}

/** A result figure as timm's results tables hold it: round(x, 4). */
export function round4(v: number): number {
  return roundTo(v, 4);
}
