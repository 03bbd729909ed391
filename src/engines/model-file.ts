/**
 * A model file opened by an engine (ONNX on onnxruntime, TF.js on tfjs): its declared signature, and
 * a runner for one chosen input and output. The runner takes zoo's float32 NCHW batches of any size
 * and returns the chosen output's raw rows as float32 [n, K]; which ImageNet class each of the K
 * columns is, is the model source's business (src/models/file/adapters.ts), not the engine's.
 */
import type { InputPlan, InputSignature } from '../models/file/adapters.js';
import type { LoadedModel } from './engine.js';

export interface OpenedModelFile {
  readonly file: string;
  readonly format: 'onnx' | 'tfjs-graph' | 'tfjs-layers';
  readonly inputs: readonly InputSignature[];
  readonly outputs: readonly InputSignature[];
  /** Weight elements in the file, when the engine can count them. */
  readonly params: number | null;
  /** Format facts for `zoo info` (producer, opsets, weight types). */
  readonly details: Record<string, unknown>;
  /**
   * A runnable model over `plan` (the input) and `output`; `inputShape` is the [C, H, W] the loader
   * produces. `run` returns [n, K] float32 raw outputs.
   */
  runner(plan: InputPlan, output: string, inputShape: readonly [number, number, number]): LoadedModel;
  dispose(): Promise<void>;
}

/** The first line of an engine's error message, without its stack or native prefixes. */
export function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  const line = (m.split('\n').find((l) => l.trim().length > 0) ?? m).trim();
  // onnxruntime prefixes the reason with its source location and C++ signature: keep the reason.
  return line.replace(/\/onnxruntime_src\/\S+:\d+ .*?\)\s+(?=\S)/, '').slice(0, 400);
}
