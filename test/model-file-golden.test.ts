/**
 * Issue 11 acceptance: `zoo eval DIR` on every ONNX export in shared/golden/onnx (five timm
 * architectures zoo does not define; dynamic batch, static batch 1, NHWC, 1,001 outputs with a
 * background, softmax, float16 in/out), each copied as DIR/model.onnx beside its timm config.json,
 * agrees with the timm pipeline's answer key on every image whose margin exceeds the folder README's
 * threshold (1e-3; 0.05 for fp16io). The images are a lean mix of the three shared sample folders.
 */
import { copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED } from './support/fixtures.js';
import { readPredictions, runZoo, tempDir } from './support/cli.js';
import { readJson } from './support/trust.js';

const GOLDEN = join(SHARED, 'golden', 'onnx');
const SAMPLES = join(SHARED, 'samples');

interface KeyRow {
  label: number;
  top1: number;
  margin: number;
}

/**
 * The answer key by `folder/file`: the CSV lists val-227, then val-496, then val-originals (two names,
 * 00000347 and 00000355, are in both val-227 and val-496 with different pixels, so a name alone is ambiguous).
 */
async function answerKey(arch: string): Promise<Map<string, KeyRow>> {
  const lines = (await readFile(join(GOLDEN, `${arch}.top5.csv`), 'utf8')).trim().split('\n').slice(1);
  const key = new Map<string, KeyRow>();
  let row = 0;
  for (const folder of KEY_ORDER) {
    const names = new Set((await readdir(join(SAMPLES, folder))).filter((f) => f.endsWith('.JPEG')));
    for (let i = 0; i < names.size; i++, row++) {
      const [file, label, top5, margin] = lines[row]!.split(',');
      if (!names.has(file!)) throw new Error(`${arch}.top5.csv row ${row + 2}: ${file} is not in ${folder}`);
      key.set(`${folder}/${file}`, { label: Number(label), top1: Number(top5!.split(' ')[0]), margin: Number(margin) });
    }
  }
  expect(row).toBe(lines.length);
  return key;
}

const KEY_ORDER = ['val-227', 'val-496', 'val-originals'] as const;
/** Where each copied image came from (file name -> sample folder). */
const origin = new Map<string, string>();

let root: string;
let data: string;
let variants: { arch: string; variant: string }[];

beforeAll(async () => {
  root = await tempDir('zoo-onnx-golden-');
  data = join(root, 'val');
  await mkdir(data);
  // All of val-originals, and the first few of val-496 and val-227 (val order): 24 real val images.
  for (const [folder, n] of [['val-originals', 6], ['val-496', 12], ['val-227', 6]] as const) {
    const names = (await readdir(join(SAMPLES, folder))).filter((f) => f.endsWith('.JPEG')).sort().slice(0, n);
    for (const name of names.filter((n) => !origin.has(n))) {
      origin.set(name, folder);
      await copyFile(join(SAMPLES, folder, name), join(data, name));
    }
  }
  variants = (await readdir(GOLDEN))
    .filter((f) => f.endsWith('.onnx'))
    .sort()
    .map((f) => {
      const m = /^(.+)\.([a-z0-9]+)\.onnx$/.exec(f)!;
      return { arch: m[1]!, variant: m[2]! };
    });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('zoo eval DIR on the golden ONNX exports', () => {
  it('finds every variant the README lists', () => {
    expect(new Set(variants.map((v) => v.variant))).toEqual(new Set(['dyn', 'b1', 'nhwc', 'bg1001', 'softmax', 'fp16io']));
    expect(variants.length).toBeGreaterThanOrEqual(15);
  });

  it('agrees with the answer key on every image above the margin threshold, for every variant', { timeout: 300_000 }, async () => {
    const failures: string[] = [];
    for (const { arch, variant } of variants) {
      const dir = join(root, `${arch}.${variant}`);
      await mkdir(dir);
      await copyFile(join(GOLDEN, `${arch}.${variant}.onnx`), join(dir, 'model.onnx'));
      await copyFile(join(GOLDEN, `${arch}.config.json`), join(dir, 'config.json'));
      const preds = join(dir, 'preds.csv');
      const json = join(dir, 'result.json');
      const r = await runZoo(['eval', dir, '--data', data, '--predictions', preds, '--json', json, '--batch-size', '5', '--workers', '2', '--threads', '1']);
      expect(r.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
      expect(r.code, `${arch}.${variant}: ${r.stderr}`).toBe(0);
      const key = await answerKey(arch);
      const threshold = variant === 'fp16io' ? 0.05 : 1e-3;
      let checked = 0;
      for (const p of await readPredictions(preds)) {
        const k = key.get(`${origin.get(p.file)}/${p.file}`);
        expect(k, `${p.file} in ${arch}.top5.csv`).toBeDefined();
        expect(p.label).toBe(k!.label);
        if (k!.margin <= threshold) continue;
        checked++;
        if (p.top5[0] !== k!.top1) failures.push(`${arch}.${variant} ${p.file}: zoo ${p.top5[0]}, key ${k!.top1} (margin ${k!.margin})`);
      }
      expect(checked, `${arch}.${variant}: images above the margin`).toBeGreaterThanOrEqual(12);
      // Where the config came from, per value, in the JSON; test sizes as validate.py resolves them.
      const res = await readJson(json);
      expect(res.model_file?.input.layout).toBe(variant === 'nhwc' ? 'nhwc' : 'nchw');
      expect(res.model_file?.input.type).toBe(variant === 'fp16io' ? 'float16' : 'float32');
      expect(res.model_file?.output.adapter).toBe(variant === 'bg1001' ? 'background' : 'imagenet');
      expect(res.model_file?.output.scores).toBe(variant === 'softmax' ? 'probabilities' : 'logits');
      if (arch.startsWith('mobilenetv4')) {
        expect(res.eval_config).toMatchObject({ input_size: [3, 256, 256], crop_pct: 0.95 });
        expect(res.config_sources?.input_size).toBe('config.json test_input_size');
        expect(res.config_sources?.crop_pct).toBe('config.json test_crop_pct');
      } else expect(res.config_sources?.input_size).toBe('config.json input_size');
      expect(r.stdout).toMatch(/^config: input_size \d+ \(config\.json/m);
      // The background class is said once, before the run.
      if (variant === 'bg1001') expect(r.stderr.match(/background class/g)?.length).toBe(1);
      if (variant === 'b1') expect(r.stderr).toMatch(/batch is fixed at 1/);
    }
    expect(failures).toEqual([]);
  });
});
