/**
 * The onnxruntime engine against a naive float64 reference: small hand-built graphs with random
 * weights, recorded through recordGraph, lowered to ONNX and run by onnxruntime, compared with a
 * direct loop-nest evaluation of the same graph (no BN folding, no fusion).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EngineError } from '../src/errors.js';
import { checkCudaAvailable, cudaInstallCommand, cudaProviderPath, onnxruntimeEngine } from '../src/engines/onnxruntime/index.js';
import { getEngine } from '../src/engines/index.js';
import { graphToOnnx } from '../src/engines/onnxruntime/lower.js';
import type { ActivationKind, Graph, Node } from '../src/models/graph.js';
import type { Ops, Value } from '../src/models/ops.js';
import { recordGraph, type ForwardFn } from '../src/models/record.js';
import { randomInput, randomWeights } from './support/random.js';

// ---- the naive reference: evaluates Graph nodes directly in float64 --------------------------

interface T {
  shape: number[];
  data: Float64Array;
}

function constant(g: Graph, name: string): Float32Array {
  return g.constants.get(name)!.data as Float32Array;
}

function act(kind: ActivationKind, x: number): number {
  const relu6 = (v: number) => Math.min(Math.max(v, 0), 6);
  switch (kind) {
    case 'relu':
      return Math.max(x, 0);
    case 'relu6':
      return relu6(x);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-x));
    case 'silu':
      return x / (1 + Math.exp(-x));
    case 'hardSigmoid':
      return relu6(x + 3) / 6;
    case 'hardSwish':
      return (x * relu6(x + 3)) / 6;
    case 'gelu':
      return 0.5 * x * (1 + erf(x / Math.SQRT2));
  }
}

/** erf to ~1e-12 by its Maclaurin series (|x| small) or continued fraction (large). */
function erf(x: number): number {
  if (Math.abs(x) > 5) return Math.sign(x);
  let sum = 0;
  let term = x;
  for (let n = 0; n < 200; n++) {
    sum += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

function conv(g: Graph, n: Extract<Node, { op: 'conv' }>, x: T): T {
  const w = g.constants.get(n.weight)!;
  const wd = w.data as Float32Array;
  const [cout, cinG, kh, kw] = w.shape as [number, number, number, number];
  const [N, cin, H, W] = x.shape as [number, number, number, number];
  const [pt, pl, pb, pr] = n.pads;
  const [sh, sw] = n.stride;
  const [dh, dw] = n.dilation;
  const oh = Math.floor((H + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((W + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const bias = n.bias !== undefined ? constant(g, n.bias) : undefined;
  const coutG = cout / n.groups;
  const out = new Float64Array(N * cout * oh * ow);
  for (let b = 0; b < N; b++)
    for (let o = 0; o < cout; o++) {
      const grp = Math.floor(o / coutG);
      for (let y = 0; y < oh; y++)
        for (let xx = 0; xx < ow; xx++) {
          let s = bias ? bias[o]! : 0;
          for (let ci = 0; ci < cinG; ci++) {
            const c = grp * cinG + ci;
            for (let ky = 0; ky < kh; ky++) {
              const iy = y * sh - pt + ky * dh;
              if (iy < 0 || iy >= H) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = xx * sw - pl + kx * dw;
                if (ix < 0 || ix >= W) continue;
                s += x.data[((b * cin + c) * H + iy) * W + ix]! * wd[((o * cinG + ci) * kh + ky) * kw + kx]!;
              }
            }
          }
          out[((b * cout + o) * oh + y) * ow + xx] = s;
        }
    }
  return { shape: [N, cout, oh, ow], data: out };
}

function pool(n: Extract<Node, { op: 'maxPool' | 'avgPool' }>, x: T): T {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [kh, kw] = n.kernel;
  const [sh, sw] = n.stride;
  const [pt, pl, pb, pr] = n.pads;
  const oh = Math.floor((H + pt + pb - kh) / sh) + 1;
  const ow = Math.floor((W + pl + pr - kw) / sw) + 1;
  const out = new Float64Array(N * C * oh * ow);
  for (let p = 0; p < N * C; p++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++) {
        let m = -Infinity;
        let s = 0;
        let count = 0;
        let padded = 0;
        for (let ky = 0; ky < kh; ky++)
          for (let kx = 0; kx < kw; kx++) {
            const iy = y * sh - pt + ky;
            const ix = xx * sw - pl + kx;
            // PyTorch's count_include_pad counts the window clipped to the padded input.
            if (iy < H + pb && ix < W + pr) padded++;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
            const v = x.data[(p * H + iy) * W + ix]!;
            m = Math.max(m, v);
            s += v;
            count++;
          }
        out[(p * oh + y) * ow + xx] = n.op === 'maxPool' ? m : s / (n.countIncludePad ? padded : count);
      }
  return { shape: [N, C, oh, ow], data: out };
}

function perChannel(x: T, f: (v: number, c: number) => number): T {
  const C = x.shape[1]!;
  const inner = x.shape.slice(2).reduce((a, b) => a * b, 1);
  return { shape: x.shape, data: x.data.map((v, i) => f(v, Math.floor(i / inner) % C)) };
}

function gatherChannels(x: T, index: readonly number[]): T {
  const [N, C] = x.shape as [number, number];
  const inner = x.shape.slice(2).reduce((a, b) => a * b, 1);
  const out = new Float64Array(N * index.length * inner);
  for (let b = 0; b < N; b++)
    index.forEach((c, j) => out.set(x.data.subarray((b * C + c) * inner, (b * C + c + 1) * inner), (b * index.length + j) * inner));
  const shape = [...x.shape];
  shape[1] = index.length;
  return { shape, data: out };
}

function binary(a: T, b: T, f: (x: number, y: number) => number): T {
  const [N, C] = a.shape as [number, number];
  const inner = a.shape.slice(2).reduce((p, q) => p * q, 1);
  const bInner = b.shape.slice(2).reduce((p, q) => p * q, 1);
  return {
    shape: a.shape,
    data: a.data.map((v, i) => {
      const nc = Math.floor(i / inner);
      const j = bInner === 1 ? nc : i;
      void N;
      void C;
      return f(v, b.data[j]!);
    }),
  };
}

function reference(g: Graph, input: Float32Array, n: number): Float64Array {
  const vals: T[] = [];
  vals[g.input] = { shape: [n, ...g.inputShape], data: Float64Array.from(input) };
  for (const node of g.nodes) {
    const x = 'x' in node ? vals[node.x]! : undefined;
    let y: T;
    switch (node.op) {
      case 'input':
        continue;
      case 'conv':
        y = conv(g, node, x!);
        break;
      case 'batchNorm': {
        const [w, b, m, v] = [node.weight, node.bias, node.mean, node.var].map((k) => constant(g, k));
        y = perChannel(x!, (val, c) => ((val - m![c]!) / Math.sqrt(v![c]! + node.eps)) * w![c]! + b![c]!);
        break;
      }
      case 'activation':
        y = { shape: x!.shape, data: x!.data.map((v) => act(node.kind, v)) };
        break;
      case 'add':
        y = binary(vals[node.a]!, vals[node.b]!, (p, q) => p + q);
        break;
      case 'mul':
        y = binary(vals[node.a]!, vals[node.b]!, (p, q) => p * q);
        break;
      case 'concat': {
        const parts = node.xs.map((v) => vals[v]!);
        const total = parts.reduce((s, p) => s + p.shape[1]!, 0);
        const cat: T = { shape: [...parts[0]!.shape], data: new Float64Array(0) };
        cat.shape[1] = total;
        const inner = cat.shape.slice(2).reduce((a, b) => a * b, 1);
        cat.data = new Float64Array(n * total * inner);
        for (let b = 0; b < n; b++) {
          let off = 0;
          for (const p of parts) {
            const len = p.shape[1]! * inner;
            cat.data.set(p.data.subarray(b * len, (b + 1) * len), b * total * inner + off);
            off += len;
          }
        }
        y = cat;
        break;
      }
      case 'slice':
        y = gatherChannels(x!, Array.from({ length: node.end - node.start }, (_, i) => node.start + i));
        break;
      case 'gather':
        y = gatherChannels(x!, node.index);
        break;
      case 'channelShuffle': {
        const C = x!.shape[1]!;
        const per = C / node.groups;
        // out channel j*groups + i comes from in channel i*per + j.
        const index = Array.from({ length: C }, (_, k) => (k % node.groups) * per + Math.floor(k / node.groups));
        y = gatherChannels(x!, index);
        break;
      }
      case 'maxPool':
      case 'avgPool':
        y = pool(node, x!);
        break;
      case 'globalAvgPool': {
        const [N, C, H, W] = x!.shape as [number, number, number, number];
        const out = new Float64Array(N * C);
        for (let p = 0; p < N * C; p++) for (let i = 0; i < H * W; i++) out[p]! += x!.data[p * H * W + i]!;
        y = { shape: [N, C, 1, 1], data: out.map((v) => v / (H * W)) };
        break;
      }
      case 'flatten':
        y = { shape: [n, x!.data.length / n], data: x!.data };
        break;
      case 'linear': {
        const w = g.constants.get(node.weight)!;
        const [out, inF] = w.shape as [number, number];
        const wd = w.data as Float32Array;
        const bias = node.bias !== undefined ? constant(g, node.bias) : undefined;
        const data = new Float64Array(n * out);
        for (let b = 0; b < n; b++)
          for (let o = 0; o < out; o++) {
            let s = bias ? bias[o]! : 0;
            for (let i = 0; i < inF; i++) s += x!.data[b * inF + i]! * wd[o * inF + i]!;
            data[b * out + o] = s;
          }
        y = { shape: [n, out], data };
        break;
      }
    }
    vals[node.out] = y;
  }
  return vals[g.output]!.data;
}

// ---- test graphs -------------------------------------------------------------------------------

/** Convs of every shape the families use, BN folded, unfoldable, and on a linear. */
const convNet: ForwardFn = (ops: Ops) => {
  let x = ops.conv(ops.input, 'stem', { out: 8, kernel: 3, stride: 2, padding: 'same' }); // asymmetric pads
  x = ops.act(ops.bn(x, 'stem_bn'), 'relu');
  let y = ops.conv(x, 'grouped', { out: 12, kernel: [3, 1], groups: 4, padding: [0, 1, 2, 0], bias: true });
  y = ops.act(ops.bn(y, 'grouped_bn', 1e-3), 'relu6');
  // Depthwise, dilated, stride 2; its output feeds the BN and an add, so the BN cannot fold.
  const dw = ops.conv(y, 'dw', { out: 12, kernel: 5, stride: 2, dilation: 2, groups: 12, padding: 'same' });
  const z = ops.add(ops.bn(dw, 'dw_bn'), dw);
  const pooled = ops.flatten(ops.globalAvgPool(ops.act(z, 'silu')));
  const h = ops.bn(ops.linear(pooled, 'fc1', 10), 'fc1_bn'); // BN folded into a linear
  const unfolded = ops.bn(ops.act(h, 'gelu'), 'head_bn'); // BN on [N, C] with no linear before it
  return ops.linear(unfolded, 'head', 5, { bias: false });
};

/** Every activation, pooling, gather, shuffle, slice, concat and SE-style gating. */
const miscNet: ForwardFn = (ops: Ops) => {
  const x = ops.conv(ops.input, 'c0', { out: 8, kernel: 1, bias: true });
  const acts: Value[] = (['relu', 'relu6', 'sigmoid', 'silu', 'hardSigmoid', 'hardSwish', 'gelu'] as const).map((k) =>
    ops.slice(ops.act(x, k), 0, 4),
  );
  let y = ops.concat(acts); // 28 channels
  y = ops.gather(y, [27, 3, 3, 0, 14, 9, 20, 1, 5, 26, 11, 7]); // 12 channels, repeats allowed
  y = ops.channelShuffle(y, 3);
  const mp = ops.maxPool(y, { kernel: 3, stride: 2, padding: 'same' });
  const ap = ops.avgPool(y, { kernel: 3, stride: 2, padding: 1 });
  const apx = ops.avgPool(y, { kernel: 3, stride: 2, padding: 1, countIncludePad: false });
  let z = ops.add(ops.add(mp, ap), apx);
  const gate = ops.act(ops.conv(ops.globalAvgPool(z), 'se', { out: 12, kernel: 1, bias: true }), 'hardSigmoid');
  z = ops.mul(z, gate);
  return ops.linear(ops.flatten(z), 'fc', 7);
};

const cases: { name: string; forward: ForwardFn; size: [number, number] }[] = [
  { name: 'convs, BN folding (conv, linear, unfoldable), grouped/depthwise/dilated, asymmetric pads', forward: convNet, size: [17, 14] },
  { name: 'activations, pooling, gather, shuffle, slice, concat, gating', forward: miscNet, size: [9, 10] },
];

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

describe('onnxruntime engine vs a naive float64 reference', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const weights = randomWeights(c.forward, c.size, 7);
      const g = recordGraph(c.forward, { size: c.size, weights });
      const model = await onnxruntimeEngine.load(g, { device: 'cpu', threads: 1 });
      expect(model.backend).toBe('onnxruntime cpu');
      try {
        for (const n of [3, 1]) {
          const input = randomInput(n * 3 * c.size[0] * c.size[1], 100 + n);
          const ours = await model.run(input, n);
          const ref = reference(g, input, n);
          expect(ours.length).toBe(ref.length);
          const scale = Math.max(1, maxAbs(ref));
          let worst = 0;
          for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - ref[i]!));
          expect(worst / scale, `max |diff| ${worst} at scale ${scale}`).toBeLessThan(1e-5);
          expect(maxAbs(ref)).toBeGreaterThan(1e-3); // not a degenerate all-zero output
        }
      } finally {
        await model.dispose();
      }
    });
  }

  it('folds BN into a conv or linear that feeds only it, and keeps the rest as Mul/Add', () => {
    const g = recordGraph(convNet, { size: [17, 14], weights: randomWeights(convNet, [17, 14], 7) });
    const text = new TextDecoder('latin1').decode(graphToOnnx(g));
    expect(text).toContain('d:stem.weight*stem_bn.weight'); // conv weight folded
    expect(text).not.toContain('w:stem.weight');
    expect(text).not.toContain('w:stem_bn.running_var');
    expect(text).toContain('d:fc1.weight*fc1_bn.weight'); // linear weight folded
    expect(text).toContain('d:dw_bn.weight:scale'); // conv output also read by the add: not folded
    expect(text).toContain('w:dw.weight');
    expect(text).toContain('d:head_bn.weight:scale');
  });

  it('reads an input that is a view into a larger buffer (a partial last batch)', async () => {
    const size: [number, number] = [9, 10];
    const g = recordGraph(miscNet, { size, weights: randomWeights(miscNet, size, 3) });
    const model = await onnxruntimeEngine.load(g, { device: 'cpu', threads: 1 });
    try {
      const per = 3 * size[0] * size[1];
      const big = randomInput(4 * 3 * size[0] * size[1], 9);
      const view = big.subarray(per, 3 * per); // images 1 and 2
      const fromView = await model.run(view, 2);
      const fromCopy = await model.run(big.slice(per, 3 * per), 2);
      expect(Array.from(fromView)).toEqual(Array.from(fromCopy));
      await expect(model.run(view, 3)).rejects.toThrow(/3 images/);
    } finally {
      await model.dispose();
    }
  });

  it('is what getEngine returns', async () => {
    expect(await getEngine('onnxruntime')).toBe(onnxruntimeEngine);
  });
});

describe('--device cuda', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('names the exact install command when the CUDA provider is absent', () => {
    const empty = mkdtempSync(join(tmpdir(), 'zoo-ort-'));
    dirs.push(empty);
    let err: unknown;
    try {
      checkCudaAvailable(empty);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EngineError);
    const e = err as EngineError;
    if (process.platform === 'linux' && process.arch === 'x64') {
      expect(e.file).toBe(cudaProviderPath(empty));
      expect(e.fix).toContain(cudaInstallCommand());
      expect(cudaInstallCommand()).toMatch(/^ONNXRUNTIME_NODE_INSTALL=cuda12 node \S+onnxruntime-node\/script\/install\.js$/);
      expect(e.exitCode).toBe(5);
      // ...and passes once the library is there.
      writeFileSync(cudaProviderPath(empty), '');
      expect(() => checkCudaAvailable(empty)).not.toThrow();
    }
  });

  it.skipIf(process.platform === 'linux' && process.arch === 'x64' && existsCuda())(
    'load() refuses cuda on this machine with that EngineError',
    async () => {
      const g = recordGraph(miscNet, { size: [9, 10], weights: randomWeights(miscNet, [9, 10], 1) });
      await expect(onnxruntimeEngine.load(g, { device: 'cuda' })).rejects.toBeInstanceOf(EngineError);
    },
  );
});

function existsCuda(): boolean {
  try {
    checkCudaAvailable();
    return true;
  } catch {
    return false;
  }
}
