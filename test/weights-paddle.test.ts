/**
 * Paddle (.pdparams) checkpoints of the Paddle-Image-Models ("ppim") ports load into our models.
 *
 * The ppim state_dict layout is rebuilt here from ppim's own model code, independently of
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
 *
 * The recipe checkpoint (upstream PyTorch naming) is laid out that way, saved by real numpy
 * pickling (/usr/bin/python3) as a protocol-2 `.pdparams` the way paddle.save writes it (with the
 * StructuredToParameterName@@ table, numpy 1.x `numpy.core.multiarray._reconstruct` globals), run
 * through `zoo logits --weights FILE.pdparams`, and compared with the golden logits.
 */
import { spawnSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNpy } from '../src/data/npy.js';
import { WeightsError } from '../src/errors.js';
import { findArchitecture } from '../src/models/architectures.js';
import type { HostTensor } from '../src/models/graph.js';
import { recordGraph } from '../src/models/record.js';
import { loadCheckpoint } from '../src/models/weights/index.js';
import { fromPaddle, isPaddleCheckpoint } from '../src/models/weights/paddle.js';
import { runZoo, tempDir } from './support/cli.js';
import { compareLogits, GOLDEN_MODELS, goldenManifest, readGolden, recipeCheckpoint } from './support/golden.js';

// ---- ppim's state_dict layout, from its model code ------------------------------------------------

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

const PPIM_LAYOUT: Record<string, () => PpimLayout> = {
  'official/cdnv2_a': () => ppimCdnv2([1, 1, 4, 6, 8], [8, 8, 16, 32, 64], 828, 8),
  'official/rexnetv1_1.0x': () => ppimRexnetV1(1.0),
};

/** The PyTorch tensor a ppim entry holds: BatchNorm statistics renamed, Linear weights transposed. */
function torchNameOf(ppimName: string): string {
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
function toPpim(key: string): Map<string, HostTensor> {
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

// ---- writing a .pdparams with numpy ------------------------------------------------------------------

const PYTHON = '/usr/bin/python3';

/** numpy arrays from raw bytes, pickled (protocol 2) as paddle.save lays a state_dict out. */
const WRITER = `
import json, pickle, sys
import numpy as np
src, dst = sys.argv[1], sys.argv[2]
index = json.load(open(src + '/index.json'))
raw = open(src + '/tensors.bin', 'rb').read()
state, table = {}, {}
for i, e in enumerate(index):
    a = np.frombuffer(raw, dtype=e['dtype'], count=e['count'], offset=e['offset']).reshape(e['shape']).copy()
    state[e['name']] = a
    table[e['name']] = 'param_%d.w_0' % i
state['StructuredToParameterName@@'] = table
b = pickle.dumps(state, protocol=2)
# numpy >= 2 names its module numpy._core; the ppim files were written by numpy 1.x.
old, new = b'cnumpy._core.multiarray\\n_reconstruct\\n', b'cnumpy.core.multiarray\\n_reconstruct\\n'
if old in b:
    b = b.replace(old, new)
if new not in b:
    sys.exit('no numpy.core.multiarray._reconstruct in the pickle')
open(dst, 'wb').write(b)
`;

async function writePdparams(state: ReadonlyMap<string, HostTensor>, dir: string, file: string): Promise<string> {
  const chunks: Buffer[] = [];
  const index: { name: string; dtype: string; count: number; offset: number; shape: readonly number[] }[] = [];
  let offset = 0;
  for (const [name, t] of state) {
    const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    index.push({ name, dtype: t.dtype === 'int64' ? '<i8' : '<f4', count: t.data.length, offset, shape: t.shape });
    chunks.push(bytes);
    offset += bytes.length;
  }
  await writeFile(join(dir, 'tensors.bin'), Buffer.concat(chunks));
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
  const out = join(dir, file);
  const r = spawnSync(PYTHON, ['-c', WRITER, dir, out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${PYTHON} (with numpy) could not write ${file}: ${r.error?.message ?? r.stderr}`);
  return out;
}

// ---- tests ------------------------------------------------------------------------------------------------

const f32 = (shape: number[], values: number[]): HostTensor => ({ dtype: 'float32', shape, data: Float32Array.from(values) });

describe('fromPaddle', () => {
  const cdnv2a = findArchitecture('cdnv2_a')!;

  it('renames BatchNorm statistics and transposes Linear weights, square ones included', () => {
    const paddle = new Map<string, HostTensor>([
      ['features.norm_last._mean', f32([2], [1, 2])],
      ['features.norm_last._variance', f32([2], [3, 4])],
      ['x.se.fc.0.weight', f32([2, 2], [1, 2, 3, 4])],
      ['fc.weight', f32([2, 3], [1, 2, 3, 4, 5, 6])],
      ['fc.bias', f32([3], [7, 8, 9])],
      ['features.init_conv.weight', f32([1, 1, 1, 2], [5, 6])],
      ['x.conv_1.index', { dtype: 'int64', shape: [2], data: BigInt64Array.from([1n, 0n]) }],
      ['x.sfr.index', f32([2, 2], [0, 1, 1, 0])],
    ]);
    expect(isPaddleCheckpoint(paddle)).toBe(true);
    const t = fromPaddle(paddle, cdnv2a, 'x.pdparams');
    expect([...t.keys()]).toEqual([
      'features.norm_last.running_mean',
      'features.norm_last.running_var',
      'x.se.fc.0.weight',
      'fc.weight',
      'fc.bias',
      'features.init_conv.weight',
      'x.conv_1.index',
      'x.sfr.index',
    ]);
    expect([...t.get('x.se.fc.0.weight')!.data]).toEqual([1, 3, 2, 4]);
    expect(t.get('fc.weight')!.shape).toEqual([3, 2]);
    // Paddle [in=2, out=3] rows (1 2 3), (4 5 6) -> PyTorch [out=3, in=2] rows (1 4), (2 5), (3 6).
    expect([...t.get('fc.weight')!.data]).toEqual([1, 4, 2, 5, 3, 6]);
    // Conv weights, biases and CondenseNetV2's buffers pass through as they are.
    expect(t.get('features.init_conv.weight')).toBe(paddle.get('features.init_conv.weight'));
    expect(t.get('x.sfr.index')).toBe(paddle.get('x.sfr.index'));
    expect(t.get('x.conv_1.index')).toBe(paddle.get('x.conv_1.index'));
  });

  it('tells Paddle from PyTorch by content, and by the .pdparams extension when there is no BatchNorm', () => {
    const torch = new Map([['bn.running_mean', f32([1], [0])], ['fc.weight', f32([1, 1], [1])]]);
    expect(isPaddleCheckpoint(torch)).toBe(false);
    expect(isPaddleCheckpoint(torch, 'misnamed.pdparams')).toBe(false);
    const noBn = new Map([['fc.weight', f32([1, 1], [1])]]);
    expect(isPaddleCheckpoint(noBn, 'head.safetensors')).toBe(false);
    expect(isPaddleCheckpoint(noBn, 'head.PDPARAMS')).toBe(true);
  });

  it('refuses a checkpoint holding both namings of one statistic', () => {
    const mixed = new Map([['bn._mean', f32([1], [0])], ['bn.running_mean', f32([1], [0])]]);
    expect(() => fromPaddle(mixed, cdnv2a, 'mixed.pdparams')).toThrow(WeightsError);
    expect(() => fromPaddle(mixed, cdnv2a, 'mixed.pdparams')).toThrow(/bn\._mean and bn\.running_mean are both/);
  });

  it("points ppim's clovaai-named ReXNet at rexnetv1_*x when asked to load it as timm's rexnet_100", () => {
    const ppim = toPpim('official/rexnetv1_1.0x');
    const err = (() => {
      try {
        fromPaddle(ppim, findArchitecture('rexnet_100')!, 'r.pdparams');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(WeightsError);
    expect((err as WeightsError).oneLine()).toMatch(/clovaai\/rexnet naming.*run it as rexnetv1_1\.0x/);
    expect(() => fromPaddle(ppim, findArchitecture('rexnetv1_1.0x')!, 'r.pdparams')).not.toThrow();
  });
});

describe("ppim's state_dict layout", () => {
  it('cdnv2_a: ppim names are the official converted names with Paddle BatchNorm/Linear conventions', () => {
    const ppim = toPpim('official/cdnv2_a');
    // Literal names as ppim/models/cdnv2.py's add_sublayer / attribute names produce them.
    for (const [name, shape] of [
      ['features.init_conv.weight', [16, 3, 3, 3]],
      ['features.denseblock_1.denselayer_1.conv_1.norm._mean', [16]],
      ['features.denseblock_1.denselayer_1.conv_1.index', [16]],
      ['features.denseblock_1.denselayer_1.sfr.index', [16, 16]],
      ['features.denseblock_4.denselayer_6.se.fc.2.weight', [32, 32]],
      ['features.norm_last._variance', [800]],
      ['features.se_last.fc.0.weight', [800, 50]],
      ['fc.weight', [800, 828]],
      ['classifier.weight', [828, 1000]],
    ] as const) {
      expect(ppim.get(name)?.shape, name).toEqual(shape);
    }
    expect([...ppim.keys()].some((k) => /running_|num_batches_tracked/.test(k))).toBe(false);
    const back = fromPaddle(ppim, findArchitecture('cdnv2_a')!);
    expect(() => recordGraph(findArchitecture('cdnv2_a')!.forward, { size: [224, 224], weights: back })).not.toThrow();
  });

  it('rexnet (rexnetv1.py): clovaai/rexnet Sequential positions, Paddle BatchNorm names', () => {
    const ppim = toPpim('official/rexnetv1_1.0x');
    for (const [name, shape] of [
      ['features.1._mean', [32]],
      ['features.3.out.0.weight', [32, 1, 3, 3]],
      ['features.4.out.4._variance', [96]],
      ['features.8.out.5.fc.0.weight', [30, 366, 1, 1]],
      ['features.8.out.5.fc.1._mean', [30]],
      ['features.19.weight', [1280, 185, 1, 1]],
      ['output.1.weight', [1000, 1280, 1, 1]],
    ] as const) {
      expect(ppim.get(name)?.shape, name).toEqual(shape);
    }
  });
});

describe('zoo logits --weights FILE.pdparams (ppim layout, numpy-pickled)', () => {
  let dir: string;
  const files: Record<string, string> = {};
  beforeAll(async () => {
    dir = await tempDir('zoo-paddle-');
    files.cdnv2 = await writePdparams(toPpim('official/cdnv2_a'), dir, 'cdnv2_a.pdparams');
    files.rexnet = await writePdparams(toPpim('official/rexnetv1_1.0x'), dir, 'rexnetv1_1.0x.pdparams');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the written file is a numpy-1.x style protocol-2 pickle that loadCheckpoint reads in ppim naming', async () => {
    const bytes = await readFile(files.cdnv2!);
    expect([bytes[0], bytes[1]]).toEqual([0x80, 2]);
    expect(bytes.includes('cnumpy.core.multiarray\n_reconstruct\n')).toBe(true);
    expect(bytes.includes('StructuredToParameterName@@')).toBe(true);
    const m = await loadCheckpoint(files.cdnv2!);
    expect(m.get('features.se_last.fc.0.weight')?.shape).toEqual([800, 50]);
    expect(m.get('features.denseblock_1.denselayer_1.conv_1.index')?.dtype).toBe('int64');
    expect(m.has('features.norm_last._mean')).toBe(true);
  });

  for (const [model, which] of [
    ['official/cdnv2_a', 'cdnv2'],
    ['official/rexnetv1_1.0x', 'rexnet'],
  ] as const) {
    it(`${model}: logits equal the upstream model's`, async () => {
      const output = join(dir, `${which}.out.npy`);
      const input = join(GOLDEN_MODELS, 'inputs', 'a_224.npy');
      const run = await runZoo(['logits', model, '--weights', files[which]!, '--input', input, '--output', output, '--quiet']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const ours = parseNpy(await readFile(output), output);
      const margins = goldenManifest()[model]!.outputs.a_224!.margin_top1_top2;
      expect(compareLogits(ours.data, readGolden(model, 'a_224').logits, margins)).toBeNull();
    });
  }

  it("timm's rexnet_100 given ppim's rexnetv1_1.0x.pdparams exits 4 naming the architecture to use", async () => {
    const input = join(GOLDEN_MODELS, 'inputs', 'a_224.npy');
    const run = await runZoo(['logits', 'rexnet_100', '--weights', files.rexnet!, '--input', input, '--output', join(dir, 'x.npy')]);
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/clovaai\/rexnet naming.*run it as rexnetv1_1\.0x/);
  });
});
