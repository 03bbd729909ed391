/**
 * Eval-mode BatchNorm folded into the layer before it, the same arithmetic for every engine (the
 * ONNX lowering and the TF.js lowering and exporters), in double precision and rounded to float32
 * once by the caller: scale = gamma / sqrt(var + eps), shift = beta - mean * scale, then
 * w' = w * scale[o], b' = b * scale[o] + shift[o].
 */

/** Per-channel y = x * scale + shift, computed in double precision. */
export interface Affine {
  readonly scale: Float64Array;
  readonly shift: Float64Array;
}

/** Eval-mode BatchNorm as an affine map. */
export function batchNormAffine(
  gamma: Float32Array,
  beta: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  eps: number,
): Affine {
  const c = gamma.length;
  const scale = new Float64Array(c);
  const shift = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    const s = gamma[i]! / Math.sqrt(variance[i]! + eps);
    scale[i] = s;
    shift[i] = beta[i]! - mean[i]! * s;
  }
  return { scale, shift };
}

/**
 * A weight [out, ...] (a conv's OIHW, a linear's [out, in]) and its bias after folding an optional
 * following BatchNorm, layout unchanged, in double precision (b = 0 when the layer has none).
 * Returns a bias whenever there was one or a BN was folded.
 */
export function foldBatchNorm(
  weight: Float32Array,
  cout: number,
  bias: Float32Array | undefined,
  bn: Affine | undefined,
): { weight: Float64Array; bias: Float64Array | undefined } {
  const per = weight.length / cout;
  const w = new Float64Array(weight.length);
  for (let i = 0; i < weight.length; i++) w[i] = weight[i]!;
  if (!bn) return { weight: w, bias: bias ? Float64Array.from(bias) : undefined };
  const b = new Float64Array(cout);
  for (let o = 0; o < cout; o++) {
    const s = bn.scale[o]!;
    for (let i = o * per; i < (o + 1) * per; i++) w[i] = w[i]! * s;
    b[o] = (bias ? bias[o]! : 0) * s + bn.shift[o]!;
  }
  return { weight: w, bias: b };
}
