/**
 * Bench weights: a checkpoint of the right names and shapes with random values of a sensible scale
 * (He-uniform convs, BN near identity), built in-process from what recordGraph expects, so the bench
 * needs no download. Speed does not depend on the values as long as they stay normal floats.
 */
import type { Architecture } from '../models/arch.js';
import type { HostTensor } from '../models/graph.js';
import { recordGraph, type RecordedGraph } from '../models/record.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function randomWeights(arch: Architecture, size: readonly [number, number], seed = 1): Map<string, HostTensor> {
  const shapes = recordGraph(arch.forward, { size }).constants;
  const r = lcg(seed);
  const weights = new Map<string, HostTensor>();
  for (const [key, t] of shapes) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.dtype === 'int64') {
      weights.set(key, { dtype: 'int64', shape: t.shape, data: new BigInt64Array(n) });
      continue;
    }
    const fanIn = t.shape.slice(1).reduce((a, b) => a * b, 1) || 1;
    const data = new Float32Array(n);
    if (key.endsWith('running_var')) data.fill(1);
    else if (key.endsWith('running_mean')) data.fill(0);
    else if (t.shape.length === 1) {
      for (let i = 0; i < n; i++) data[i] = key.endsWith('bias') ? 0.1 * (r() - 0.5) : 1 + 0.2 * (r() - 0.5);
    } else {
      const bound = Math.sqrt(3 / fanIn);
      for (let i = 0; i < n; i++) data[i] = (r() * 2 - 1) * bound;
    }
    weights.set(key, { dtype: 'float32', shape: t.shape, data });
  }
  return weights;
}

export function randomGraph(arch: Architecture, size: readonly [number, number]): RecordedGraph {
  return recordGraph(arch.forward, {
    size,
    weights: randomWeights(arch, size),
    ...(arch.ignoreUnused ? { ignoreUnused: arch.ignoreUnused } : {}),
  });
}
