/**
 * Issue 12, `zoo cache` through the real CLI: sizing a crop cache a real run filled, pruning crop
 * entries by age (and nothing that is not an entry), pruning zoo's weights cache of `.bad`,
 * abandoned `.part` and orphaned `.meta.json` files (a `.part` under a live lock stays), and
 * `zoo cache add` putting a checkpoint where `--offline` finds it (a file that does not parse, or
 * does not fit the architecture, is refused, nothing placed).
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/errors.js';
import { encodeSafetensors } from '../src/models/weights/safetensors.js';
import { makeFlatFolder, runZoo, tempDir, val227Files, writeRecipeCheckpoint } from './support/cli.js';
import { readJson } from './support/trust.js';

let dir: string;
let flat: string;
let weights: string;
let crops: string;
let env: Record<string, string>;

interface Survey {
  crop_cache: { entries: number; bytes: number; temps: number; configs: { config: string; entries: number }[] };
}

async function survey(): Promise<Survey['crop_cache']> {
  const r = await runZoo(['cache', '--crop-cache', crops, '--json', '-'], { env });
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as Survey).crop_cache;
}

async function entryFiles(): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(crops, { withFileTypes: true })) {
    if (d.isDirectory()) for (const f of await readdir(join(crops, d.name))) out.push(join(crops, d.name, f));
  }
  return out.sort();
}

beforeAll(async () => {
  dir = await tempDir('zoo-cache-admin-');
  flat = await makeFlatFolder(join(dir, 'flat'), await val227Files(2));
  weights = await writeRecipeCheckpoint('rexnet_100', dir);
  crops = join(dir, 'crops');
  // Only this test's caches: zoo's, and empty Hub / torch caches.
  env = { ZOO_CACHE: join(dir, 'zoo-cache'), HF_HUB_CACHE: '', HF_HOME: join(dir, 'hf-home'), TORCH_HOME: join(dir, 'torch-home') };
  const r = await runZoo(['eval', 'rexnet_100', '--data', flat, '--weights', weights, '--threads', '1', '--workers', '1', '--crop-cache', crops, '--state', join(dir, 'fill.state.json')], { env, timeoutMs: 60_000 });
  expect(r.code, r.stderr).toBe(0);
}, 90_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('zoo cache --crop-cache', () => {
  it('lists and sizes what a run stored, per crop config', async () => {
    const s = await survey();
    expect(s.entries).toBe(2);
    expect(s.configs).toEqual([{ config: 'size=224x224 crop_pct=0.875 crop_mode=center interpolation=bicubic resize=exact', entries: 2, bytes: s.bytes }]);
    // 224 x 224 x 3 pixels plus a header each.
    expect(s.bytes).toBeGreaterThan(2 * 224 * 224 * 3);
    const table = await runZoo(['cache', 'list', '--crop-cache', crops], { env });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/size=224x224 .* 2 /);
    expect(table.stderr).toMatch(/2 entries/);
  });

  it('prune --older-than removes only old entries and stale temporaries; --all the rest; other files stay', async () => {
    const [old, young] = (await entryFiles()) as [string, string];
    const longAgo = new Date(Date.now() - 40 * 86_400_000);
    await utimes(old, longAgo, longAgo);
    const staleTemp = `${young}.123-0-aaaa.tmp`;
    await writeFile(staleTemp, 'partial');
    await utimes(staleTemp, longAgo, longAgo);
    const freshTemp = `${young}.456-0-bbbb.tmp`; // a write in progress
    await writeFile(freshTemp, 'partial');
    const notes = join(crops, 'notes.txt');
    await writeFile(notes, 'mine');

    const r = await runZoo(['cache', 'prune', '--crop-cache', crops, '--older-than', '30'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/removed 2 file\(s\)/);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(staleTemp)).toBe(false);
    expect(existsSync(young)).toBe(true);
    expect(existsSync(freshTemp)).toBe(true);
    expect((await survey()).entries).toBe(1);

    const all = await runZoo(['cache', 'prune', '--crop-cache', crops, '--all'], { env });
    expect(all.code, all.stderr).toBe(0);
    expect((await survey()).entries).toBe(0);
    expect(existsSync(notes)).toBe(true);
  });

  it('prune without --older-than or --all, or on a folder that is not a crop cache, is exit 2 and deletes nothing', async () => {
    const r = await runZoo(['cache', 'prune', '--crop-cache', crops], { env });
    expect(r.code).toBe(ExitCode.USAGE);
    expect(r.stderr).toMatch(/add --older-than DAYS or --all/);
    const notCache = await runZoo(['cache', 'prune', '--crop-cache', flat, '--all'], { env });
    expect(notCache.code).toBe(ExitCode.USAGE);
    expect(notCache.stderr).toMatch(/not a zoo crop cache/);
    expect(await readdir(flat)).toHaveLength(2);
  });
});

describe('zoo cache prune: the weights cache', () => {
  it('removes .bad, abandoned .part and orphaned .meta.json; keeps a locked .part and whole files', async () => {
    const repo = join(dir, 'zoo-cache', 'huggingface', 'timm', 'x', 'main');
    await mkdir(repo, { recursive: true });
    const files = {
      bad: join(repo, 'a.safetensors.bad'),
      part: join(repo, 'b.safetensors.part'),
      orphan: join(repo, 'c.safetensors.meta.json'),
      lockedPart: join(repo, 'd.safetensors.part'),
      lock: join(repo, 'd.safetensors.lock'),
      whole: join(repo, 'e.safetensors'),
      wholeMeta: join(repo, 'e.safetensors.meta.json'),
    };
    for (const f of Object.values(files)) await writeFile(f, 'x');
    const dry = await runZoo(['cache', 'prune', '--dry-run'], { env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/3 file\(s\) to remove/);
    expect(existsSync(files.bad)).toBe(true);
    const r = await runZoo(['cache', 'prune'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/3 file\(s\) removed/);
    for (const gone of [files.bad, files.part, files.orphan]) expect(existsSync(gone), gone).toBe(false);
    for (const kept of [files.lockedPart, files.lock, files.whole, files.wholeMeta]) expect(existsSync(kept), kept).toBe(true);
    await rm(repo, { recursive: true, force: true });
  });
});

describe('zoo cache add', () => {
  it('refuses a file that is not a checkpoint, and places nothing', async () => {
    const junk = join(dir, 'junk.safetensors');
    await writeFile(junk, '<html>not found</html>');
    const r = await runZoo(['cache', 'add', 'rexnet_100', junk], { env });
    expect(r.code).toBe(ExitCode.WEIGHTS);
    expect(r.stderr).toMatch(/junk\.safetensors.*not a whole checkpoint/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const listed = await runZoo(['cache', 'rexnet_100', '--json', '-'], { env });
    expect(JSON.parse(listed.stdout)).toEqual([]);
  });

  it('refuses a checkpoint that parses but does not fit the architecture', async () => {
    const other = join(dir, 'other.safetensors');
    await writeFile(other, encodeSafetensors(new Map([['fc.weight', { dtype: 'float32', shape: [2, 2], data: new Float32Array(4) }]])));
    const r = await runZoo(['cache', 'add', 'rexnet_100', other], { env });
    expect(r.code).toBe(ExitCode.WEIGHTS);
    expect(r.stderr).toMatch(/other\.safetensors.*weights do not fit this architecture/);
    const listed = await runZoo(['cache', 'rexnet_100', '--json', '-'], { env });
    expect(JSON.parse(listed.stdout)).toEqual([]);
  });

  it('puts a checkpoint where --offline finds it: the offline run equals the --weights run', async () => {
    const add = await runZoo(['cache', 'add', 'rexnet_100', weights], { env });
    expect(add.code, add.stderr).toBe(0);
    const placed = add.stdout.trim().split(': ').pop()!;
    expect(existsSync(placed)).toBe(true);
    const listed = await runZoo(['cache', 'rexnet_100', '--json', '-'], { env });
    expect(JSON.parse(listed.stdout)).toContainEqual(expect.objectContaining({ found_in: 'zoo', path: placed }));

    const args = ['eval', 'rexnet_100', '--data', flat, '--threads', '1', '--workers', '1', '--quiet'];
    const offline = await runZoo([...args, '--offline', '--json', join(dir, 'off.json'), '--state', join(dir, 'off.state.json')], { env, timeoutMs: 60_000 });
    expect(offline.code, offline.stderr).toBe(0);
    const given = await runZoo([...args, '--weights', weights, '--json', join(dir, 'given.json'), '--state', join(dir, 'given.state.json')], { env, timeoutMs: 60_000 });
    expect(given.code, given.stderr).toBe(0);
    const [a, b] = [await readJson(join(dir, 'off.json')), await readJson(join(dir, 'given.json'))];
    expect(a.identity.weights.sha256).toBe(b.identity.weights.sha256);
    expect([a.top1, a.top5]).toEqual([b.top1, b.top5]);
  }, 120_000);
});
