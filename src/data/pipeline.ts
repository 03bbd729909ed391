/**
 * The per-image work the loader does, shared by worker threads and the in-process mode, and the
 * message shapes between them. Errors cross threads as plain fields and are rebuilt as DataError.
 */
import { DataError } from '../errors.js';
import type { EvalConfig } from '../models/eval-config.js';
import { decodeRgb } from './decode.js';
import { cropResize, normalizeInto } from './preprocess.js';

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
export async function processInto(file: string, cfg: EvalConfig, out: Float32Array, offset: number): Promise<void> {
  const crop = cropResize(await decodeRgb(file), cfg);
  normalizeInto(crop, cfg, out, offset);
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
