/**
 * A TypeScript port of Pillow's separable resampler (libImaging/Resample.c, 8 bits per channel), the
 * resize behind torchvision's `Resize` on PIL images and hence behind every published timm number.
 *
 * Bit-exactness comes from copying Pillow's arithmetic exactly: coefficients computed in double with
 * the filter support scaled by the shrink factor, normalised to sum 1, converted to 22-bit fixed point
 * with Pillow's round-half-away-from-zero; each pass accumulates in integers from 1 << 21 and clamps to
 * uint8 (`clip8`); the horizontal pass runs first, over only the source rows the vertical pass reads.
 *
 * Speed comes from computing only the output sub-rectangle that is kept (the centre crop): every output
 * pixel depends only on its own row and column coefficients, so resizing a sub-rectangle gives the same
 * bytes as resizing everything and cropping. Coefficient tables are cached per (filter, in, out) size and
 * the intermediate buffers are reused, so steady state allocates only the output image.
 *
 * The inner loops run in WebAssembly SIMD (resize-wasm.ts, wasm/resize.wat) where the engine has it,
 * with byte-identical output; the JavaScript loops below are the fallback and the differential
 * reference (`resizeRgbJs`). ZOO_RESIZE_JS=1 forces them.
 */
import type { RgbImage } from './decode.js';
import { wasmResampler } from './resize-wasm.js';

export type ResampleFilter = 'bicubic' | 'bilinear';

/** A rectangle of the resized image, in output pixels. */
export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

const PRECISION_BITS = 32 - 8 - 2;
const HALF = 1 << (PRECISION_BITS - 1);
const ONE = 1 << PRECISION_BITS;

function bicubic(x: number): number {
  // a = -0.5, written out as Pillow's macro expands.
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((-0.5 + 2.0) * x - (-0.5 + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * -0.5;
  return 0.0;
}

function bilinear(x: number): number {
  if (x < 0.0) x = -x;
  if (x < 1.0) return 1.0 - x;
  return 0.0;
}

const FILTERS: Record<ResampleFilter, { fn: (x: number) => number; support: number }> = {
  bicubic: { fn: bicubic, support: 2.0 },
  bilinear: { fn: bilinear, support: 1.0 },
};

/** Fixed-point coefficients for one axis: output i reads `count[i]` source pixels from `first[i]`. */
export interface AxisCoeffs {
  ksize: number;
  first: Int32Array;
  count: Int32Array;
  /** outSize * ksize fixed-point weights. */
  k: Int32Array;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for box (0, inSize). */
export function computeCoeffs(inSize: number, outSize: number, filter: ResampleFilter): AxisCoeffs {
  const f = FILTERS[filter];
  const scale = inSize / outSize; // (double)(in1 - in0) / outSize; in0 = 0 and in1 = inSize exactly in float
  const filterscale = scale < 1.0 ? 1.0 : scale;
  const support = f.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const k = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  const ss = 1.0 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let ww = 0.0;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    for (let x = 0; x < xmax; x++) {
      const v = f.fn((x + xmin - center + 0.5) * ss);
      w[x] = v;
      ww += v;
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0.0 ? w[x]! / ww : w[x]!;
      k[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
    }
    first[xx] = xmin;
    count[xx] = xmax;
  }
  return { ksize, first, count, k };
}

// Val images come in a handful of sizes, so a small cache serves nearly every image.
const coeffCache = new Map<string, AxisCoeffs>();
const COEFF_CACHE_MAX = 256;

function cachedCoeffs(inSize: number, outSize: number, filter: ResampleFilter): AxisCoeffs {
  const key = `${filter}:${inSize}:${outSize}`;
  let c = coeffCache.get(key);
  if (!c) {
    if (coeffCache.size >= COEFF_CACHE_MAX) coeffCache.delete(coeffCache.keys().next().value!);
    c = computeCoeffs(inSize, outSize, filter);
    coeffCache.set(key, c);
  }
  return c;
}

// Scratch reused across calls (grown when needed): the horizontal pass output, per-row tap offsets and weights.
let tmpBuf = new Uint8Array(0);
let rowsBuf = new Int32Array(0);
let tapsBuf = new Int32Array(0);

/**
 * Horizontal pass over source rows [y0, y1), output columns [x0, x0 + w): writes (y1 - y0) rows of
 * w RGB pixels to `dst`.
 */
function horizontal(
  src: Uint8Array,
  srcW: number,
  y0: number,
  y1: number,
  c: AxisCoeffs,
  x0: number,
  w: number,
  dst: Uint8Array,
): void {
  const { ksize, first, count, k } = c;
  const stride = srcW * 3;
  let o = 0;
  for (let y = y0; y < y1; y++) {
    const row = y * stride;
    for (let xx = x0; xx < x0 + w; xx++) {
      let p = row + first[xx]! * 3;
      const n = count[xx]!;
      let kp = xx * ksize;
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      for (let t = 0; t < n; t++, p += 3, kp++) {
        const kv = k[kp]!;
        s0 += src[p]! * kv;
        s1 += src[p + 1]! * kv;
        s2 += src[p + 2]! * kv;
      }
      s0 >>= PRECISION_BITS;
      s1 >>= PRECISION_BITS;
      s2 >>= PRECISION_BITS;
      dst[o] = s0 < 0 ? 0 : s0 > 255 ? 255 : s0;
      dst[o + 1] = s1 < 0 ? 0 : s1 > 255 ? 255 : s1;
      dst[o + 2] = s2 < 0 ? 0 : s2 > 255 ? 255 : s2;
      o += 3;
    }
  }
}

/**
 * Vertical pass for output rows [yStart, yStart + h). Source row r is at `src[(r - rowBase) * stride +
 * colOffset ...]`, `bytes` wide. Plain loops: this path is the fallback where WebAssembly SIMD is
 * missing and the oracle the SIMD kernel is tested against, so it reads like Pillow's C.
 */
function vertical(
  src: Uint8Array,
  stride: number,
  colOffset: number,
  rowBase: number,
  bytes: number,
  c: AxisCoeffs,
  yStart: number,
  h: number,
  dst: Uint8Array,
): void {
  const { ksize, first, count, k } = c;
  if (rowsBuf.length < ksize) {
    rowsBuf = new Int32Array(ksize);
    tapsBuf = new Int32Array(ksize);
  }
  const rows = rowsBuf;
  const taps = tapsBuf;
  let o = 0;
  for (let yy = yStart; yy < yStart + h; yy++) {
    const n = count[yy]!;
    const r0 = first[yy]! - rowBase;
    for (let t = 0; t < n; t++) {
      rows[t] = (r0 + t) * stride + colOffset;
      taps[t] = k[yy * ksize + t]!;
    }
    for (let i = 0; i < bytes; i++, o++) {
      let sum = HALF;
      for (let t = 0; t < n; t++) sum += src[rows[t]! + i]! * taps[t]!;
      const v = sum >> PRECISION_BITS;
      dst[o] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
}

function checkRegion(outW: number, outH: number, region: Rect): void {
  const { left, top, width, height } = region;
  if (
    !(outW >= 1 && outH >= 1) ||
    left < 0 ||
    top < 0 ||
    width < 1 ||
    height < 1 ||
    left + width > outW ||
    top + height > outH
  ) {
    throw new RangeError(`resize region ${JSON.stringify(region)} is not inside ${outW}x${outH}`);
  }
}

/** Which implementation `resizeRgb` uses here. */
export const resizeBackend: 'wasm-simd' | 'js' =
  wasmResampler && process.env['ZOO_RESIZE_JS'] !== '1' ? 'wasm-simd' : 'js';

/**
 * Resize `img` to outW x outH with Pillow's resampler and return only `region` of the result (default:
 * all of it). Identical to `Image.resize((outW, outH), filter).crop(region)`.
 */
export function resizeRgb(
  img: RgbImage,
  outW: number,
  outH: number,
  filter: ResampleFilter,
  region: Rect = { left: 0, top: 0, width: outW, height: outH },
): RgbImage {
  return resizeBackend === 'wasm-simd'
    ? resizeRgbWasm(img, outW, outH, filter, region)
    : resizeRgbJs(img, outW, outH, filter, region);
}

/** `resizeRgb` through the WebAssembly SIMD passes; throws where they are unavailable. */
export function resizeRgbWasm(
  img: RgbImage,
  outW: number,
  outH: number,
  filter: ResampleFilter,
  region: Rect = { left: 0, top: 0, width: outW, height: outH },
): RgbImage {
  checkRegion(outW, outH, region);
  if (!wasmResampler) throw new Error('WebAssembly SIMD resize is unavailable on this engine');
  // Pillow skips a pass whose size does not change (box is the whole image here).
  const cx = outW !== img.width ? cachedCoeffs(img.width, outW, filter) : null;
  const cy = outH !== img.height ? cachedCoeffs(img.height, outH, filter) : null;
  return wasmResampler.resize(img, cx, cy, region);
}

/** `resizeRgb` through the JavaScript loops: the fallback, and the reference the wasm path is tested against. */
export function resizeRgbJs(
  img: RgbImage,
  outW: number,
  outH: number,
  filter: ResampleFilter,
  region: Rect = { left: 0, top: 0, width: outW, height: outH },
): RgbImage {
  checkRegion(outW, outH, region);
  const { left, top, width, height } = region;
  const inW = img.width;
  const inH = img.height;
  const out = new Uint8Array(width * height * 3);
  // Pillow skips a pass whose size does not change (box is the whole image here).
  const needH = outW !== inW;
  const needV = outH !== inH;
  const bytes = width * 3;

  if (!needV) {
    if (!needH) {
      for (let y = 0; y < height; y++) {
        const s = ((top + y) * inW + left) * 3;
        out.set(img.data.subarray(s, s + bytes), y * bytes);
      }
    } else {
      horizontal(img.data, inW, top, top + height, cachedCoeffs(inW, outW, filter), left, width, out);
    }
    return { width, height, data: out };
  }

  const cv = cachedCoeffs(inH, outH, filter);
  if (!needH) {
    vertical(img.data, inW * 3, left * 3, 0, bytes, cv, top, height, out);
    return { width, height, data: out };
  }
  // Source rows the kept output rows read.
  const y0 = cv.first[top]!;
  const y1 = cv.first[top + height - 1]! + cv.count[top + height - 1]!;
  const need = (y1 - y0) * bytes;
  if (tmpBuf.length < need) tmpBuf = new Uint8Array(need);
  horizontal(img.data, inW, y0, y1, cachedCoeffs(inW, outW, filter), left, width, tmpBuf);
  vertical(tmpBuf, bytes, 0, y0, bytes, cv, top, height, out);
  return { width, height, data: out };
}
