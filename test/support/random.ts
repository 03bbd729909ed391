/**
 * Seeded pseudo-random numbers for tests: the same seed gives the same sequence on every run, so
 * a failing case can be replayed. Plus random weights/inputs for small hand-built graphs.
 */
import type { HostTensor } from '../../src/models/graph.js';
import { recordGraph, type ForwardFn } from '../../src/models/record.js';

/** mulberry32: small, seedable, good statistical quality; numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A plain 32-bit LCG (Numerical Recipes constants); numbers in [0, 1). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Random weights for every constant the architecture asks for (BN variances positive). */
export function randomWeights(forward: ForwardFn, size: [number, number], seed: number): Map<string, HostTensor> {
  const r = lcg(seed);
  const out = new Map<string, HostTensor>();
  for (const [name, t] of recordGraph(forward, { size }).constants) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const variance = name.endsWith('running_var');
    const data = Float32Array.from({ length: n }, () =>
      variance ? 0.5 + r() : (r() * 2 - 1) * (name.endsWith('weight') ? 0.6 : 0.3),
    );
    out.set(name, { dtype: 'float32', shape: t.shape, data });
  }
  return out;
}

/** `len` values uniform in [-2, 2). */
export function randomInput(len: number, seed: number): Float32Array {
  const r = lcg(seed);
  return Float32Array.from({ length: len }, () => r() * 4 - 2);
}
