/**
 * Issue 11: `zoo export --format tfjs-graph|tfjs-layers` writes a TF.js model (model.json + shards +
 * timm config.json); `zoo eval` of it gives the same per-image top-5 as `zoo eval` of the ONNX export
 * of the same weights. Acceptance: tf_efficientnetv2_b0 as graph and as layers model on 300 val
 * images, as the issue asks. Op coverage: one parameter-light architecture
 * per family as a graph model on a few images (ReXNet: slices, concat, relu6/silu; ResNeXt: grouped convs, padded max pool; CondenseNetV2:
 * gathers, channel shuffle, hard-swish, average pools; EfficientNetV2: asymmetric "same" padding,
 * depthwise convs, SE gating). Recipe weights, small input sizes, so the file stays cheap.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFlatFolder, readPredictions, runZoo, tempDir, val227Files, writeRecipeCheckpoint } from './support/cli.js';

const FEW = 8;
/** The acceptance: 300 val images (~25 s for this test on 2 cores). */
const ACCEPTANCE = 300;

let root: string;
let few: string;
let many: string;

beforeAll(async () => {
  root = await tempDir('zoo-export-tfjs-');
  const names = await val227Files(ACCEPTANCE);
  expect(names).toHaveLength(ACCEPTANCE);
  few = await makeFlatFolder(join(root, 'val-few'), names.slice(0, FEW));
  many = await makeFlatFolder(join(root, 'val-many'), names);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

type Format = 'onnx' | 'tfjs-graph' | 'tfjs-layers';

/** `zoo export arch --format F` into its own folder; the ONNX one gets the config.json a TF.js export wrote. */
async function exportAs(arch: string, weights: string, size: number, format: Format): Promise<string> {
  const dir = join(root, `${arch}-${format}`);
  if (format === 'onnx') {
    await mkdir(dir);
    const r = await runZoo(['export', arch, '--weights', weights, '--output', join(dir, 'model.onnx'), '--img-size', String(size), '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    await copyFile(join(root, `${arch}-tfjs-graph`, 'config.json'), join(dir, 'config.json')).catch(() => copyFile(join(root, `${arch}-tfjs-layers`, 'config.json'), join(dir, 'config.json')));
    return dir;
  }
  const r = await runZoo(['export', arch, '--weights', weights, '--format', format, '--output', dir, '--img-size', String(size)]);
  expect(r.code, r.stderr).toBe(0);
  const kind = format.slice('tfjs-'.length);
  expect(r.stderr).toMatch(new RegExp(`wrote .*${arch}-${format} .*TF\\.js ${kind} model, input \\[N, ${size}, ${size}, 3\\]`));
  const files = await readdir(dir);
  expect(files).toContain('model.json');
  expect(files).toContain('config.json');
  expect(files.some((f) => /^group1-shard1of\d+\.bin$/.test(f))).toBe(true);
  return join(dir, 'model.json');
}

/** Per-image top-5 of `zoo eval model --data data`, the eval config from the exported config.json. */
async function top5(model: string, data: string, tag: string, extra: readonly string[] = []): Promise<number[][]> {
  const csv = join(root, `${tag}.csv`);
  const e = await runZoo(['eval', model, '--data', data, '--predictions', csv, '--quiet', ...extra]);
  expect(e.code, e.stderr).toBe(0);
  // tfjs-converter's executeAsync() warns at every batch on a graph without control flow; zoo runs
  // such graphs with execute(), so --quiet leaves stderr silent.
  expect(e.stderr).not.toMatch(/model\.execute\(\) instead/);
  return (await readPredictions(csv)).map((p) => p.top5);
}

async function topology(model: string): Promise<{ format: string; modelTopology: { node?: { op: string }[]; config?: { layers: { class_name: string }[] } } }> {
  return JSON.parse(await readFile(model, 'utf8'));
}

describe('zoo export --format tfjs-graph / tfjs-layers (acceptance)', () => {
  it(`tf_efficientnetv2_b0: graph and layers models give the ONNX export's top-5 on ${ACCEPTANCE} val images`, { timeout: 300_000 }, async () => {
    const arch = 'tf_efficientnetv2_b0';
    const weights = await writeRecipeCheckpoint(arch, root);
    const graph = await exportAs(arch, weights, 96, 'tfjs-graph');
    const layers = await exportAs(arch, weights, 96, 'tfjs-layers');
    const onnx = await exportAs(arch, weights, 96, 'onnx');
    const want = await top5(onnx, many, `${arch}.onnx`);
    expect(want).toHaveLength(ACCEPTANCE);
    // Distinct predictions, so agreement means something.
    expect(new Set(want.map((p) => p[0])).size).toBeGreaterThan(5);
    // The folder form: zoo finds model.json and the config.json the export wrote beside it.
    const json = join(root, `${arch}.graph.json`);
    expect(await top5(dirname(graph), many, `${arch}.graph`, ['--json', json])).toEqual(want);
    const result = JSON.parse(await readFile(json, 'utf8')) as { engine: string; config_sources: Record<string, string> };
    expect(result.engine).toBe('tfjs');
    expect(result.config_sources).toMatchObject({ input_size: 'config.json input_size', mean: 'config.json', crop_pct: 'config.json crop_pct' });
    expect(await top5(layers, many, `${arch}.layers`)).toEqual(want);
    expect((await topology(graph)).format).toBe('graph-model');
    const l = await topology(layers);
    expect(l.format).toBe('layers-model');
    const classes = new Set(l.modelTopology.config!.layers.map((x) => x.class_name));
    for (const c of ['InputLayer', 'ZeroPadding2D', 'Conv2D', 'DepthwiseConv2D', 'Activation', 'Multiply', 'Add', 'GlobalAveragePooling2D', 'Dense']) expect(classes).toContain(c);
  });
});

describe('zoo export --format tfjs-graph, one architecture per family', () => {
  for (const [arch, key, size, ops] of [
    ['rexnet_100', 'rexnet_100', 96, ['Slice', 'ConcatV2', 'Relu6']],
    ['resnext50_32x4d', 'resnext50_32x4d', 64, ['Split', 'PadV2', 'MaxPool']],
    ['cdnv2_a', 'official/cdnv2_a', 224, ['GatherV2', 'AvgPool', 'RealDiv']],
  ] as const) {
    it(`${arch}: the TF.js graph model gives the ONNX export's top-5 on ${FEW} images`, { timeout: 300_000 }, async () => {
      const weights = await writeRecipeCheckpoint(key, root);
      const graph = await exportAs(arch, weights, size, 'tfjs-graph');
      const onnx = await exportAs(arch, weights, size, 'onnx');
      const want = await top5(onnx, few, `${arch}.onnx`);
      expect(new Set(want.map((p) => p[0])).size).toBeGreaterThan(1);
      expect(await top5(graph, few, `${arch}.graph`)).toEqual(want);
      const present = new Set((await topology(graph)).modelTopology.node!.map((n) => n.op));
      for (const op of ops) expect(present).toContain(op);
    });
  }
});

describe('zoo export --format tfjs refusals', () => {
  it('tfjs-layers on grouped convs, slices or shuffles: one line naming them, exit 2, nothing written', { timeout: 120_000 }, async () => {
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
