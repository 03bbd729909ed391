/**
 * Issue 3 acceptance: `zoo eval` runs end to end as a process for one model of each family, on a
 * small val-227 subset with the recipe checkpoint of its golden key, in every checkpoint format users
 * download: ResNeXt from a torch.save `.pth` (and a training checkpoint `.pth.tar` with
 * DataParallel's `module.` names), CondenseNetV2 from a ppim `.pdparams`, EfficientNetV2 and ReXNet
 * from `.safetensors`. The .pth/.pdparams files are written by test/support/pickle-writer.ts (no
 * Python needed). Each run exits 0 with the final table, and its --json agrees with --predictions.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFlatFolder, readPredictions, runZoo, tempDir, val227Files, writeRecipeCheckpoint, zooLogits, type PredictionRow } from './support/cli.js';
import { compareLogits, goldenManifest, readGolden, recipeCheckpoint } from './support/golden.js';
import { writePdparams, writeTorchZip } from './support/pickle-writer.js';
import { toPpim } from './support/ppim.js';
import { readJson } from './support/trust.js';

const N = 16;
let dir: string;
let flat: string;
let names: string[];

beforeAll(async () => {
  dir = await tempDir('zoo-cli-families-');
  names = await val227Files(N);
  flat = await makeFlatFolder(join(dir, 'val'), names);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `zoo eval` as a process, small batches on one worker and one thread; --json and --predictions read back. */
async function evalRun(model: string, weights: string, tag: string, extra: string[] = []) {
  const json = join(dir, `${tag}.json`);
  const preds = join(dir, `${tag}.csv`);
  const run = await runZoo([
    'eval', model, '--data', flat, '--weights', weights,
    '--batch-size', '8', '--workers', '1', '--threads', '1',
    '--json', json, '--predictions', preds, ...extra,
  ]);
  expect(run.code, run.stderr).toBe(0);
  const result = await readJson(json);
  const rows = await readPredictions(preds);
  return { run, result, rows };
}

/** The whole acceptance check of one run: image count, table, and --json equal to what the rows imply. */
function expectConsistent(arch: string, tag: string, { run, result, rows }: Awaited<ReturnType<typeof evalRun>>): void {
  expect(rows.map((r) => r.file)).toEqual(names);
  expect(result.images).toBe(N);
  expect(result).toMatchObject({ arch, tag, subset: true });
  for (const r of rows) {
    expect(new Set(r.top5).size).toBe(5);
    for (const c of r.top5) expect(Number.isInteger(c) && c >= 0 && c < 1000).toBe(true);
  }
  const hits1 = rows.filter((r) => r.top5[0] === r.label).length;
  const hits5 = rows.filter((r) => r.top5.includes(r.label)).length;
  expect([result.top1_correct, result.top5_correct]).toEqual([hits1, hits5]);
  expect(result.top1).toBe(Math.round((1e6 * hits1) / N) / 1e4);
  expect(result.top5).toBe(Math.round((1e6 * hits5) / N) / 1e4);
  // The final table: model, tag, image count, then the top-1/top-5 rows with the measured values.
  expect(run.stdout).toMatch(new RegExp(`${arch}\\s+${tag}\\s+${N} \\(subset\\)\\s+[\\d.]+\\s+\\S+\\s+onnxruntime cpu`));
  expect(run.stdout).toMatch(new RegExp(`top-1\\s+${result.top1.toFixed(3)}\\s+\\[[\\d.]+, [\\d.]+\\]`));
  expect(run.stdout).toMatch(new RegExp(`top-5\\s+${result.top5.toFixed(3)}\\s+\\[[\\d.]+, [\\d.]+\\]`));
}

/** Same per-image top-5 (same weights, same images): the checkpoint format changes nothing. */
function expectSamePredictions(a: PredictionRow[], b: PredictionRow[]): void {
  expect(b.map((r) => [r.file, r.top5])).toEqual(a.map((r) => [r.file, r.top5]));
  for (let i = 0; i < a.length; i++) expect(b[i]!.margin).toBeCloseTo(a[i]!.margin, 5);
}

describe('zoo eval, one model of each family, every checkpoint format', () => {
  let resnextRows: PredictionRow[];

  it('ResNeXt (resnext50_32x4d) from a torch.save .pth: logits are the upstream model, eval end to end', async () => {
    const key = 'resnext50_32x4d';
    const weights = await writeTorchZip(recipeCheckpoint(key), join(dir, 'resnext50_32x4d.pth'));
    // The .pth really holds the upstream model: golden logits through `zoo logits`, one image.
    const { logits, failure } = await zooLogits(key, 'a_224', weights, dir);
    expect(failure).toBeNull();
    expect(compareLogits(logits!, readGolden(key, 'a_224').logits, goldenManifest()[key]!.outputs.a_224!.margin_top1_top2)).toBeNull();
    const run = await evalRun(key, weights, 'resnext-pth');
    expectConsistent(key, 'a1h_in1k', run);
    resnextRows = run.rows;
  });

  it('ResNeXt from a training checkpoint .pth.tar (epoch, module.-prefixed state_dict): the same predictions', async () => {
    const key = 'resnext50_32x4d';
    const weights = await writeTorchZip(recipeCheckpoint(key), join(dir, 'checkpoint.pth.tar'), {
      training: { epoch: 90, arch: key, prefix: 'module.' },
    });
    // Ground truth chosen so hits are certain (the recipe weights hit nothing on real labels): image i
    // is labelled with the first run's top-1 when i % 4 == 0, its 5th guess when i % 4 == 1, else
    // the real label. The counts must follow.
    expect(resnextRows).toHaveLength(N);
    const labels = resnextRows.map((r, i) => (i % 4 === 0 ? r.top5[0]! : i % 4 === 1 ? r.top5[4]! : r.label));
    const labelFile = join(dir, 'labels.txt');
    await writeFile(labelFile, names.map((n, i) => `${n} ${labels[i]}\n`).join(''));
    const run = await evalRun(key, weights, 'resnext-pth-tar', ['--labels', labelFile]);
    expectConsistent(key, 'a1h_in1k', run);
    expectSamePredictions(resnextRows, run.rows);
    expect(run.rows.map((r) => r.label)).toEqual(labels);
    expect(run.result.top1_correct).toBeGreaterThanOrEqual(N / 4);
    expect(run.result.top5_correct).toBeGreaterThanOrEqual(N / 2);
  });

  it('CondenseNetV2 (cdnv2_a.ppim_in1k) from a ppim .pdparams (Paddle names, [in, out] Linear weights)', async () => {
    const weights = await writePdparams(toPpim('official/cdnv2_a'), join(dir, 'cdnv2_a.pdparams'));
    expectConsistent('cdnv2_a', 'ppim_in1k', await evalRun('cdnv2_a.ppim_in1k', weights, 'cdnv2-pdparams'));
  });

  it('EfficientNetV2 (tf_efficientnetv2_b0) from .safetensors', async () => {
    const weights = await writeRecipeCheckpoint('tf_efficientnetv2_b0', dir);
    expectConsistent('tf_efficientnetv2_b0', 'in1k', await evalRun('tf_efficientnetv2_b0', weights, 'effv2-safetensors'));
  });

  it('ReXNet (rexnet_100) from .safetensors', async () => {
    const weights = await writeRecipeCheckpoint('rexnet_100', dir);
    expectConsistent('rexnet_100', 'nav_in1k', await evalRun('rexnet_100', weights, 'rexnet-safetensors'));
  });
});
