/**
 * Paddle-Image-Models ("ppim") checkpoints: the recipe checkpoint (upstream PyTorch naming) laid
 * out as ppim's state_dict, for tests that write .pdparams files.
 *
 * The layout is rebuilt here from ppim's own model code, independently of
 * src/models/weights/paddle.ts (AgentMaker/Paddle-Image-Models, ppim/models/cdnv2.py and
 * ppim/models/rexnetv1.py, read for this test):
 *
 * - cdnv2.py: `features` is an nn.Sequential with sublayers added by name: `init_conv`,
 *   `denseblock_{i}` (of `denselayer_{j}`), `transition_{i}` (pool only), `norm_last`,
 *   `relu_last`, `pool_last`, `se_last`; a dense layer has `conv_1` (CondenseLGC: `norm`, `conv`,
 *   buffer `index` int64 [in]), `conv_2` (Conv, a Sequential of `norm`, `activation`, `conv`),
 *   `sfr` (CondenseSFR: `norm`, `conv`, buffer `index` float32 [out, out]) and, from block 4,
 *   `se` (SELayer: `fc` = Sequential(Linear, ReLU, Linear, Sigmoid), no biases); the head is
 *   `fc` = Linear(num_features, fc_channel) and `classifier` = Linear(fc_channel, class_dim).
 * - rexnetv1.py (ReXNetV1, rexnet_100 .. rexnet_300, files named rexnetv1_1.0x.pdparams ...):
 *   `features` = Sequential of ConvBN's appended layers: conv, bn, swish at 0-2, then one
 *   LinearBottleneck per block whose `out` Sequential holds [conv, bn, swish] (t != 1),
 *   conv_dw, bn, [SE], ReLU6, conv, bn; SE.fc = Sequential(Conv2D+bias, BN, ReLU, Conv2D+bias,
 *   Sigmoid); then the penultimate conv, bn, swish, AdaptiveAvgPool2D; `output` = Sequential(
 *   Dropout, Conv2D(pen, class_dim, 1) with bias).
 * - Paddle layers: BatchNorm2D saves `weight`, `bias`, `_mean`, `_variance` (no
 *   num_batches_tracked); Linear saves `weight` as [in, out] and `bias`; Conv2D as PyTorch.
 */
import { expect } from 'vitest';
import type { HostTensor } from '../../src/models/graph.js';
import { recipeCheckpoint } from './golden.js';

/** One entry of a ppim state_dict: Paddle shape, and whether it is an nn.Linear weight ([in, out]). */
interface PpimEntry {
  shape: number[];
  linear?: boolean;
  int64?: boolean;
}
type PpimLayout = Map<string, PpimEntry>;

function paddleBn(out: PpimLayout, prefix: string, c: number): void {
  for (const p of ['weight', 'bias', '_mean', '_variance']) out.set(`${prefix}.${p}`, { shape: [c] });
}

/** ppim/models/cdnv2.py CondenseNetV2.__init__ / add_block, as the state_dict it produces. */
function ppimCdnv2(stages: number[], growth: number[], fcChannel: number, group: number): PpimLayout {
  const out: PpimLayout = new Map();
  const bottleneck = 4;
  let num = 2 * growth[0]!;
  out.set('features.init_conv.weight', { shape: [num, 3, 3, 3] });
  stages.forEach((layers, i) => {
    const k = growth[i]!;
    for (let l = 0; l < layers; l++) {
      const cin = num + l * k;
      const p = `features.denseblock_${i + 1}.denselayer_${l + 1}`;
      paddleBn(out, `${p}.conv_1.norm`, cin);
      out.set(`${p}.conv_1.conv.weight`, { shape: [bottleneck * k, cin / group, 1, 1] });
      out.set(`${p}.conv_1.index`, { shape: [cin], int64: true });
      paddleBn(out, `${p}.conv_2.norm`, bottleneck * k);
      out.set(`${p}.conv_2.conv.weight`, { shape: [k, (bottleneck * k) / group, 3, 3] });
      paddleBn(out, `${p}.sfr.norm`, k);
      out.set(`${p}.sfr.conv.weight`, { shape: [cin, k / group, 1, 1] });
      out.set(`${p}.sfr.index`, { shape: [cin, cin] });
      if (i >= 3) {
        // SELayer(inplanes=growth_rate, reduction=1): two square Linears.
        out.set(`${p}.se.fc.0.weight`, { shape: [k, k], linear: true });
        out.set(`${p}.se.fc.2.weight`, { shape: [k, k], linear: true });
      }
    }
    num += layers * k;
  });
  paddleBn(out, 'features.norm_last', num);
  const r = Math.floor(num / 16);
  out.set('features.se_last.fc.0.weight', { shape: [num, r], linear: true });
  out.set('features.se_last.fc.2.weight', { shape: [r, num], linear: true });
  out.set('fc.weight', { shape: [num, fcChannel], linear: true });
  out.set('fc.bias', { shape: [fcChannel] });
  out.set('classifier.weight', { shape: [fcChannel, 1000], linear: true });
  out.set('classifier.bias', { shape: [1000] });
  return out;
}

/** Python's round(): half to even, as ReXNetV1's channel formula uses it. */
function pyRound(x: number): number {
  const f = Math.floor(x);
  if (x - f !== 0.5) return Math.round(x);
  return f % 2 === 0 ? f : f + 1;
}

/**
 * ppim/models/rexnetv1.py ReXNetV1.__init__ (width_mult >= 1, depth_mult 1), as its state_dict
 * (strides do not change it).
 */
function ppimRexnetV1(width: number): PpimLayout {
  const out: PpimLayout = new Map();
  const layers = [1, 2, 2, 3, 3, 5];
  const useSes = layers.flatMap((n, i) => Array<boolean>(n).fill([false, false, true, true, true, true][i]!));
  const ts = layers.flatMap((n, i) => Array<number>(n).fill(i === 0 ? 1 : 6));
  const blocks = useSes.length;
  const inC: number[] = [];
  const outC: number[] = [];
  let inplanes = 16;
  for (let i = 0; i < blocks; i++) {
    if (i === 0) {
      inC.push(pyRound(32 * width));
      outC.push(pyRound(inplanes * width));
    } else {
      inC.push(pyRound(inplanes * width));
      inplanes += 180 / blocks;
      outC.push(pyRound(inplanes * width));
    }
  }
  let pos = 0;
  const convBn = (prefix: string, o: number, i: number, k: number, groups = 1) => {
    out.set(`${prefix}.${pos++}.weight`, { shape: [o, i / groups, k, k] });
    paddleBn(out, `${prefix}.${pos++}`, o);
  };
  convBn('features', pyRound(32 * width), 3, 3);
  pos++; // Swish
  for (let b = 0; b < blocks; b++) {
    const p = `features.${pos++}.out`;
    const saved = pos;
    pos = 0;
    const dw = ts[b] !== 1 ? inC[b]! * ts[b]! : inC[b]!;
    if (ts[b] !== 1) {
      convBn(p, dw, inC[b]!, 1);
      pos++; // Swish
    }
    convBn(p, dw, dw, 3, dw);
    if (useSes[b]) {
      const se = `${p}.${pos++}.fc`;
      const mid = Math.floor(dw / 12);
      out.set(`${se}.0.weight`, { shape: [mid, dw, 1, 1] });
      out.set(`${se}.0.bias`, { shape: [mid] });
      paddleBn(out, `${se}.1`, mid);
      out.set(`${se}.3.weight`, { shape: [dw, mid, 1, 1] });
      out.set(`${se}.3.bias`, { shape: [dw] });
    }
    pos++; // ReLU6
    convBn(p, outC[b]!, dw, 1);
    pos = saved;
  }
  const pen = Math.trunc(1280 * width);
  convBn('features', pen, outC[blocks - 1]!, 1);
  out.set('output.1.weight', { shape: [1000, pen, 1, 1] });
  out.set('output.1.bias', { shape: [1000] });
  return out;
}

export const PPIM_LAYOUT: Record<string, () => PpimLayout> = {
  'official/cdnv2_a': () => ppimCdnv2([1, 1, 4, 6, 8], [8, 8, 16, 32, 64], 828, 8),
  'official/rexnetv1_1.0x': () => ppimRexnetV1(1.0),
};

/** The PyTorch tensor a ppim entry holds: BatchNorm statistics renamed, Linear weights transposed. */
export function torchNameOf(ppimName: string): string {
  return ppimName.replace(/\._mean$/, '.running_mean').replace(/\._variance$/, '.running_var');
}

function transposed(t: HostTensor): HostTensor {
  const [r, c] = t.shape as [number, number];
  const src = t.data as Float32Array;
  const data = new Float32Array(src.length);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) data[j * r + i] = src[i * c + j]!;
  return { dtype: 'float32', shape: [c, r], data };
}

/** The recipe checkpoint of `key` as ppim's state_dict; every upstream tensor must find its place. */
export function toPpim(key: string): Map<string, HostTensor> {
  const torch = recipeCheckpoint(key);
  const used = new Set<string>();
  const out = new Map<string, HostTensor>();
  for (const [name, e] of PPIM_LAYOUT[key]!()) {
    const src = torch.get(torchNameOf(name));
    if (!src) throw new Error(`${key}: ppim's ${name} has no upstream tensor ${torchNameOf(name)}`);
    used.add(torchNameOf(name));
    const t = e.linear ? transposed(src) : src;
    expect(t.shape, name).toEqual(e.shape);
    expect(t.dtype, name).toBe(e.int64 ? 'int64' : 'float32');
    out.set(name, t);
  }
  const left = [...torch.keys()].filter((n) => !used.has(n) && !n.endsWith('num_batches_tracked'));
  expect(left, `${key}: upstream tensors ppim does not have`).toEqual([]);
  return out;
}
