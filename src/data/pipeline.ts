/**
 * The per-image work the loader does, shared by worker threads and the in-process mode, and the
 * message shapes between them. Errors cross threads as plain fields and are rebuilt as DataError.
 */
import { DataError } from '../errors.js';
import type { EvalConfig } from '../models/eval-config.js';
import { decodeResizeFast, decodeRgb, type RgbImage } from './decode.js';
import { cropResize, normalizeInto, planResize, type ResizePlan } from './preprocess.js';

/** `exact`: Pillow-identical (the default); `fast`: libvips resize, opt-in, a few levels off. */
export type ResizeMode = 'exact' | 'fast';

export interface WorkerRequest {
  id: number;
  file: string;
  buffer: SharedArrayBuffer;
  /** Float32 element offset of this image in the batch. */
  offset: number;
}

export interface SerializedError {
  /** True for a DataError (the user's file is at fault); false for a bug. */
  data: boolean;
  message: string;
  file?: string;
  expected?: string;
  fix?: string;
  stack?: string;
}

export interface WorkerReply {
  id: number;
  error?: SerializedError;
}

/** Decode + resize + crop + normalise `file` into out[offset ...] (CHW float32). */
export async function processInto(
  file: string,
  cfg: EvalConfig,
  out: Float32Array,
  offset: number,
  resize: ResizeMode = 'exact',
): Promise<void> {
  const crop = resize === 'fast' ? await fastCrop(file, cfg) : cropResize(await decodeRgb(file), cfg);
  normalizeInto(crop, cfg, out, offset);
}

/** The fast path's crop, zero-padded as CenterCrop pads when the crop is larger than the resized image. */
export async function fastCrop(file: string | Uint8Array, cfg: EvalConfig, name?: string): Promise<RgbImage> {
  let plan: ResizePlan | undefined;
  const kept = await decodeResizeFast(file, cfg.interpolation, (w, h) => (plan = planResize(w, h, cfg)), name);
  const p = plan!;
  if (kept.width === p.cropW && kept.height === p.cropH) return kept;
  const out = new Uint8Array(p.cropW * p.cropH * 3);
  const rowBytes = kept.width * 3;
  for (let y = 0; y < kept.height; y++) {
    out.set(kept.data.subarray(y * rowBytes, (y + 1) * rowBytes), ((p.padTop + y) * p.cropW + p.padLeft) * 3);
  }
  return { width: p.cropW, height: p.cropH, data: out };
}

export function serializeError(e: unknown, file: string): SerializedError {
  if (e instanceof DataError) {
    return { data: true, message: e.message, file: e.file ?? file, expected: e.expected, fix: e.fix };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return { data: false, message: `${err.message} (while loading ${file})`, stack: err.stack };
}

export function deserializeError(s: SerializedError): Error {
  if (s.data) return new DataError(s.message, { file: s.file, expected: s.expected, fix: s.fix });
  const e = new Error(s.message);
  if (s.stack) e.stack = s.stack;
  return e;
}
