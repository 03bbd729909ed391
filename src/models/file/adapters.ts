/**
 * Adapters between zoo's eval loop (float32 NCHW batches of any size in, 1,000 ImageNet scores per
 * image out) and a model file's own signature: NCHW or NHWC, a static batch, float16 tensors, and
 * outputs that are 1,001 classes with a background, or another class set given by a class map.
 * Pure functions over typed arrays: the engines call them, and tests check them by hand.
 */
import type { ClassMap } from '../../data/class-map.js';
import { concatFloat32 } from '../../util/concat.js';

export type Layout = 'nchw' | 'nhwc';
export type TensorType = 'float32' | 'float16';

/** A model input as the file declares it; a dimension is a number or a symbolic name (dynamic). */
export interface InputSignature {
  name: string;
  type: string;
  shape: readonly (number | string)[];
}

export interface InputPlan {
  name: string;
  layout: Layout;
  type: TensorType;
  /** Static batch size, or null for a dynamic batch. */
  batch: number | null;
  /** Fixed [H, W], or null where the file leaves them dynamic. */
  size: readonly [number, number] | null;
}

/** Why an input cannot be fed; the caller turns it into a ZooError naming the file. */
export class SignatureError extends Error {}

const num = (d: number | string | undefined): number | null => (typeof d === 'number' && d > 0 ? d : null);

/**
 * Layout from the shape: channels (3) second is NCHW, last is NHWC. A shape that says neither
 * (rank 3, channels 1 or 4, no rank at all) is refused rather than guessed.
 */
export function planInput(sig: InputSignature): InputPlan {
  if (sig.type !== 'float32' && sig.type !== 'float16') {
    throw new SignatureError(`input '${sig.name}' is ${sig.type}; zoo feeds float32 or float16 images (a model with uint8 input embeds its own preprocessing)`);
  }
  const s = sig.shape;
  if (s.length !== 4) throw new SignatureError(`input '${sig.name}' has shape [${s.join(', ')}]; an image classifier takes [N, 3, H, W] or [N, H, W, 3]`);
  let layout: Layout;
  if (s[1] === 3) layout = 'nchw';
  else if (s[3] === 3) layout = 'nhwc';
  else if (typeof s[1] === 'string' && typeof s[3] === 'string') layout = 'nchw';
  else throw new SignatureError(`input '${sig.name}' has shape [${s.join(', ')}]: no dimension of 3 RGB channels second or last`);
  const [h, w] = layout === 'nchw' ? [num(s[2]), num(s[3])] : [num(s[1]), num(s[2])];
  return { name: sig.name, layout, type: sig.type, batch: num(s[0]), size: h !== null && w !== null ? [h, w] : null };
}

/** float32 -> IEEE half, round to nearest even (what torch's .half() does). */
export function f32ToF16Bits(v: number): number {
  F32[0] = v;
  const x = U32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** Half bits -> float32 for a whole array. */
export function f16ArrayToF32(bits: Uint16Array): Float32Array<ArrayBuffer> {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i]!;
    const sign = b & 0x8000 ? -1 : 1;
    const exp = (b >> 10) & 0x1f;
    const frac = b & 0x3ff;
    out[i] = exp === 0 ? sign * frac * 2 ** -24 : exp === 0x1f ? (frac ? NaN : sign * Infinity) : sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}

export function f32ArrayToF16(v: Float32Array): Uint16Array<ArrayBuffer> {
  const out = new Uint16Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = f32ToF16Bits(v[i]!);
  return out;
}

/** NCHW -> NHWC for n images of c x h x w. */
export function nchwToNhwc(src: Float32Array, n: number, c: number, h: number, w: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(n * c * h * w);
  const plane = h * w;
  for (let i = 0; i < n; i++) {
    const base = i * c * plane;
    for (let ch = 0; ch < c; ch++) {
      const from = base + ch * plane;
      for (let p = 0; p < plane; p++) out[base + p * c + ch] = src[from + p]!;
    }
  }
  return out;
}

/**
 * Splits n images into the static batch's chunks: [start, count] pairs; the engine pads the last
 * chunk with zero images up to the batch and keeps only `count` rows of its output.
 */
export function batchChunks(n: number, batch: number | null): [number, number][] {
  if (batch === null) return [[0, n]];
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += batch) out.push([s, Math.min(batch, n - s)]);
  return out;
}

/**
 * `n` float32 NCHW images of `input` ([C, H, W] = `inputShape`) through `call`, one engine batch
 * at a time (batchChunks): each batch a fresh array of `b` images, zero images padding the last to
 * the static batch, in the plan's layout; of each batch's [b, K] output only the real images'
 * rows are kept, and the rows of all batches are returned joined.
 */
export async function runInBatches(
  input: Float32Array,
  n: number,
  plan: InputPlan,
  inputShape: readonly [number, number, number],
  call: (x: Float32Array<ArrayBuffer>, b: number) => Promise<Float32Array>,
): Promise<Float32Array> {
  const [c, h, w] = inputShape;
  const per = c * h * w;
  const parts: Float32Array[] = [];
  for (const [start, count] of batchChunks(n, plan.batch)) {
    const b = plan.batch ?? count;
    let x: Float32Array<ArrayBuffer> = new Float32Array(b * per);
    x.set(input.subarray(start * per, (start + count) * per));
    if (plan.layout === 'nhwc') x = nchwToNhwc(x, b, c, h, w);
    const out = await call(x, b);
    parts.push(out.subarray(0, count * (out.length / b)));
  }
  return parts.length === 1 ? parts[0]! : concatFloat32(parts);
}

// ------------------------------------------------------------------ outputs

/** Lowest float32: a class the model does not score ranks below every real score, without Infinity arithmetic. */
export const NOT_SCORED = -3.4028234663852886e38;

export type OutputAdapter =
  | { kind: 'imagenet'; outputs: 1000 }
  | { kind: 'background'; outputs: 1001 }
  | { kind: 'class-map'; outputs: number; map: ClassMap };

/** How a model's K outputs become 1,000 ImageNet scores; null when K needs a class map the user did not give. */
export function planOutput(outputs: number, map: ClassMap | null): OutputAdapter | null {
  if (map) return { kind: 'class-map', outputs, map };
  if (outputs === 1000) return { kind: 'imagenet', outputs: 1000 };
  if (outputs === 1001) return { kind: 'background', outputs: 1001 };
  return null;
}

/** Rows of K model outputs -> rows of 1,000 ImageNet scores. */
export function adaptOutput(a: OutputAdapter, raw: Float32Array, n: number): Float32Array {
  if (a.kind === 'imagenet') return raw;
  const out = new Float32Array(n * 1000);
  if (a.kind === 'background') {
    for (let i = 0; i < n; i++) out.set(raw.subarray(i * 1001 + 1, i * 1001 + 1001), i * 1000);
    return out;
  }
  out.fill(NOT_SCORED);
  const k = a.outputs;
  const cls = a.map.classes;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const c = cls[j]!;
      if (c >= 0) out[i * 1000 + c] = raw[i * k + j]!;
    }
  }
  return out;
}

/** What the adapter does, said once before the run. */
export function describeOutput(a: OutputAdapter): string | null {
  if (a.kind === 'background') return '1,001 outputs: index 0 taken as a background class (TF-slim style) and dropped; ImageNet class i is output i+1';
  if (a.kind === 'class-map') {
    let mapped = 0;
    for (const c of a.map.classes) if (c >= 0) mapped++;
    return `${a.outputs} outputs mapped to ImageNet classes by ${a.map.file} (${mapped} classes scored${mapped < 1000 ? `; the other ${1000 - mapped} can never be predicted` : ''})`;
  }
  return null;
}
