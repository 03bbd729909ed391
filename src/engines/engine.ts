/**
 * The engine contract: a recorded Graph in, a runnable model out. Engines never know which
 * architecture they run; they see only the graph's nodes and constants.
 */
import type { Graph } from '../models/graph.js';

export type Device = 'cpu' | 'cuda';
export type EngineName = 'onnxruntime' | 'tfjs';

export interface EngineOptions {
  device: Device;
  /** Intra-op threads for CPU execution; default: the number of cores. */
  threads?: number;
}

export interface LoadedModel {
  readonly engine: EngineName;
  /** What actually runs it, e.g. `onnxruntime cpu`, `tfjs wasm`, `tfjs tensorflow (cuda)`. */
  readonly backend: string;
  readonly device: Device;
  /**
   * The intra-op threads it computes with, as the engine decided them (--threads, or the default):
   * for the run's header line. null when the device, not a thread count, decides (CUDA).
   */
  readonly threads: number | null;
  /** Input [C, H, W]. */
  readonly inputShape: readonly [number, number, number];
  /** `input` holds n images [n, C, H, W], float32, normalised; returns logits [n, classes]. */
  run(input: Float32Array, n: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

export interface Engine {
  readonly name: EngineName;
  load(graph: Graph, opts: EngineOptions): Promise<LoadedModel>;
}
