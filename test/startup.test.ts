/**
 * Start-up of `zoo eval`: the CLI's module graph loads none of the heavy native packages (sharp,
 * onnxruntime-node, tfjs) until a command needs them, and eval's --json reports
 * time_to_first_batch_s with the phases it is made of. No wall-clock bound is asserted (a shared
 * machine's load decides those); the bench measures it.
 */
import { spawnSync } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFlatFolder, ROOT, runZoo, tempDir, val227Files, writeRecipeCheckpoint } from './support/cli.js';

let dir: string;
let flat: string;
let weights: string;

beforeAll(async () => {
  dir = await tempDir('zoo-startup-');
  flat = await makeFlatFolder(join(dir, 'val'), await val227Files(40));
  weights = await writeRecipeCheckpoint('rexnet_100', dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface StartupJson {
  images: number;
  wall_s: number;
  time_to_first_batch_s: number | null;
  startup: {
    imports_s: number;
    dataset_s: number;
    model_s: number;
    first_batch_wait_s: number | null;
    first_inference_s: number | null;
  };
}

describe('zoo eval start-up', () => {
  it('loading the CLI loads no sharp, onnxruntime-node or tfjs', () => {
    // CommonJS packages imported from ESM still land in require.cache: list what the CLI pulled in.
    const script = `
      import { createRequire } from 'node:module';
      await import(${JSON.stringify(join(ROOT, 'dist', 'cli', 'main.js'))});
      const require = createRequire(import.meta.url);
      console.log(JSON.stringify(Object.keys(require.cache)));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const loaded = JSON.parse(r.stdout) as string[];
    expect(loaded.some((f) => f.includes('/commander/'))).toBe(true); // the check sees packages at all
    for (const heavy of ['/sharp/', '/onnxruntime-node/', '/@tensorflow/']) {
      expect(loaded.filter((f) => f.includes(heavy)), heavy).toEqual([]);
    }
  });

  it('--json reports time_to_first_batch_s and its phases, which add up to it', async () => {
    const json = join(dir, 'r.json');
    const run = await runZoo(['eval', 'rexnet_100', '--data', flat, '--weights', weights, '--limit', '32', '--batch-size', '16', '--workers', '2', '--threads', '1', '--quiet', '--json', json]);
    expect(run.code, run.stderr).toBe(0);
    const r = JSON.parse(await readFile(json, 'utf8')) as StartupJson;
    expect(r.images).toBe(32);
    const s = r.startup;
    const first = r.time_to_first_batch_s!;
    expect(first).toBeGreaterThan(0);
    for (const v of [s.imports_s, s.dataset_s, s.model_s, s.first_batch_wait_s!, s.first_inference_s!]) expect(v).toBeGreaterThanOrEqual(0);
    // Consecutive marks from the process start: the phases sum to the total (each rounded to 1 ms).
    const sum = s.imports_s + s.dataset_s + s.model_s + s.first_batch_wait_s! + s.first_inference_s!;
    expect(Math.abs(sum - first)).toBeLessThan(0.004);
    // The first batch comes before the end of the run, which has a second batch of 16 still to do.
    expect(first).toBeLessThan(s.imports_s + r.wall_s);
  }, 60_000);
});
