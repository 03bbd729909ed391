/**
 * The TensorFlow.js engine: runs a recorded Graph op by op in NHWC on tfjs-node-gpu (CUDA),
 * tfjs-node, or the WebAssembly backend (see backend.ts for how one is chosen).
 */
import * as tf from '@tensorflow/tfjs-core';
import { EngineError } from '../../errors.js';
import type { Graph } from '../../models/graph.js';
import type { Engine, EngineOptions, LoadedModel } from '../engine.js';
import { activate, selectBackend, type BackendChoice } from './backend.js';
import { lowerGraph, type LoweredGraph } from './lower.js';

export { describeTfjsBackends, type BackendReport } from './backend.js';

/** A tfjs LoadedModel; `note` is set when it runs on a fallback backend (see takeTfjsNote). */
export interface TfjsLoadedModel extends LoadedModel {
  readonly note: string | undefined;
}

let noteShown = false;

/**
 * The fallback note ("tfjs-node is not installed; running on wasm ..."), returned once per
 * process and undefined afterwards, so the CLI says it once however many models it loads.
 */
export function takeTfjsNote(model: LoadedModel): string | undefined {
  const note = (model as Partial<TfjsLoadedModel>).note;
  if (note === undefined || noteShown) return undefined;
  noteShown = true;
  return note;
}

/** The wasm module aborted: in practice its 4 GiB heap ran out; it is unusable afterwards. */
function isWasmAbort(err: unknown): boolean {
  // WebAssembly.RuntimeError (no DOM/wasm typings under our lib setting, hence the name check).
  if (err instanceof Error && err.name === 'RuntimeError') return true;
  const msg = err instanceof Error ? err.message : String(err);
  return /Aborted\(|memory access out of bounds|Cannot enlarge memory|Out of memory/i.test(msg);
}

function wasmOutOfMemory(n: number, err: unknown): EngineError {
  const msg = err instanceof Error ? err.message : String(err);
  return new EngineError(`the tfjs WebAssembly backend ran out of memory running a batch of ${n} (${msg.split('\n')[0]})`, {
    expected: 'a batch whose activations fit in the 4 GiB WebAssembly heap',
    fix: 'use a smaller --batch-size, or --engine onnxruntime, or install @tensorflow/tfjs-node (native, no such limit)',
  });
}

class TfjsModel implements TfjsLoadedModel {
  readonly engine = 'tfjs' as const;
  readonly backend: string;
  readonly device;
  readonly threads: number | null;
  readonly inputShape: readonly [number, number, number];
  readonly note: string | undefined;
  private lowered: LoweredGraph | undefined;

  constructor(
    private readonly choice: BackendChoice,
    graph: Graph,
    lowered: LoweredGraph,
  ) {
    this.backend = choice.label;
    this.device = choice.device;
    this.threads = choice.threads;
    this.note = choice.note;
    this.inputShape = graph.inputShape;
    this.lowered = lowered;
  }

  async run(input: Float32Array, n: number): Promise<Float32Array> {
    const lowered = this.lowered;
    if (!lowered) throw new Error('tfjs model used after dispose()');
    const [c, h, w] = this.inputShape;
    const size = n * c * h * w;
    if (!(n > 0) || input.length < size) {
      throw new Error(`tfjs run: ${n} images of ${c}x${h}x${w} need ${size} floats, got ${input.length}`);
    }
    await activate(this.choice.name);
    let out: tf.Tensor;
    try {
      out = tf.tidy(() => {
        const nchw = tf.tensor4d(input.length === size ? input : input.subarray(0, size), [n, c, h, w]);
        const y = lowered.execute(tf.transpose(nchw, [0, 2, 3, 1]));
        // A graph ending in a feature map returns it in PyTorch's NCHW order, like onnxruntime.
        return y.rank === 4 ? tf.transpose(y, [0, 3, 1, 2]) : y;
      });
    } catch (err) {
      throw this.choice.name === 'wasm' && isWasmAbort(err) ? wasmOutOfMemory(n, err) : err;
    }
    try {
      const data = await out.data<'float32'>();
      // Our own copy: backends may hand out views of memory they reuse.
      return Float32Array.from(data);
    } finally {
      out.dispose();
    }
  }

  async dispose(): Promise<void> {
    this.lowered?.dispose();
    this.lowered = undefined;
  }
}

export const tfjsEngine: Engine = {
  name: 'tfjs',
  async load(graph: Graph, opts: EngineOptions): Promise<LoadedModel> {
    const choice = await selectBackend(opts.device, opts.threads);
    const lowered = lowerGraph(graph);
    return new TfjsModel(choice, graph, lowered);
  },
};
