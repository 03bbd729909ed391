/**
 * Issue 11.3: bad model files, each as a process. Not a model file, a truncated .onnx, two image
 * inputs, an output of the wrong size without a class map, a class map of the wrong length, a model
 * that fails inside the engine on the first batch, several outputs without --output, a config from
 * nowhere: one line naming the file and the fix, the documented exit code, no stack trace, and
 * nothing written (the run's --json/--predictions and state files do not appear).
 */
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED } from './support/fixtures.js';
import { makeFlatFolder, runZoo, tempDir, val227Files } from './support/cli.js';
import { classifierOnnx, failsOnFirstBatchOnnx, twoInputsOnnx, twoOutputsOnnx, writeOnnx } from './support/onnx-models.js';
import { readJson } from './support/trust.js';

/** The config the tiny models lack (their 16x16 input size comes from the model). */
const CFG = ['--interpolation', 'bilinear', '--crop-pct', '1', '--mean', '0.5', '--std', '0.5'];

let root: string;
let data: string;
let models: string;

beforeAll(async () => {
  root = await tempDir('zoo-model-errors-');
  data = await makeFlatFolder(join(root, 'val'), await val227Files(3));
  models = join(root, 'models');
  await mkdir(models);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Runs eval in an empty working directory asking for outputs there; expects one line, `code`, and no files. */
async function failsCleanly(model: string, extra: readonly string[], code: number, line: RegExp): Promise<string> {
  const cwd = await tempDir('zoo-model-errors-cwd-');
  try {
    const r = await runZoo(['eval', model, '--data', data, '--json', 'out.json', '--predictions', 'preds.csv', '--quiet', ...extra], { cwd });
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('zoo: warning:'));
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(line);
    expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
    expect(r.code, r.stderr).toBe(code);
    expect(await readdir(cwd)).toEqual([]);
    return lines[0]!;
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
}

describe('zoo eval on bad model files', () => {
  it('a file that is not a model: by extension, and JPEG bytes named .onnx', { timeout: 60_000 }, async () => {
    const jpeg = join(models, 'photo.JPEG');
    await copyFile(join(data, (await readdir(data))[0]!), jpeg);
    await failsCleanly(jpeg, CFG, 4, /photo\.JPEG: is not a model file \(\.jpeg\).*export the model to ONNX/);
    const fake = join(models, 'fake.onnx');
    await copyFile(jpeg, fake);
    await failsCleanly(fake, CFG, 4, /fake\.onnx: not a complete ONNX model .*download or export it again/);
  });

  it('a truncated .onnx', { timeout: 60_000 }, async () => {
    const whole = await readFile(join(SHARED, 'golden', 'onnx', 'test_vit.r160_in1k.dyn.onnx'));
    const cut = join(models, 'truncated.onnx');
    await writeFile(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));
    await failsCleanly(cut, [], 4, /truncated\.onnx: not a complete ONNX model \(truncated .*after reading \d+ bytes\)/);
  });

  it('a model with two image inputs', { timeout: 60_000 }, async () => {
    const f = await writeOnnx(join(models, 'two-inputs.onnx'), twoInputsOnnx());
    await failsCleanly(f, CFG, 4, /two-inputs\.onnx: the model has 2 image inputs \(a float32 \[N, 3, 16, 16\], b float32 \[N, 3, 16, 16\]\).*single image input/);
  });

  it('an output of the wrong size without a class map; with a class map it runs', { timeout: 60_000 }, async () => {
    const f = await writeOnnx(join(models, 'ten.onnx'), classifierOnnx(10));
    await failsCleanly(f, CFG, 4, /ten\.onnx: the model has 10 outputs, not ImageNet's 1,000 .*--class-map FILE/);
    // Ten outputs named by WordNet id, index and class name: a real run over the ten classes.
    const map = join(models, 'ten.txt');
    await writeFile(map, ['n01440764', '1', 'great white shark', 'tiger shark, Galeocerdo cuvieri', 'n01494475', '5', '6', '7', '8', 'n01530575'].join('\n') + '\n');
    const out = join(root, 'ten.json');
    const r = await runZoo(['eval', f, '--data', data, '--class-map', map, '--json', out, ...CFG]);
    expect(r.code, r.stderr).toBe(0);
    const j = await readJson(out);
    expect(j.model_file?.output).toMatchObject({ classes: 10, adapter: 'class-map', class_map: map });
    expect(j.config_sources?.input_size).toBe('model input shape');
    expect(j.config_sources?.mean).toBe('--mean');
    expect(r.stderr).toMatch(/10 outputs mapped to ImageNet classes .* 990 can never be predicted/);
  });

  it('a class map of the wrong length', { timeout: 60_000 }, async () => {
    const f = await writeOnnx(join(models, 'ten-b.onnx'), classifierOnnx(10));
    const map = join(models, 'nine.txt');
    await writeFile(map, Array.from({ length: 9 }, (_, i) => String(i)).join('\n') + '\n');
    await failsCleanly(f, ['--class-map', map, ...CFG], 4, /nine\.txt: the model has 10 outputs but .*nine\.txt maps 9 .*class map that belongs to this model/);
  });

  it('a model that fails inside the engine on the first batch', { timeout: 60_000 }, async () => {
    const f = await writeOnnx(join(models, 'broken.onnx'), failsOnFirstBatchOnnx());
    await failsCleanly(f, ['--img-size', '16', ...CFG], 5, /broken\.onnx: onnxruntime failed running the model on a batch of \d+ .*--img-size/);
  });

  it('several outputs need --output, which lists them; --output picks one', { timeout: 60_000 }, async () => {
    const f = await writeOnnx(join(models, 'two-outputs.onnx'), twoOutputsOnnx());
    await failsCleanly(f, CFG, 2, /two-outputs\.onnx: the model has 2 outputs; choose the class scores with --output NAME: logits \[N, 1000\], flat \[N, 3\]/);
    const r = await runZoo(['eval', f, '--data', data, '--output', 'logits', '--quiet', ...CFG]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('a config from nowhere is refused listing the flags', { timeout: 60_000 }, async () => {
    const f = await writeOnnx(join(models, 'noconfig.onnx'), classifierOnnx(1000));
    await failsCleanly(f, ['--mean', '0.5'], 2, /noconfig\.onnx: no eval config for interpolation, crop_pct, std \(have input_size from model input shape; crop_mode from default.*; mean from --mean\).*pass --interpolation bicubic\|bilinear --crop-pct F --std R,G,B, or --config-of <arch\.tag>/);
  });

  it('a fixed input size that contradicts the config names both', { timeout: 60_000 }, async () => {
    const f = await writeOnnx(join(models, 'fixed16.onnx'), classifierOnnx(1000));
    await failsCleanly(f, ['--img-size', '32', ...CFG], 2, /fixed16\.onnx: the model's input is fixed at 16x16 but --img-size says 32x32/);
  });
});
