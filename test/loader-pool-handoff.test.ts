/**
 * The batch hand-off to onnxruntime: the loader's batches live in SharedArrayBuffers, which
 * onnxruntime-node rejects as tensor data. The engine stages such input in one buffer of its own,
 * reused run after run: results identical to ordinary input, whatever the batch sizes in turn, also
 * with two runs in flight at once; and the loader's real batches go straight into run().
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLoader } from '../src/data/loader.js';
import type { LoadedModel } from '../src/engines/engine.js';
import { onnxruntimeEngine } from '../src/engines/onnxruntime/index.js';
import type { HostTensor } from '../src/models/graph.js';
import type { Ops } from '../src/models/ops.js';
import { recordGraph, type ForwardFn } from '../src/models/record.js';
import { imagenetConfig, VAL_227 } from './support/fixtures.js';

const SIZE = 64;
const PER = 3 * SIZE * SIZE;

const net: ForwardFn = (ops: Ops) => {
  let x = ops.conv(ops.input, 'stem', { out: 8, kernel: 3, stride: 2, padding: 'same' });
  x = ops.act(ops.bn(x, 'stem_bn'), 'relu');
  x = ops.conv(x, 'c2', { out: 16, kernel: 3, stride: 2, padding: 'same', bias: true });
  return ops.linear(ops.flatten(ops.globalAvgPool(ops.act(x, 'silu'))), 'head', 10);
};

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomInput(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n * PER }, () => r() * 4 - 2);
}

/** The same values in shared memory, as the loader hands them over. */
function shared(a: Float32Array): Float32Array {
  const s = new Float32Array(new SharedArrayBuffer(a.byteLength));
  s.set(a);
  return s;
}

let model: LoadedModel;

beforeAll(async () => {
  const r = rng(7);
  const weights = new Map<string, HostTensor>();
  for (const [name, t] of recordGraph(net, { size: [SIZE, SIZE] }).constants) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, () => (name.endsWith('running_var') ? 0.5 + r() : r() * 2 - 1));
    weights.set(name, { dtype: 'float32', shape: t.shape, data });
  }
  const graph = recordGraph(net, { size: [SIZE, SIZE], weights });
  model = await onnxruntimeEngine.load(graph, { device: 'cpu', threads: 1 });
});
afterAll(async () => {
  await model?.dispose();
});

describe('onnxruntime hand-off of shared-memory batches', () => {
  it('gives the same logits as ordinary input, for batch sizes in any order', async () => {
    for (const [n, seed] of [
      [4, 1],
      [2, 2],
      [4, 3],
      [1, 4],
      [6, 5],
      [3, 6],
    ] as const) {
      const plain = randomInput(n, seed);
      const want = await model.run(plain, n);
      const got = await model.run(shared(plain), n);
      expect(got.length).toBe(n * 10);
      expect(Array.from(got), `n=${n}`).toEqual(Array.from(want));
      // A view into a larger shared buffer (the loader's short last batch) works too.
      const big = new Float32Array(new SharedArrayBuffer((n + 2) * PER * 4));
      big.set(plain);
      expect(Array.from(await model.run(big.subarray(0, n * PER), n))).toEqual(Array.from(want));
    }
  });

  it('two runs in flight at once each see their own input', async () => {
    const a = randomInput(3, 11);
    const b = randomInput(3, 12);
    const [wa, wb] = [await model.run(a, 3), await model.run(b, 3)];
    const [ga, gb] = await Promise.all([model.run(shared(a), 3), model.run(shared(b), 3)]);
    expect(Array.from(ga)).toEqual(Array.from(wa));
    expect(Array.from(gb)).toEqual(Array.from(wb));
  });

  it("takes the loader's batches as they are (no copy by the caller), equal to a copied batch", async () => {
    const cfg = imagenetConfig(SIZE);
    const files = readdirSync(VAL_227).filter((f) => f.endsWith('.JPEG')).sort().slice(0, 10);
    const samples = files.map((f, i) => ({ file: join(VAL_227, f), name: f, label: i }));
    const loader = createLoader(samples, cfg, { batchSize: 4, workers: 1 });
    let batches = 0;
    for await (const batch of loader) {
      expect(batch.data.buffer).toBeInstanceOf(SharedArrayBuffer);
      const direct = await model.run(batch.data, batch.n);
      const copied = await model.run(batch.data.slice(), batch.n);
      expect(Array.from(direct)).toEqual(Array.from(copied));
      batches++;
    }
    expect(batches).toBe(3);
  }, 20_000);
});
