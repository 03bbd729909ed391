/**
 * `zoo eval` as a process on real val JPEGs (a val-227 subset laid out flat and as an ImageFolder
 * tree) with a recipe checkpoint: exit 0, the final table, --json agreeing with --predictions, and
 * the same per-image predictions whatever the batch size or worker count.
 */
import { rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson } from './support/trust.js';
import {
  makeFlatFolder,
  makeImageFolder,
  readPredictions,
  runZoo,
  tempDir,
  val227Files,
  writeRecipeCheckpoint,
  type PredictionRow,
} from './support/cli.js';

const N = 96;
let dir: string;
let flat: string;
let weights: string;
let names: string[];

beforeAll(async () => {
  dir = await tempDir('zoo-cli-eval-');
  names = await val227Files(N);
  flat = await makeFlatFolder(join(dir, 'flat'), names);
  await makeImageFolder(join(dir, 'tree', 'val'), names);
  weights = await writeRecipeCheckpoint('rexnet_100', dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function evalRun(data: string, tag: string, batch: number, workers: number, extra: string[] = []) {
  const json = join(dir, `${tag}.json`);
  const preds = join(dir, `${tag}.csv`);
  const run = await runZoo([
    'eval', 'rexnet_100', '--data', data, '--weights', weights,
    '--batch-size', String(batch), '--workers', String(workers), '--threads', '1',
    '--json', json, '--predictions', preds, ...extra,
  ]);
  expect(run.code, run.stderr).toBe(0);
  const result = await readJson(json);
  const rows = await readPredictions(preds);
  return { run, result, rows };
}

/** Same top-5 per image, except where the top-1/top-2 margin is under 1e-4 (float order may flip). */
function expectSamePredictions(a: PredictionRow[], b: PredictionRow[]): void {
  expect(b.map((r) => basename(r.file))).toEqual(a.map((r) => basename(r.file)));
  expect(b.map((r) => r.label)).toEqual(a.map((r) => r.label));
  for (let i = 0; i < a.length; i++) {
    const close = Math.min(Math.abs(a[i]!.margin), Math.abs(b[i]!.margin)) < 1e-4;
    if (close) expect(new Set(b[i]!.top5.slice(0, 2))).toEqual(new Set(a[i]!.top5.slice(0, 2)));
    else expect(b[i]!.top5[0], `${a[i]!.file}`).toBe(a[i]!.top5[0]);
    expect(Math.abs(b[i]!.margin - a[i]!.margin)).toBeLessThan(1e-3);
  }
}

describe('zoo eval', () => {
  let reference: Awaited<ReturnType<typeof evalRun>>;

  it('runs on a flat folder: exit 0, final table, --json equal to what --predictions implies', async () => {
    reference = await evalRun(flat, 'flat-b64-w2', 64, 2);
    const { run, result, rows } = reference;
    expect(rows).toHaveLength(N);
    expect(rows.map((r) => r.file)).toEqual(names);
    const hits1 = rows.filter((r) => r.top5[0] === r.label).length;
    const hits5 = rows.filter((r) => r.top5.includes(r.label)).length;
    expect(result.images).toBe(N);
    expect([result.top1_correct, result.top5_correct]).toEqual([hits1, hits5]);
    expect(result.top1).toBe(Math.round((1e6 * hits1) / N) / 1e4);
    expect(result.top5).toBe(Math.round((1e6 * hits5) / N) / 1e4);
    expect(result.subset).toBe(true);
    expect(result.complete).toBe(false);
    expect(result.published).toMatchObject({ top1: 77.862, top5: 93.89, source: 'timm results/results-imagenet.csv' });
    expect(result.data.layout).toBe('flat');
    // Labels are the val ground truth; class indices are 0..999 and distinct per row.
    for (const r of rows) {
      expect(new Set(r.top5).size).toBe(5);
      for (const c of r.top5) expect(c >= 0 && c < 1000).toBe(true);
    }
    // The table: model, tag, images, top-1/top-5 with the subset interval, published and difference.
    expect(run.stdout).toMatch(/rexnet_100\s+nav_in1k\s+96 \(subset\)\s+[\d.]+\s+\S+\s+onnxruntime cpu/);
    expect(run.stdout).toMatch(new RegExp(`top-1\\s+${result.top1.toFixed(3)}\\s+\\[[\\d.]+, [\\d.]+\\]\\s+77\\.862\\s+[-+][\\d.]+`));
    expect(run.stdout).toMatch(/top-5\s+[\d.]+\s+\[[\d.]+, [\d.]+\]\s+93\.890\s+[-+][\d.]+/);
    // Not a TTY: plain progress lines on stderr, ending with the whole count.
    expect(run.stderr).toMatch(/zoo: rexnet_100\.nav_in1k 96\/96 images \(100%\), top-1 [\d.]+%, top-5 [\d.]+%, [\d.]+ images\/s/);
  });

  it('gives the same per-image predictions on an ImageFolder tree with batch 7 and 1 worker', async () => {
    const { result, rows } = await evalRun(join(dir, 'tree'), 'tree-b7-w1', 7, 1);
    expect(result.data.layout).toBe('imagefolder');
    expect(rows[0]!.file).toMatch(/^n\d{8}\/ILSVRC2012_val_\d{8}\.JPEG$/);
    expectSamePredictions(reference.rows, rows);
  });

  it('gives the same per-image predictions with batch 1 and 2 workers, --quiet silencing progress', async () => {
    const { run, rows } = await evalRun(flat, 'flat-b1-w2', 1, 2, ['--quiet']);
    expectSamePredictions(reference.rows, rows);
    // --quiet: nothing on stderr; the subset (96 of 50,000 images) is said once, in the table (issue 10.10).
    expect(run.stderr.trim()).toBe('');
    expect(run.stdout).toMatch(/incomplete data: INCOMPLETE: found 96 images, fewer than the 50000/);
  });

  it('--limit takes the first N in val order and overrides apply to the config', async () => {
    const { result, rows } = await evalRun(flat, 'flat-limit', 64, 1, ['--limit', '10', '--img-size', '192', '--crop-pct', '1.0']);
    expect(rows.map((r) => r.file)).toEqual(names.slice(0, 10));
    expect(result.images).toBe(10);
    expect(result).toMatchObject({ img_size: 192, crop_pct: 1 });
  });
});
