/**
 * Issue 12, crop cache, at the loader: in-process (workers 0) and on a worker thread, for files and
 * for images inside a tar, a warm cache gives batches bit-identical to decoding, counted as cache
 * hits by the workers themselves; a crop config that differs (another crop pct) misses.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sample } from '../src/data/dataset.js';
import { discoverDataset } from '../src/data/dataset.js';
import { createLoader, type LoaderStats } from '../src/data/loader.js';
import type { EvalConfig } from '../src/models/eval-config.js';
import { concatFloat32 } from '../src/util/concat.js';
import { imagenetConfig } from './support/fixtures.js';
import { makeFlatFolder, tempDir, val227Files, VAL_227 } from './support/cli.js';
import { TAR_END, tarEntry } from './support/tar-writer.js';

let dir: string;
let files: Sample[];
let tarred: Sample[];

/** Every batch's pixels, concatenated, and what the crop cache did. */
async function load(samples: readonly Sample[], cfg: EvalConfig, workers: number, cropCache?: string): Promise<{ pixels: Float32Array; stats: LoaderStats }> {
  const loader = createLoader(samples, cfg, { batchSize: 2, workers, ...(cropCache ? { cropCache } : {}) });
  const parts: Float32Array[] = [];
  for await (const b of loader) parts.push(b.data.slice());
  return { pixels: concatFloat32(parts), stats: loader.stats() };
}

beforeAll(async () => {
  dir = await tempDir('zoo-crop-cache-loader-');
  const names = await val227Files(3);
  files = (await discoverDataset(await makeFlatFolder(join(dir, 'flat'), names))).samples;
  const tar = join(dir, 'val.tar');
  const parts = await Promise.all(names.map(async (n) => tarEntry(n, await readFile(join(VAL_227, n)))));
  await writeFile(tar, Buffer.concat([...parts, TAR_END]));
  tarred = (await discoverDataset(tar)).samples;
  expect(tarred.every((s) => s.tar)).toBe(true);
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createLoader with a crop cache', () => {
  it.each([
    ['files, in-process', 0, () => files],
    ['files, one worker', 1, () => files],
    ['a tar, in-process', 0, () => tarred],
    ['a tar, one worker', 1, () => tarred],
  ])('%s: warm batches equal decoded ones, all hits', async (what, workers, samples) => {
    const cfg = imagenetConfig(224);
    const cache = join(dir, `cache-${what.replace(/\W+/g, '-')}`);
    const plain = await load(samples(), cfg, workers);
    const cold = await load(samples(), cfg, workers, cache);
    expect(cold.stats).toEqual({ cacheHits: 0, cacheMisses: 3, cacheBad: 0 });
    const warm = await load(samples(), cfg, workers, cache);
    expect(warm.stats).toEqual({ cacheHits: 3, cacheMisses: 0, cacheBad: 0 });
    expect(Buffer.from(cold.pixels.buffer).equals(Buffer.from(plain.pixels.buffer))).toBe(true);
    expect(Buffer.from(warm.pixels.buffer).equals(Buffer.from(plain.pixels.buffer))).toBe(true);
    // Another crop config is another key: it misses and adds its own entries.
    const other = await load(samples(), { ...cfg, cropPct: 0.95 }, workers, cache);
    expect(other.stats).toEqual({ cacheHits: 0, cacheMisses: 3, cacheBad: 0 });
    let entries = 0;
    for (const d of await readdir(cache, { withFileTypes: true })) if (d.isDirectory()) entries += (await readdir(join(cache, d.name))).length;
    expect(entries).toBe(6);
  }, 60_000);
});
