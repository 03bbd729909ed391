/**
 * Host-side weight preparation for the tfjs engine: PyTorch layouts (OIHW convs, [out, in]
 * linears) become TensorFlow's (HWIO, depthwise HWCM, [in, out]) once at load, after the BatchNorm
 * fold (engines/batchnorm.ts). Pure arithmetic on typed arrays, no tfjs, so it can be tested and
 * reasoned about on its own.
 */

/** A float32 array with its shape, in the layout the tfjs op wants. */
export interface Prepared {
  readonly shape: number[];
  readonly data: Float32Array;
}

/**
 * OIHW rows [o0, o1) -> HWIO [kh, kw, I, o1 - o0]: the filter of conv2d (one group of a grouped
 * conv when o0..o1 is the group's output channels).
 */
export function toHWIO(w: Float64Array, [, cin, kh, kw]: readonly number[], o0: number, o1: number): Prepared {
  const I = cin!;
  const H = kh!;
  const W = kw!;
  const O = o1 - o0;
  const out = new Float32Array(H * W * I * O);
  for (let o = 0; o < O; o++) {
    for (let i = 0; i < I; i++) {
      for (let h = 0; h < H; h++) {
        for (let x = 0; x < W; x++) {
          out[((h * W + x) * I + i) * O + o] = w[(((o0 + o) * I + i) * H + h) * W + x]!;
        }
      }
    }
  }
  return { shape: [H, W, I, O], data: out };
}

/**
 * Depthwise OIHW [C * m, 1, kh, kw] -> [kh, kw, C, m]. PyTorch's output channel c * m + j reads
 * input channel c, which is exactly tf.depthwiseConv2d's channel-multiplier order.
 */
export function toDepthwise(w: Float64Array, [cout, , kh, kw]: readonly number[], cin: number): Prepared {
  const H = kh!;
  const W = kw!;
  const m = cout! / cin;
  const out = new Float32Array(H * W * cin * m);
  for (let c = 0; c < cin; c++) {
    for (let j = 0; j < m; j++) {
      for (let h = 0; h < H; h++) {
        for (let x = 0; x < W; x++) {
          out[((h * W + x) * cin + c) * m + j] = w[((c * m + j) * H + h) * W + x]!;
        }
      }
    }
  }
  return { shape: [H, W, cin, m], data: out };
}

/**
 * A grouped conv (groups g, cin/g = ci, cout/g = co) as one depthwise conv with channel multiplier
 * co: filter [kh, kw, cin, co] with F[.., G*ci + i, j] = w[G*co + j, i, ..]. Its output channel
 * (G*ci + i)*co + j holds group G's input i's contribution to output j, so summing over i gives
 * the grouped conv exactly, with no wasted multiply-adds and no per-group channel slicing.
 */
export function toGroupedDepthwise(w: Float64Array, [cout, ci, kh, kw]: readonly number[], groups: number): Prepared {
  const CI = ci!;
  const H = kh!;
  const W = kw!;
  const co = cout! / groups;
  const cin = CI * groups;
  const out = new Float32Array(H * W * cin * co);
  for (let g = 0; g < groups; g++) {
    for (let j = 0; j < co; j++) {
      for (let i = 0; i < CI; i++) {
        for (let h = 0; h < H; h++) {
          for (let x = 0; x < W; x++) {
            out[((h * W + x) * cin + g * CI + i) * co + j] = w[(((g * co + j) * CI + i) * H + h) * W + x]!;
          }
        }
      }
    }
  }
  return { shape: [H, W, cin, co], data: out };
}

/** Linear [out, in] -> [in, out], so y = x W + b is a plain matMul. */
export function transposeLinear(w: Float32Array, [out, inp]: readonly number[]): Prepared {
  const O = out!;
  const I = inp!;
  const t = new Float32Array(O * I);
  for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) t[i * O + o] = w[o * I + i]!;
  return { shape: [I, O], data: t };
}

export function slice32(v: Float64Array, start: number, end: number): Float32Array {
  return Float32Array.from(v.subarray(start, end));
}

/**
 * ShuffleNet's channel shuffle as a gather index: view(N, g, C/g, ...).transpose(1, 2) puts input
 * channel i * (C/g) + j at output j * g + i.
 */
export function channelShuffleIndex(channels: number, groups: number): Int32Array {
  const per = channels / groups;
  const index = new Int32Array(channels);
  for (let i = 0; i < groups; i++) for (let j = 0; j < per; j++) index[j * groups + i] = i * per + j;
  return index;
}

/**
 * For an average pool that excludes padding (count_include_pad=False) computed as a zero-padded
 * 'valid' pool (which divides by kh * kw): the factor kh * kw / (cells inside the image) per output
 * position, [oh, ow].
 */
export function excludePadFactor(
  [h, w]: readonly [number, number],
  [kh, kw]: readonly [number, number],
  [sh, sw]: readonly [number, number],
  [top, left, bottom, right]: readonly [number, number, number, number],
): Prepared {
  const oh = Math.floor((h + top + bottom - kh) / sh) + 1;
  const ow = Math.floor((w + left + right - kw) / sw) + 1;
  const out = new Float32Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    const y0 = Math.max(y * sh - top, 0);
    const y1 = Math.min(y * sh - top + kh, h);
    for (let x = 0; x < ow; x++) {
      const x0 = Math.max(x * sw - left, 0);
      const x1 = Math.min(x * sw - left + kw, w);
      out[y * ow + x] = (kh * kw) / ((y1 - y0) * (x1 - x0));
    }
  }
  return { shape: [oh, ow], data: out };
}
