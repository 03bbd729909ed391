/**
 * A sweep group's temporary crop cache (src/run/group-crops.ts over src/io/scratch-dir.ts): made on
 * first use under its root, the same folder for every model of the group, deleted by dispose; crops
 * that would not fit in the free space are refused in one line (each model then decodes); folders
 * left by a process that no longer runs (kill -9) are swept by the next one.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveModel } from '../src/models/registry.js';
import { GroupCrops } from '../src/run/group-crops.js';
import { tempDir } from './support/cli.js';

const cfg = resolveModel('rexnet_100').tag.evalConfig;
let dir: string;

beforeAll(async () => {
  dir = await tempDir('zoo-group-crops-');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('GroupCrops', () => {
  it('gives every model of the group one folder under its root, said once, and removes it on dispose', async () => {
    const root = join(dir, 'ok');
    const lines: string[] = [];
    const crops = new GroupCrops(3, (l) => lines.push(l), false, root);
    const first = crops.dirFor(10, cfg)!;
    expect(first.startsWith(join(root, `${process.pid}-`))).toBe(true);
    expect(crops.dirFor(10, cfg)).toBe(first);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/the 3 models at 224x224 bicubic crop 0\.875 share their crops: decoded once into .* deleted when they end/);
    await crops.dispose();
    expect(existsSync(first)).toBe(false);
  });

  it('refuses crops that do not fit in the free space, in one line, and leaves nothing behind', async () => {
    const root = join(dir, 'full');
    const lines: string[] = [];
    const crops = new GroupCrops(2, (l) => lines.push(l), true, root);
    // 10^9 crops of 224x224: ~150 TB, more than any disk the tests run on.
    expect(crops.dirFor(1e9, cfg)).toBeUndefined();
    expect(crops.dirFor(1e9, cfg)).toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^zoo: warning: 1000000000 crops need .* free to use in .*: each of the 2 models decodes the images itself/);
    await crops.dispose();
    expect(await readdir(root)).toEqual([]);
  });

  it("sweeps a folder left by a process that no longer runs, and keeps a live one's", async () => {
    const root = join(dir, 'stale');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // ended and reaped: its pid runs nothing
    await mkdir(join(root, `${dead}-abc123`), { recursive: true });
    await writeFile(join(root, `${dead}-abc123`, 'x.crop'), 'left by kill -9');
    await mkdir(join(root, `${process.ppid}-def456`));
    const crops = new GroupCrops(2, () => undefined, true, root);
    const mine = crops.dirFor(1, cfg)!;
    expect((await readdir(root)).sort()).toEqual([`${process.ppid}-def456`, mine.slice(root.length + 1)].sort());
    await crops.dispose();
  });
});
