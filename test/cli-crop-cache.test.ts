/**
 * Issue 12, crop cache (`--crop-cache DIR`), through the real CLI on real val images:
 *  - a second run reads every crop from the cache (the run's own note: 0 decoded) and gives the
 *    same numbers and per-image predictions as the first;
 *  - a truncated entry, an entry with a flipped pixel byte and an entry holding another image's key
 *    are each detected, decoded again and rewritten, with results unchanged;
 *  - a source image replaced in place (same path, new content) misses its entry: it is decoded, and
 *    the result is that of a run without any cache;
 *  - two runs filling one cache at once both succeed and leave only whole entries (atomic writes).
 */
import { copyFile, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFlatFolder, readPredictions, runZoo, tempDir, val227Files, VAL_227, writeRecipeCheckpoint } from './support/cli.js';
import { readJson } from './support/trust.js';

let dir: string;
let flat: string;
let weights: string;
let cache: string;
let names: string[];
let runs = 0;

interface Outcome {
  read: number;
  decoded: number;
  bad: number;
  numbers: unknown;
  predictions: Awaited<ReturnType<typeof readPredictions>>;
}

/** One eval of the flat folder; the crop cache's note is the run's own count of what it decoded. */
async function evalOnce(withCache: boolean, cacheDir = cache): Promise<Outcome> {
  const n = ++runs;
  const json = join(dir, `r${n}.json`);
  const preds = join(dir, `p${n}.csv`);
  const r = await runZoo(
    [
      'eval', 'rexnet_100', '--data', flat, '--weights', weights, '--threads', '1', '--workers', '1', '--batch-size', '2',
      '--json', json, '--predictions', preds, '--state', join(dir, `s${n}.state.json`),
      ...(withCache ? ['--crop-cache', cacheDir] : []),
    ],
    { timeoutMs: 90_000 },
  );
  expect(r.code, r.stderr).toBe(0);
  const m = /crop cache .*: (\d+) read, (\d+) decoded and stored, (\d+) bad entries decoded again/.exec(r.stderr);
  if (withCache) expect(m, r.stderr).not.toBeNull();
  else expect(m).toBeNull();
  const j = await readJson(json);
  const { top1, top5, images } = j as unknown as { top1: number; top5: number; images: number };
  expect(images).toBe(names.length);
  return {
    read: Number(m?.[1] ?? 0),
    decoded: Number(m?.[2] ?? 0),
    bad: Number(m?.[3] ?? 0),
    numbers: { top1, top5, images },
    predictions: await readPredictions(preds),
  };
}

async function entries(where = cache): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(where, { withFileTypes: true })) {
    if (!d.isDirectory()) continue;
    for (const f of await readdir(join(where, d.name))) out.push(join(where, d.name, f));
  }
  return out.sort();
}

beforeAll(async () => {
  dir = await tempDir('zoo-crop-cache-');
  names = await val227Files(4);
  flat = await makeFlatFolder(join(dir, 'flat'), names);
  weights = await writeRecipeCheckpoint('rexnet_100', dir);
  cache = join(dir, 'crops');
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('--crop-cache', () => {
  let first: Outcome;

  it('a second run decodes nothing and gives the same numbers and predictions', async () => {
    first = await evalOnce(true);
    expect([first.read, first.decoded, first.bad]).toEqual([0, 4, 0]);
    expect(await entries()).toHaveLength(4);
    const second = await evalOnce(true);
    expect([second.read, second.decoded, second.bad]).toEqual([4, 0, 0]);
    expect(second.numbers).toEqual(first.numbers);
    expect(second.predictions).toEqual(first.predictions);
  }, 120_000);

  it('truncated, flipped and mismatched entries are detected, decoded again and rewritten', async () => {
    const files = await entries();
    const [a, b, c, d] = files as [string, string, string, string];
    const bytesA = await readFile(a);
    await truncate(a, bytesA.length - 100);
    const bytesB = await readFile(b);
    bytesB[bytesB.length - 5]! ^= 0x40; // a pixel byte
    await writeFile(b, bytesB);
    await copyFile(d, c); // a whole, valid entry, but another image's
    const third = await evalOnce(true);
    expect([third.read, third.decoded, third.bad]).toEqual([1, 0, 3]);
    expect(third.numbers).toEqual(first.numbers);
    expect(third.predictions).toEqual(first.predictions);
    // Rewritten: the next run reads all four again.
    const fourth = await evalOnce(true);
    expect([fourth.read, fourth.decoded, fourth.bad]).toEqual([4, 0, 0]);
    expect(fourth.predictions).toEqual(first.predictions);
  }, 180_000);

  it('a source image changed in place invalidates its entry', async () => {
    // Same path, another val image's bytes.
    const other = (await val227Files(5))[4]!;
    await copyFile(join(VAL_227, other), join(flat, names[0]!));
    const cached = await evalOnce(true);
    expect([cached.read, cached.decoded, cached.bad]).toEqual([3, 1, 0]);
    const fresh = await evalOnce(false);
    expect(cached.numbers).toEqual(fresh.numbers);
    expect(cached.predictions).toEqual(fresh.predictions);
    expect(cached.predictions).not.toEqual(first.predictions);
  }, 180_000);

  it('two runs filling one cache at the same time both succeed; only whole entries are left', async () => {
    const shared = join(dir, 'shared-crops');
    const [a, b] = await Promise.all([evalOnce(true, shared), evalOnce(true, shared)]);
    expect(a.predictions).toEqual(b.predictions);
    expect(a.read + a.decoded).toBe(4);
    expect(b.read + b.decoded).toBe(4);
    const left = await entries(shared);
    expect(left.filter((f) => !f.endsWith('.crop'))).toEqual([]);
    expect(left).toHaveLength(4);
    const after = await evalOnce(true, shared);
    expect([after.read, after.decoded, after.bad]).toEqual([4, 0, 0]);
    expect(after.predictions).toEqual(a.predictions);
  }, 180_000);

  it('refuses a directory that holds other files and is not a crop cache', async () => {
    const notCache = join(dir, 'flat');
    const r = await runZoo(['eval', 'rexnet_100', '--data', flat, '--weights', weights, '--crop-cache', notCache, '--state', join(dir, 'x.state.json')], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--crop-cache: the directory is not empty and is not a zoo crop cache/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
