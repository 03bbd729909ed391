/**
 * Issue 11: `zoo export --format tfjs-graph` writes a TF.js graph model (model.json + shards +
 * timm config.json) for every built-in family; `zoo eval DIR/model.json` then gives the same
 * per-image top-5 as `zoo eval` of the ONNX export of the same weights. One parameter-light
 * architecture per family, recipe weights, a small input size so the whole file stays cheap.
 */
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFlatFolder, readPredictions, runZoo, tempDir, val227Files, writeRecipeCheckpoint } from './support/cli.js';

let root: string;
let data: string;

beforeAll(async () => {
  root = await tempDir('zoo-export-tfjs-');
  data = await makeFlatFolder(join(root, 'val'), await val227Files(Number(process.env.ZOO_EXPORT_IMAGES ?? 8)));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Exports `arch` both ways and returns the two prediction lists (ONNX first). */
async function bothWays(arch: string, key: string, size: number, kind: 'graph' | 'layers' = 'graph'): Promise<{ onnx: number[][]; tfjs: number[][]; files: string[] }> {
  const weights = await writeRecipeCheckpoint(key, root);
  const tfjsDir = join(root, `${arch}-tfjs-${kind}`);
  const onnxDir = join(root, `${arch}-onnx-${kind}`);
  let r = await runZoo(['export', arch, '--weights', weights, '--format', `tfjs-${kind}`, '--output', tfjsDir, '--img-size', String(size)]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toMatch(new RegExp(`wrote .*${arch}-tfjs-${kind} .*TF\\.js ${kind} model, input \\[N, ${size}, ${size}, 3\\]`));
  // The ONNX export goes in a folder of its own, with the config.json the TF.js export wrote.
  await mkdir(onnxDir);
  r = await runZoo(['export', arch, '--weights', weights, '--output', join(onnxDir, 'model.onnx'), '--img-size', String(size), '--quiet']);
  expect(r.code, r.stderr).toBe(0);
  await copyFile(join(tfjsDir, 'config.json'), join(onnxDir, 'config.json'));
  const preds: number[][][] = [];
  for (const [name, model] of [['onnx', onnxDir], ['tfjs', join(tfjsDir, 'model.json')]] as const) {
    const csv = join(root, `${arch}.${kind}.${name}.csv`);
    const e = await runZoo(['eval', model, '--data', data, '--predictions', csv, '--quiet']);
    expect(e.code, e.stderr).toBe(0);
    preds.push((await readPredictions(csv)).map((p) => p.top5));
  }
  return { onnx: preds[0]!, tfjs: preds[1]!, files: (await readdir(tfjsDir)).sort() };
}

describe('zoo export --format tfjs-graph', () => {
  for (const [arch, key, size] of [
    ['rexnet_100', 'rexnet_100', 96],
    ['tf_efficientnetv2_b0', 'tf_efficientnetv2_b0', 96],
    ['resnext50_32x4d', 'resnext50_32x4d', 64],
    ['cdnv2_a', 'official/cdnv2_a', 224],
  ] as const) {
    it(`${arch}: the TF.js graph model gives the ONNX export's top-5 on every image`, { timeout: 300_000 }, async () => {
      const { onnx, tfjs, files } = await bothWays(arch, key, size);
      expect(files).toContain('model.json');
      expect(files).toContain('config.json');
      expect(files.some((f) => /^group1-shard1of\d+\.bin$/.test(f))).toBe(true);
      expect(tfjs).toEqual(onnx);
      // Distinct predictions, so agreement means something.
      expect(new Set(onnx.map((p) => p[0])).size).toBeGreaterThan(1);
      const model = JSON.parse(await readFile(join(root, `${arch}-tfjs-graph`, 'model.json'), 'utf8')) as { format: string; modelTopology: { node: { op: string }[] } };
      expect(model.format).toBe('graph-model');
    });
  }
});

describe('zoo export --format tfjs-layers', () => {
  it('tf_efficientnetv2_b0: the Keras layers model gives the ONNX export\'s top-5 on every image', { timeout: 300_000 }, async () => {
    const { onnx, tfjs } = await bothWays('tf_efficientnetv2_b0', 'tf_efficientnetv2_b0', 96, 'layers');
    expect(tfjs).toEqual(onnx);
    const model = JSON.parse(await readFile(join(root, 'tf_efficientnetv2_b0-tfjs-layers', 'model.json'), 'utf8')) as { format: string; modelTopology: { class_name: string; config: { layers: { class_name: string }[] } } };
    expect(model.format).toBe('layers-model');
    const classes = new Set(model.modelTopology.config.layers.map((l) => l.class_name));
    for (const c of ['InputLayer', 'ZeroPadding2D', 'Conv2D', 'DepthwiseConv2D', 'Activation', 'Multiply', 'Add', 'GlobalAveragePooling2D', 'Dense']) expect(classes).toContain(c);
  });

  it('an architecture with grouped convs, slices or shuffles: one line naming them, exit 2, nothing written', { timeout: 120_000 }, async () => {
    for (const [arch, key, size, what] of [
      ['resnext50_32x4d', 'resnext50_32x4d', 64, /grouped convolutions \(groups=32/],
      ['rexnet_100', 'rexnet_100', 96, /channel slices/],
      ['cdnv2_a', 'official/cdnv2_a', 224, /channel index selection.*channel shuffles|channel shuffles.*channel index selection/],
    ] as const) {
      const weights = await writeRecipeCheckpoint(key, root);
      const dir = join(root, `${arch}-refused`);
      const r = await runZoo(['export', arch, '--weights', weights, '--format', 'tfjs-layers', '--output', dir, '--img-size', String(size)]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(what);
      expect(r.stderr).toMatch(/which a Keras layers model cannot express; export --format tfjs-graph instead/);
      expect(existsSync(dir)).toBe(false);
    }
  });
});

describe('zoo export --format tfjs-graph refusals', () => {
  it('a non-empty --output folder: one line, exit 2, nothing read or written', async () => {
    const dir = join(root, 'busy');
    await mkdir(dir);
    await writeFile(join(dir, 'keep.txt'), 'mine');
    const r = await runZoo(['export', 'rexnet_100', '--weights', join(root, 'no-such.safetensors'), '--format', 'tfjs', '--output', dir]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/busy: --output folder is not empty; name a new or empty folder/);
    expect(await readdir(dir)).toEqual(['keep.txt']);
  });
});
