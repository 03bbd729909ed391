/**
 * Issue 11.6: `zoo info PATH` describes a model file without evaluating it: inputs, outputs, layout,
 * batch, classes and their adapter, the config found beside it (timm's test size resolved) or what
 * is missing, and the parameter count read from the file.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED } from './support/fixtures.js';
import { runZoo, tempDir } from './support/cli.js';
import { writeLayersModel } from './support/tfjs-models.js';

const GOLDEN = join(SHARED, 'golden', 'onnx');
let root: string;
beforeAll(async () => {
  root = await tempDir('zoo-info-file-');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('zoo info PATH', () => {
  it('an NHWC ONNX export: layout, classes, params and its config found by the dotted stem', { timeout: 60_000 }, async () => {
    const r = await runZoo(['info', join(GOLDEN, 'mobilenetv4_conv_small_050.e3000_r224_in1k.dyn.onnx'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as {
      format: string;
      input: { layout: string; batch: number | null; size: number[] };
      classes: { count: number }[];
      params: number;
      config_file: string;
      config: { eval_config: { input_size: number[]; crop_pct: number }; sources: Record<string, string> };
    };
    expect(j.format).toBe('onnx');
    expect(j.input).toMatchObject({ layout: 'nchw', batch: null, size: [256, 256] });
    expect(j.classes[0]!.count).toBe(1000);
    expect(j.params).toBeGreaterThan(100_000);
    expect(j.config_file).toMatch(/mobilenetv4_conv_small_050\.e3000_r224_in1k\.config\.json$/);
    expect(j.config.eval_config).toMatchObject({ input_size: [3, 256, 256], crop_pct: 0.95 });
    expect(j.config.sources.input_size).toBe('config.json test_input_size');
  });

  it('a static-batch file in a table; a layers model.json with no config says what is missing', { timeout: 60_000 }, async () => {
    const b1 = await runZoo(['info', join(GOLDEN, 'test_vit.r160_in1k.b1.onnx')]);
    expect(b1.code, b1.stderr).toBe(0);
    expect(b1.stdout).toMatch(/^layout\s+NCHW float32, static batch 1, fixed 160x160$/m);
    const bg = await runZoo(['info', join(GOLDEN, 'test_vit.r160_in1k.bg1001.onnx')]);
    expect(bg.stdout).toMatch(/^classes\s+logits: 1001 \(1,001 outputs: index 0 taken as a background class/m);
    const layers = await writeLayersModel(join(root, 'layers'));
    const r = await runZoo(['info', layers]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^format\s+tfjs-layers$/m);
    expect(r.stdout).toMatch(/^layout\s+NHWC float32, dynamic batch, fixed 16x16$/m);
    expect(r.stdout).toMatch(/^params\s+3,000$/m);
    expect(r.stdout).toMatch(/^eval config\s+incomplete: .*no eval config for interpolation, crop_pct, mean, std/m);
  });
});
