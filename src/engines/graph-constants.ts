/**
 * A recorded Graph's named constants (weights, biases, BatchNorm statistics) as the code that
 * turns the graph into an engine's model reads them: the ONNX lowering and the TF.js lowering and
 * exporters. A missing or non-float constant is a bug in the recorder or the walker, not bad input.
 */
import type { Graph, HostTensor } from '../models/graph.js';

export function asFloat32(t: HostTensor, what: string): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`${what}: expected a float32 constant, got ${t.dtype}`);
  return t.data as Float32Array;
}

export function graphConstant(graph: Graph, name: string): HostTensor {
  const t = graph.constants.get(name);
  if (!t) throw new Error(`graph has no constant ${name}`);
  return t;
}

/** A named float32 constant of the graph. */
export function graphF32(graph: Graph, name: string): Float32Array {
  return asFloat32(graphConstant(graph, name), name);
}
