/**
 * Paddle (.pdparams) checkpoints of the Paddle-Image-Models ("ppim") ports load into our models.
 *
 * The recipe checkpoint (upstream PyTorch naming) is laid out as ppim's state_dict (test/support/
 * ppim.ts, rebuilt from ppim's model code), saved as a protocol-2 `.pdparams` the way paddle.save
 * writes it with numpy 1.x (StructuredToParameterName@@ table, `numpy.core.multiarray._reconstruct`
 * globals; test/support/pickle-writer.ts, no Python needed), run through
 * `zoo logits --weights FILE.pdparams`, and compared with the golden logits.
 */
import { readFile, rm } from 'node:fs/promises';
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
import { compareLogits, GOLDEN_MODELS, goldenManifest, readGolden } from './support/golden.js';
import { writePdparams } from './support/pickle-writer.js';
import { toPpim } from './support/ppim.js';

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

describe('zoo logits --weights FILE.pdparams (ppim layout, numpy-1.x pickle)', () => {
  let dir: string;
  const files: Record<string, string> = {};
  beforeAll(async () => {
    dir = await tempDir('zoo-paddle-');
    files.cdnv2 = await writePdparams(toPpim('official/cdnv2_a'), join(dir, 'cdnv2_a.pdparams'));
    files.rexnet = await writePdparams(toPpim('official/rexnetv1_1.0x'), join(dir, 'rexnetv1_1.0x.pdparams'));
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
