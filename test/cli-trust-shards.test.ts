/**
 * Sharding through the real CLI: `zoo eval --shard i/n` for n = 1, 2, 3, 7, each shard its own
 * process with its own --json, then `zoo merge` of the n files gives exactly the full run's counts,
 * per-class figures, confused pairs and ReaL numbers; the shards' images partition the selection.
 * Merge refuses overlapping, missing and mixed-count shards and shards of a different config.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/errors.js';
import { makeFlatFolder, readPredictions, runZoo, tempDir, val227Files, writeRecipeCheckpoint } from './support/cli.js';
import { evalArgs, readJson, type ResultJson } from './support/trust.js';

const N = 21;
let dir: string;
let flat: string;
let weights: string;
let full: ResultJson;
let fullFiles: string[];

const shardRun = (json: string, preds: string, extra: string[] = []) =>
  runZoo(evalArgs(flat, weights, ['--batch-size', '8', '--real-labels', '--json', json, '--predictions', preds, ...extra]), { timeoutMs: 60_000 });

beforeAll(async () => {
  dir = await tempDir('zoo-trust-shards-');
  flat = await makeFlatFolder(join(dir, 'flat'), await val227Files(N));
  weights = await writeRecipeCheckpoint('rexnet_100', dir);
  const r = await shardRun(join(dir, 'full.json'), join(dir, 'full.csv'));
  expect(r.code, r.stderr).toBe(0);
  full = await readJson(join(dir, 'full.json'));
  fullFiles = (await readPredictions(join(dir, 'full.csv'))).map((p) => p.file);
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const shardFile = (i: number, n: number) => join(dir, `s${i}of${n}.json`);

describe('zoo eval --shard i/n + zoo merge', () => {
  for (const n of [1, 2, 3, 7]) {
    it(`n = ${n}: the merged shards equal the full run exactly`, async () => {
      const runs = [];
      // Two at a time: the machine has two cores.
      for (let i = 1; i <= n; i += 2) {
        const batch = [i, i + 1].filter((k) => k <= n);
        runs.push(...(await Promise.all(batch.map((k) => shardRun(shardFile(k, n), join(dir, `s${k}of${n}.csv`), ['--shard', `${k}/${n}`])))));
      }
      for (const r of runs) expect(r.code, r.stderr).toBe(0);
      // The slices partition the selection, round-robin in val order.
      const files: string[] = [];
      for (let i = 1; i <= n; i++) {
        const rows = await readPredictions(join(dir, `s${i}of${n}.csv`));
        expect(rows.map((r) => r.file)).toEqual(fullFiles.filter((_, k) => k % n === i - 1));
        files.push(...rows.map((r) => r.file));
        const shard = await readJson(shardFile(i, n));
        expect(shard.selection).toMatchObject({ shard: `${i}/${n}`, images: rows.length });
      }
      expect(files.sort()).toEqual([...fullFiles].sort());

      // Any order on the command line.
      const inputs = Array.from({ length: n }, (_, k) => shardFile(n - k, n));
      const out = join(dir, `merged${n}.json`);
      const merge = await runZoo(['merge', ...inputs, '--json', out], { timeoutMs: 30_000 });
      expect(merge.code, merge.stderr).toBe(0);
      const merged = await readJson(out);
      expect([merged.images, merged.top1_correct, merged.top5_correct]).toEqual([full.images, full.top1_correct, full.top5_correct]);
      expect([merged.top1, merged.top5]).toEqual([full.top1, full.top5]);
      expect(merged.metrics_state).toEqual(full.metrics_state);
      expect(merged.per_class).toEqual(full.per_class);
      expect(merged.most_confused).toEqual(full.most_confused);
      expect(merged.real).toEqual(full.real);
      expect(merged.top1_interval).toEqual(full.top1_interval);
      expect(merged.comparable).toBe(true);
    }, 90_000);
  }

  it('refuses overlapping, missing and mixed-count shards, and shards of another config', async () => {
    const overlap = await runZoo(['merge', shardFile(1, 3), shardFile(2, 3), shardFile(3, 3), shardFile(2, 3)]);
    expect(overlap.code).toBe(ExitCode.USAGE);
    expect(overlap.stderr).toMatch(/overlapping shards: shard 2\/3 is given more than once/);
    const missing = await runZoo(['merge', shardFile(1, 3), shardFile(3, 3)]);
    expect(missing.code).toBe(ExitCode.USAGE);
    expect(missing.stderr).toMatch(/incomplete shard set: shard 2\/3 missing/);
    const mixed = await runZoo(['merge', shardFile(1, 2), shardFile(2, 3), shardFile(3, 3)]);
    expect(mixed.code).toBe(ExitCode.USAGE);
    expect(mixed.stderr).toMatch(/shard \d\/\d is of \d shards/);
    const other = join(dir, 'other2of2.json');
    const r = await shardRun(other, join(dir, 'other.csv'), ['--shard', '2/2', '--crop-pct', '0.95']);
    expect(r.code, r.stderr).toBe(0);
    const cfg = await runZoo(['merge', shardFile(1, 2), other]);
    expect(cfg.code).toBe(ExitCode.USAGE);
    expect(cfg.stderr).toMatch(/other2of2\.json: eval config differs from/);
    for (const x of [overlap, missing, mixed, cfg]) expect(x.stderr).not.toMatch(/^\s+at /m);
  }, 60_000);
});
