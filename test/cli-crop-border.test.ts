/**
 * Issue 10.4: timm's `--crop-mode border` and `--crop-border-pixels N` as a real process. The run
 * says what it does (header line, table, JSON eval_config and config_sources), is not comparable with
 * a published row (none has that config), the crops reach the model (its scores change), and a timm
 * config.json with crop_mode border and crop_border_pixels is read. The crops themselves are checked
 * byte for byte against timm/Pillow by preprocess-border.test.ts.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvalResult } from '../src/run/result.js';
import { makeFlatFolder, readPredictions, runZoo, tempDir, val227Files } from './support/cli.js';
import { classifierOnnx, writeOnnx } from './support/onnx-models.js';

const EVAL = ['eval', 'mobilenetv2-12-int8', '--data', 'sample', '--limit', '4', '--threads', '1'];

let dir: string;
beforeAll(async () => {
  dir = await tempDir('zoo-crop-border-');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('--crop-mode border --crop-border-pixels N (timm)', () => {
  it('runs, says border and the trim in the header, table and JSON, and is not comparable', async () => {
    const preds = join(dir, 'border.csv');
    const report = join(dir, 'border.html');
    const run = await runZoo([...EVAL, '--crop-mode', 'border', '--crop-border-pixels', '2', '--json', '-', '--predictions', preds, '--report', report]);
    expect(run.code, run.stderr).toBe(0);
    const header = run.stderr.split('\n').find((l) => l.startsWith('zoo: mobilenetv2-12-int8.onnx_model_zoo | weights '));
    expect(header).toMatch(/crop_mode border \(--crop-mode\); crop_border_pixels 2 \(--crop-border-pixels\) \|/);
    expect(run.stderr).toMatch(/^config: .*crop_mode border \(--crop-mode\); crop_border_pixels 2 \(--crop-border-pixels\)$/m);
    const r = JSON.parse(run.stdout) as EvalResult;
    expect(r.eval_config).toMatchObject({ crop_mode: 'border', crop_border_pixels: 2, input_size: [3, 224, 224] });
    expect(r.config_sources).toMatchObject({ crop_mode: '--crop-mode', crop_border_pixels: '--crop-border-pixels' });
    expect(r.published).toBeNull();
    expect(r.comparable).toBe(false);
    expect(r.not_comparable_because.join(' ')).toMatch(/no published number at this eval config/);
    expect(await readFile(report, 'utf8')).toMatch(/crop mode (<[^>]+>)?border(<[^>]+>)?; crop border pixels (<[^>]+>)?2/);

    // The same images at the tag's config score differently: the border crop reached the model.
    const centrePreds = join(dir, 'center.csv');
    const centre = await runZoo([...EVAL, '-q', '--predictions', centrePreds]);
    expect(centre.code, centre.stderr).toBe(0);
    const a = await readPredictions(preds);
    const b = await readPredictions(centrePreds);
    expect(a.map((p) => p.file)).toEqual(b.map((p) => p.file));
    expect(a.map((p) => p.margin)).not.toEqual(b.map((p) => p.margin));
    // And the trim alone changes them too (border mode without it).
    const noTrimPreds = join(dir, 'border0.csv');
    expect((await runZoo([...EVAL, '-q', '--crop-mode', 'border', '--predictions', noTrimPreds])).code).toBe(0);
    expect((await readPredictions(noTrimPreds)).map((p) => p.margin)).not.toEqual(a.map((p) => p.margin));
    // The sharp decoder (the fallback when the libjpeg-turbo addon is not built) gives the same crops, so the same scores.
    const sharpPreds = join(dir, 'border-sharp.csv');
    const viaSharp = await runZoo([...EVAL, '-q', '--crop-mode', 'border', '--crop-border-pixels', '2', '--predictions', sharpPreds], { env: { ZOO_DECODER: 'sharp' } });
    expect(viaSharp.code, viaSharp.stderr).toBe(0);
    expect(await readFile(sharpPreds, 'utf8')).toBe(await readFile(preds, 'utf8'));
  }, 120_000);

  it("timm's own spelling is accepted; a negative trim is one usage line", async () => {
    const run = await runZoo([...EVAL, '-q', '--crop-mode=border', '--crop-border-pixels=1', '--json', '-']);
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as EvalResult).eval_config).toMatchObject({ crop_mode: 'border', crop_border_pixels: 1 });
    const bad = await runZoo([...EVAL, '--crop-border-pixels', '-3']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--crop-border-pixels/);
  }, 60_000);

  it('a model file whose config.json asks for crop_mode border and crop_border_pixels', async () => {
    const model = join(dir, 'tiny');
    await mkdir(model);
    await writeOnnx(join(model, 'model.onnx'), classifierOnnx(1000));
    const cfg = { input_size: [3, 16, 16], interpolation: 'bilinear', crop_pct: 0.9, crop_mode: 'border', crop_border_pixels: 3, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
    await writeFile(join(model, 'config.json'), JSON.stringify({ architecture: 'tiny', num_classes: 1000, pretrained_cfg: cfg }));
    const data = await makeFlatFolder(join(dir, 'val'), await val227Files(2));
    const run = await runZoo(['eval', model, '--data', data, '-q', '--threads', '1', '--json', '-']);
    expect(run.code, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout) as EvalResult;
    expect(r.eval_config).toMatchObject({ crop_mode: 'border', crop_border_pixels: 3, crop_pct: 0.9 });
    expect(r.config_sources).toMatchObject({ crop_mode: 'config.json', crop_border_pixels: 'config.json' });
  }, 60_000);
});
