/**
 * The tfjs engine against the onnxruntime engine: small hand-built graphs with random weights,
 * covering every node kind and every conv/pool lowering path (dense, depthwise with and without
 * channel multiplier, split-grouped, strided + dilated, TF-"same" and explicit asymmetric pads,
 * max pool -inf padding, avg pool with and without count_include_pad, flatten of a feature map),
 * run on the backend this machine really has (wasm without the native packages). Also: the
 * weight layout helpers, the fallback and CUDA errors, and the tensor-leak check.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError, ExitCode } from '../src/errors.js';
import { getEngine } from '../src/engines/index.js';
import { onnxruntimeEngine } from '../src/engines/onnxruntime/index.js';
import type { LoadedModel } from '../src/engines/engine.js';
import { describeTfjsBackends, takeTfjsNote, tfjsEngine } from '../src/engines/tfjs/index.js';
import { lowerGraph } from '../src/engines/tfjs/lower.js';
import { foldBatchNorm } from '../src/engines/batchnorm.js';
import { channelShuffleIndex, excludePadFactor, toDepthwise, toHWIO, transposeLinear } from '../src/engines/tfjs/weights.js';
import type { Graph } from '../src/models/graph.js';
import type { Ops, Value } from '../src/models/ops.js';
import { recordGraph, type ForwardFn } from '../src/models/record.js';
import { randomInput, randomWeights } from './support/random.js';

function build(forward: ForwardFn, size: [number, number], seed: number): Graph {
  return recordGraph(forward, { size, weights: randomWeights(forward, size, seed) });
}

// ---- graphs ------------------------------------------------------------------------------------

/** Every conv lowering path, with BN/activation fusion and the cases that must not fuse. */
const convs: ForwardFn = (ops: Ops): Value => {
  let x = ops.conv(ops.input, 'stem', { out: 8, kernel: 3, stride: 2, padding: 'same' }); // TF same, asymmetric
  x = ops.act(ops.bn(x, 'stem_bn'), 'relu'); // conv+BN+relu fused
  let d = ops.conv(x, 'dw', { out: 8, kernel: 3, groups: 8, padding: [0, 1, 2, 1] }); // depthwise, explicit asym pads
  d = ops.act(ops.bn(d, 'dw_bn', 1e-3), 'relu6');
  const m = ops.conv(d, 'dwm', { out: 16, kernel: 3, stride: 2, groups: 8, bias: true, padding: 'same' }); // multiplier 2
  let g = ops.conv(m, 'grouped', { out: 24, kernel: 3, groups: 4, dilation: 2, bias: true }); // 4-wide groups: depthwise + sum
  g = ops.act(ops.bn(g, 'grouped_bn'), 'silu'); // silu is not fusable: conv+BN fused, silu separate
  const sd = ops.conv(g, 'strided_dilated', { out: 12, kernel: 3, stride: 2, dilation: 2, padding: [2, 1, 2, 3] });
  const gsd = ops.conv(g, 'grouped_sd', { out: 12, kernel: 3, stride: 2, dilation: 2, groups: 3, padding: 'same' });
  const dsd = ops.conv(g, 'dw_sd', { out: 24, kernel: 3, stride: 2, dilation: 2, groups: 24, padding: 2 });
  const dsdReduced = ops.conv(dsd, 'dw_sd_pw', { out: 12, kernel: 1 });
  let gw = ops.conv(g, 'grouped_wide', { out: 18, kernel: 3, stride: 2, groups: 2, padding: 'same' }); // 12-wide: split/conv/concat
  gw = ops.act(ops.bn(gw, 'grouped_wide_bn'), 'relu');
  const gwr = ops.conv(gw, 'after_wide', { out: 12, kernel: 3, dilation: 2, padding: 2 });
  const y = ops.conv(ops.add(ops.add(sd, gsd), ops.add(dsdReduced, gwr)), 'shared', { out: 12, kernel: 1, bias: true }); // two consumers
  const bnOfShared = ops.bn(y, 'shared_bn'); // must not fold: y is read again below
  const z = ops.add(bnOfShared, ops.act(y, 'sigmoid'));
  const head = ops.conv(z, 'head', { out: 10, kernel: [2, 3], padding: [1, 0, 0, 2] }); // rectangular kernel
  return ops.linear(ops.flatten(head), 'fc', 7); // flatten of a feature map with H*W > 1
};

/** Activations, channel ops, pools, broadcasting, standalone BN on 4-d and 2-d values. */
const elementwise: ForwardFn = (ops: Ops): Value => {
  const x = ops.conv(ops.input, 'c0', { out: 8, kernel: 1, bias: true });
  const kinds = ['relu', 'relu6', 'silu', 'sigmoid', 'hardSigmoid', 'hardSwish', 'gelu'] as const;
  let y = ops.concat(kinds.map((k) => ops.slice(ops.act(x, k), 0, 4))); // 28 channels
  y = ops.bn(y, 'cat_bn'); // standalone BN (after concat)
  y = ops.gather(y, [27, 3, 3, 0, 14, 9, 20, 1, 5, 26, 11, 7]); // 12 channels, repeats allowed
  y = ops.channelShuffle(y, 3);
  const mp = ops.maxPool(y, { kernel: 3, stride: 2, padding: 'same' }); // -inf asymmetric pads
  const ap = ops.avgPool(y, { kernel: 3, stride: 2, padding: 1 }); // count_include_pad
  const apx = ops.avgPool(y, { kernel: 3, stride: 2, padding: 1, countIncludePad: false });
  const apa = ops.avgPool(y, { kernel: 2, stride: 2, padding: [0, 0, 1, 1], countIncludePad: false });
  const mp0 = ops.maxPool(ops.act(y, 'relu'), { kernel: 2, stride: 2, padding: [1, 1, 0, 0] });
  let z = ops.add(ops.add(mp, ap), ops.add(apx, ops.mul(apa, mp0)));
  const gate = ops.act(ops.conv(ops.globalAvgPool(z), 'se', { out: 12, kernel: 1, bias: true }), 'hardSigmoid');
  z = ops.mul(z, gate); // [N, C, 1, 1] broadcast
  const pooled = ops.flatten(ops.globalAvgPool(z)); // H*W == 1: no transpose needed
  const h = ops.bn(ops.linear(pooled, 'fc1', 10), 'fc1_bn'); // BN on [N, C]
  return ops.linear(ops.act(h, 'gelu'), 'head', 5, { bias: false });
};

const CASES: { name: string; forward: ForwardFn; size: [number, number]; n: number }[] = [
  { name: 'convs (dense, depthwise, multiplier, grouped, dilated, asymmetric pads)', forward: convs, size: [23, 21], n: 3 },
  { name: 'activations, channel ops, pools, broadcast, BN', forward: elementwise, size: [15, 17], n: 2 },
];

/** max|a - b| / max(1, max|b|): the relative error the brief asks to keep under 1e-4. */
function relError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    ref = Math.max(ref, Math.abs(b[i]!));
  }
  return diff / Math.max(1, ref);
}

const loaded: LoadedModel[] = [];
afterAll(async () => {
  for (const m of loaded) await m.dispose();
});

const nativeInstalled = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'].some((p) => {
  try {
    createRequire(import.meta.url).resolve(p);
    return true;
  } catch {
    return false;
  }
});

describe('tfjs engine vs onnxruntime', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const graph = build(c.forward, c.size, 7);
      const ours = await tfjsEngine.load(graph, { device: 'cpu' });
      const ort = await onnxruntimeEngine.load(graph, { device: 'cpu', threads: 1 });
      loaded.push(ours, ort);
      const input = randomInput(c.n * 3 * c.size[0] * c.size[1], 11);
      const a = await ours.run(input, c.n);
      const b = await ort.run(input, c.n);
      expect(a.length).toBe(b.length);
      expect(a.length).toBeGreaterThan(0);
      const err = relError(a, b);
      expect(err).toBeLessThan(1e-4);
      // The outputs are not trivially equal (e.g. all zero): the graphs really compute something.
      expect(Math.max(...Array.from(b, Math.abs))).toBeGreaterThan(1e-2);
    });
  }

  it('the same lowering gives the same logits on the pure-JS cpu backend (the last fallback)', async () => {
    for (const c of CASES) {
      const graph = build(c.forward, c.size, 7);
      const input = randomInput(c.n * 3 * c.size[0] * c.size[1], 11);
      const wasm = await tfjsEngine.load(graph, { device: 'cpu' });
      loaded.push(wasm);
      const expected = await wasm.run(input, c.n);
      await tf.setBackend('cpu');
      const lowered = lowerGraph(graph);
      try {
        const y = tf.tidy(() => lowered.execute(tf.transpose(tf.tensor4d(input, [c.n, 3, ...c.size]), [0, 2, 3, 1])));
        const got = (await y.data()) as Float32Array;
        y.dispose();
        expect(relError(got, expected), c.name).toBeLessThan(1e-4);
      } finally {
        lowered.dispose();
        await tf.setBackend('wasm');
      }
    }
  });

  it('fuses conv + BN + relu/relu6 into one step and keeps shared values unfused', () => {
    const graph = build(convs, [23, 21], 7);
    const lowered = lowerGraph(graph);
    try {
      const nodes = graph.nodes.length - 1; // minus the input
      // stem BN+relu, dw BN+relu6, grouped BN, grouped_wide BN+relu: 7 nodes absorbed; shared_bn
      // is not (y has 2 readers).
      expect(lowered.stepCount).toBe(nodes - 7);
    } finally {
      lowered.dispose();
    }
  });

  it('reads only the first n images and rejects a short buffer', async () => {
    const graph = build(elementwise, [15, 17], 3);
    const m = await tfjsEngine.load(graph, { device: 'cpu' });
    loaded.push(m);
    const per = 3 * 15 * 17;
    const input = randomInput(3 * per, 5);
    const all = await m.run(input, 3);
    const first = await m.run(input, 1);
    expect(Array.from(first)).toEqual(Array.from(all.subarray(0, 5)));
    await expect(m.run(input.subarray(0, per), 2)).rejects.toThrow(/need/);
  });
});

describe('weight layouts', () => {
  it('OIHW -> HWIO and depthwise HWCM index the same elements PyTorch does', () => {
    // w[o, i, h, x] = 1000 o + 100 i + 10 h + x
    const [O, I, H, W] = [4, 2, 3, 2];
    const w = Float64Array.from({ length: O * I * H * W }, (_, k) => {
      const x = k % W;
      const h = Math.floor(k / W) % H;
      const i = Math.floor(k / (W * H)) % I;
      const o = Math.floor(k / (W * H * I));
      return 1000 * o + 100 * i + 10 * h + x;
    });
    const hwio = toHWIO(w, [O, I, H, W], 1, 3); // output channels 1, 2
    expect(hwio.shape).toEqual([H, W, I, 2]);
    expect(hwio.data[((2 * W + 1) * I + 1) * 2 + 1]).toBe(2000 + 100 + 20 + 1);
    const dw = Float64Array.from({ length: 6 * H * W }, (_, k) => k); // [6, 1, 3, 2] with cin 3, m 2
    const d = toDepthwise(dw, [6, 1, H, W], 3);
    expect(d.shape).toEqual([H, W, 3, 2]);
    // output channel 5 = input channel 2, multiplier index 1
    expect(d.data[((1 * W + 0) * 3 + 2) * 2 + 1]).toBe(5 * H * W + 1 * W + 0);
    const lin = transposeLinear(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
    expect(lin.shape).toEqual([3, 2]);
    expect(Array.from(lin.data)).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('folds BN in double precision and derives the shuffle index and pad factors', () => {
    const folded = foldBatchNorm(Float32Array.from([1, 2, 3, 4]), 2, Float32Array.from([0.5, -1]), {
      scale: Float64Array.from([2, 0.1]),
      shift: Float64Array.from([1, 3]),
    });
    expect(Array.from(folded.weight)).toEqual([2, 4, 0.30000000000000004, 0.4]);
    expect(Array.from(folded.bias!)).toEqual([2, 2.9]);
    // 6 channels, 2 groups: [0 1 2 | 3 4 5] -> 0 3 1 4 2 5
    expect(Array.from(channelShuffleIndex(6, 2))).toEqual([0, 3, 1, 4, 2, 5]);
    // 3x3 window, pad 1 on a 4x4 map, stride 2: corner sees 4 cells, edges 6.
    const f = excludePadFactor([4, 4], [3, 3], [2, 2], [1, 1, 1, 1]);
    expect(f.shape).toEqual([2, 2]);
    expect(Array.from(f.data)).toEqual([9 / 4, 9 / 6, 9 / 6, 1]);
  });
});

describe('backend choice without the native packages', () => {
  it.skipIf(nativeInstalled)('runs on wasm, says so once, and is what getEngine returns', async () => {
    expect(await getEngine('tfjs')).toBe(tfjsEngine);
    const graph = build(elementwise, [15, 17], 1);
    const a = await tfjsEngine.load(graph, { device: 'cpu' });
    const b = await tfjsEngine.load(graph, { device: 'cpu' });
    loaded.push(a, b);
    expect(a.backend).toBe('tfjs wasm');
    expect(a.engine).toBe('tfjs');
    expect(a.device).toBe('cpu');
    expect(tf.getBackend()).toBe('wasm');
    const first = takeTfjsNote(a);
    expect(first).toMatch(/@tensorflow\/tfjs-node is not installed; running on the WebAssembly backend/);
    expect(first).toMatch(/npm install @tensorflow\/tfjs-node@4\.22\.0 with network access/);
    expect(takeTfjsNote(b)).toBeUndefined();
    expect(takeTfjsNote(a)).toBeUndefined();
  });

  it.skipIf(nativeInstalled)('--device cuda fails with exit code 5 and the install command', async () => {
    const graph = build(elementwise, [15, 17], 1);
    const err: unknown = await tfjsEngine.load(graph, { device: 'cuda' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EngineError);
    const e = err as EngineError;
    expect(e.exitCode).toBe(ExitCode.ENGINE);
    expect(e.message).toMatch(/no CUDA backend: @tensorflow\/tfjs-node-gpu is not installed/);
    expect(e.fix).toMatch(/npm install @tensorflow\/tfjs-node-gpu@4\.22/);
    expect(e.expected).toMatch(/libtensorflow 2\.9\.1.*CUDA 11\.2.*cuDNN 8\.1/);
    // The failed CUDA request left the wasm backend usable.
    const m = await tfjsEngine.load(graph, { device: 'cpu' });
    loaded.push(m);
    expect((await m.run(randomInput(3 * 15 * 17, 2), 1)).length).toBe(5);
  });

  it.skipIf(nativeInstalled)('describeTfjsBackends reports each backend with why and the fix', async () => {
    const r = await describeTfjsBackends();
    expect(r.map((b) => b.name)).toEqual([
      '@tensorflow/tfjs-node-gpu (cuda)',
      '@tensorflow/tfjs-node (cpu)',
      '@tensorflow/tfjs-backend-wasm (cpu)',
      '@tensorflow/tfjs-backend-cpu (cpu)',
    ]);
    expect(r[0]).toMatchObject({ available: false, reason: 'not installed' });
    expect(r[0]!.fix).toMatch(/CUDA 11\.2.*cuDNN 8\.1/);
    expect(r[1]).toMatchObject({ available: false, reason: 'not installed' });
    expect(r[2]).toMatchObject({ available: true });
    expect(r[2]!.reason).toMatch(/WebAssembly/);
    expect(r[3]!.available).toBe(true);
  });
});

describe('no tensor leaks', () => {
  let model: LoadedModel;
  beforeAll(async () => {
    model = await tfjsEngine.load(build(convs, [23, 21], 9), { device: 'cpu' });
    loaded.push(model);
  });

  it('tf.memory().numTensors is the same after each of 200 batches', async () => {
    const input = randomInput(2 * 3 * 23 * 21, 4);
    await model.run(input, 2);
    const before = tf.memory().numTensors;
    const bytesBefore = tf.memory().numBytes;
    for (let i = 0; i < 200; i++) {
      await model.run(input, 1 + (i % 2));
      expect(tf.memory().numTensors).toBe(before);
    }
    expect(tf.memory().numBytes).toBe(bytesBefore);
    // Dispose frees the weights too.
    const withWeights = tf.memory().numTensors;
    const extra = await tfjsEngine.load(build(convs, [23, 21], 10), { device: 'cpu' });
    expect(tf.memory().numTensors).toBeGreaterThan(withWeights);
    await extra.dispose();
    expect(tf.memory().numTensors).toBe(withWeights);
  });
});
