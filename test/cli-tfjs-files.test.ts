/**
 * Issue 11.5: TF.js model files. A hand-written minimal graph model and layers model (the files
 * tensorflowjs_converter and tfjs save() write) load with `zoo eval model.json`, run on the tfjs
 * engine, and give the same per-image predictions as the same function exported to ONNX; a missing
 * or short weight shard is one line, exit 4, nothing written.
 */
import { readdir, rm, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFlatFolder, readPredictions, runZoo, tempDir, val227Files } from './support/cli.js';
import { classifierOnnx, writeOnnx } from './support/onnx-models.js';
import { writeGraphModel, writeLayersModel } from './support/tfjs-models.js';
import { readJson } from './support/trust.js';

const CFG = ['--interpolation', 'bilinear', '--crop-pct', '1', '--mean', '0.5', '--std', '0.5', '--quiet'];

let root: string;
let data: string;
let onnxTop1: number[];

beforeAll(async () => {
  root = await tempDir('zoo-tfjs-files-');
  data = await makeFlatFolder(join(root, 'val'), await val227Files(12));
  const onnx = await writeOnnx(join(root, 'tiny.onnx'), classifierOnnx(1000));
  const preds = join(root, 'onnx.csv');
  const r = await runZoo(['eval', onnx, '--data', data, '--predictions', preds, ...CFG]);
  expect(r.code, r.stderr).toBe(0);
  onnxTop1 = (await readPredictions(preds)).map((p) => p.top5[0]!);
  // Distinct predictions, so agreement means something.
  expect(new Set(onnxTop1).size).toBeGreaterThan(3);
}, 120_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('zoo eval model.json', () => {
  for (const [kind, write] of [['graph', writeGraphModel], ['layers', writeLayersModel]] as const) {
    it(`a hand-written ${kind} model loads and agrees with the ONNX path image by image`, { timeout: 120_000 }, async () => {
      const file = await write(join(root, kind));
      const preds = join(root, `${kind}.csv`);
      const json = join(root, `${kind}.json`);
      const r = await runZoo(['eval', file, '--data', data, '--predictions', preds, '--json', json, ...CFG]);
      expect(r.code, r.stderr).toBe(0);
      expect((await readPredictions(preds)).map((p) => p.top5[0])).toEqual(onnxTop1);
      const j = await readJson(json);
      expect(j.engine).toBe('tfjs');
      expect(j.model_file).toMatchObject({ format: `tfjs-${kind}`, input: { layout: 'nhwc', batch: null } });
      expect(j.config_sources?.input_size).toBe('model input shape');
    });
  }

  it('a missing or short weight shard: one line, exit 4, nothing written', { timeout: 120_000 }, async () => {
    for (const [name, damage, line] of [
      ['missing', (f: string) => unlink(f), /group1-shard1of1\.bin: weight shard group1-shard1of1\.bin is missing/],
      ['short', (f: string) => truncate(f, 100), /group1-shard1of1\.bin: weight shards group1-shard1of1\.bin hold 100 bytes, the manifest needs 12008/],
    ] as const) {
      const file = await writeGraphModel(join(root, `bad-${name}`));
      await damage(join(root, `bad-${name}`, 'group1-shard1of1.bin'));
      const cwd = await tempDir('zoo-tfjs-cwd-');
      const r = await runZoo(['eval', file, '--data', data, '--json', 'out.json', ...CFG], { cwd });
      expect(r.code, r.stderr).toBe(4);
      const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('zoo: warning:'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(line);
      expect(await readdir(cwd)).toEqual([]);
      await rm(cwd, { recursive: true, force: true });
    }
  });
});
