/**
 * The data side of the test sets (issue 13), below the CLI: the published row each set and eval
 * config is compared with (checked against shared/imagenet/published.csv, read independently), the
 * bundled 200-class lists, the zip reader (what Sketch users download) on honest and hostile
 * archives, and the .tar.gz spool (bounded, removed, stale spools swept).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { cropOf } from '../src/data/pipeline.js';
import { spoolGzip } from '../src/data/spool.js';
import { listTarFiles } from '../src/data/tar.js';
import { openTestSet } from '../src/data/test-set-data.js';
import { allTestSets, subsetClasses } from '../src/data/test-sets.js';
import { listZipFiles, MAX_ZIP_ENTRY_BYTES } from '../src/data/zip.js';
import { DataError } from '../src/errors.js';
import { primaryPublished, resolveModel } from '../src/models/registry.js';
import { tempDir } from './support/cli.js';
import { imagenetConfig, rejection, SHARED, VAL_227 } from './support/fixtures.js';
import { TAR_END, tarEntry } from './support/tar-writer.js';
import { zipArchive } from './support/zip-writer.js';

let dir: string;
beforeAll(async () => {
  dir = await tempDir('zoo-test-sets-');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Row {
  model: string;
  dataset: string;
  size: number;
  crop: number;
  interpolation: string;
  top1: number;
  top5: number;
}

/** shared/imagenet/published.csv's timm rows (no quoted fields in them). */
function sharedTimmRows(): Row[] {
  return readFileSync(join(SHARED, 'imagenet', 'published.csv'), 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.includes(',timm results/'))
    .map((l) => l.split(','))
    .map((f) => ({ model: f[0]!, dataset: f[2]!, size: Number(f[3]), crop: Number(f[4]), interpolation: f[5]!, top1: Number(f[6]), top5: Number(f[7]) }));
}

describe('published comparison per set', () => {
  it('every set and eval config of every catalogued tag picks its own row of published.csv', () => {
    const rows = sharedTimmRows();
    const sets = new Set(allTestSets().map((s) => s.name));
    let checked = 0;
    const seen = new Set<string>();
    for (const r of rows) {
      let tag;
      try {
        tag = resolveModel(r.model).tag;
      } catch {
        continue; // a model zoo does not catalogue
      }
      if (tag.name !== r.model) continue;
      expect(sets.has(r.dataset as never), r.dataset).toBe(true);
      const cfg = { ...tag.evalConfig, inputSize: [3, r.size, r.size] as const, cropPct: r.crop, interpolation: r.interpolation as 'bicubic' };
      const p = primaryPublished(tag, cfg, r.dataset);
      expect(p, `${r.model} ${r.dataset} ${r.size}`).toBeDefined();
      expect([p!.dataset, p!.imgSize, p!.top1, p!.top5], `${r.model} ${r.dataset} ${r.size}`).toEqual([r.dataset, r.size, r.top1, r.top5]);
      checked++;
      seen.add(r.dataset);
    }
    expect(checked).toBeGreaterThan(400);
    expect([...seen].sort()).toEqual(
      ['imagenet', 'imagenet-a', 'imagenet-a-clean', 'imagenet-r', 'imagenet-r-clean', 'imagenet-real', 'imagenetv2-matched-frequency', 'sketch'],
    );
  });

  it('a set with no row for the tag compares with nothing, never with another set', () => {
    const tag = resolveModel('rexnet_100').tag;
    expect(primaryPublished(tag, tag.evalConfig, 'imagenetv2-top-images')).toBeUndefined();
    expect(primaryPublished(tag, tag.evalConfig, 'imagenet-a')!.top1).toBe(8.8);
  });
});

describe('the 200-class lists', () => {
  it("are timm's imagenet_{a,r}_indices/synsets.txt, ascending ImageNet-1k indices", () => {
    for (const which of ['a', 'r'] as const) {
      const read = (f: string) => readFileSync(join(SHARED, 'imagenet', `imagenet_${which}_${f}.txt`), 'utf8').trim().split(/\r?\n/);
      const s = subsetClasses(which);
      expect(s.indices).toEqual(read('indices').map(Number));
      expect(s.synsets).toEqual(read('synsets'));
    }
  });
});

const JPEG = readFileSync(join(VAL_227, 'ILSVRC2012_val_00000347.JPEG'));
const JPEG2 = readFileSync(join(VAL_227, 'ILSVRC2012_val_00000355.JPEG'));

describe('zip reader', () => {
  it('reads stored and deflate entries, ZIP64 end records included, to the same crops as the files', async () => {
    for (const zip64 of [false, true]) {
      const file = join(dir, `ok${zip64 ? '64' : ''}.zip`);
      await writeFile(file, zipArchive([
        { name: 'sketch/n01440764/', data: Buffer.alloc(0), method: 'store' },
        { name: 'sketch/n01440764/a.JPEG', data: JPEG, method: 'deflate' },
        { name: 'sketch/n01443537/b.JPEG', data: JPEG2, method: 'store' },
      ], { zip64 }));
      const z = await listZipFiles(file);
      expect(z.files.map((f) => f.path)).toEqual(['sketch/n01440764/a.JPEG', 'sketch/n01443537/b.JPEG']);
      expect(z.skipped).toEqual([]);
      const cfg = imagenetConfig(224);
      for (const [f, orig] of [[z.files[0]!, '347'], [z.files[1]!, '355']] as const) {
        const { path: _path, ...at } = f;
        const ref = { file, ...at };
        const viaZip = await cropOf({ file: `${file}:${f.path}`, tar: ref }, cfg);
        const direct = await cropOf(join(VAL_227, `ILSVRC2012_val_00000${orig}.JPEG`), cfg);
        expect(Buffer.from(viaZip.data).equals(Buffer.from(direct.data))).toBe(true);
      }
    }
  });

  it('skips escaping names, links, encrypted entries, other methods and oversized declarations, with a reason each', async () => {
    const file = join(dir, 'hostile.zip');
    await writeFile(file, zipArchive([
      { name: '../evil/n01440764/x.JPEG', data: JPEG },
      { name: '/abs/n01440764/x.JPEG', data: JPEG },
      { name: 'sketch/n01440764/link.JPEG', data: Buffer.from('/etc/passwd'), method: 'store', mode: 0o120777 },
      { name: 'sketch/n01440764/enc.JPEG', data: JPEG, flags: 1 },
      { name: 'sketch/n01440764/big.JPEG', data: JPEG, declaredSize: MAX_ZIP_ENTRY_BYTES + 1 },
      { name: 'sketch/n01440764/ok.JPEG', data: JPEG },
    ]));
    const z = await listZipFiles(file);
    expect(z.files.map((f) => f.path)).toEqual(['sketch/n01440764/ok.JPEG']);
    expect(z.skipped.map((s) => s.reason)).toEqual([
      "'..' component (would escape the dataset folder)",
      'absolute path',
      'symbolic link (links are not followed)',
      'encrypted entry',
      `declares ${MAX_ZIP_ENTRY_BYTES + 1} bytes uncompressed, more than any image (a zip bomb?)`,
    ]);
  });

  it('refuses entries that share one deflate stream (the overlapping zip bomb) and a cut-off archive', async () => {
    const file = join(dir, 'overlap.zip');
    await writeFile(file, zipArchive([{ name: 's/n01440764/a.JPEG', data: JPEG }, { name: 's/n01440764/b.JPEG', data: JPEG, sameDataAs: 0 }]));
    const e = await rejection(listZipFiles(file), DataError);
    expect(e.message).toMatch(/share bytes/);
    const cut = join(dir, 'cut.zip');
    const whole = zipArchive([{ name: 's/n01440764/a.JPEG', data: JPEG }]);
    await writeFile(cut, whole.subarray(0, whole.length - 30));
    expect((await rejection(listZipFiles(cut), DataError)).message).toMatch(/no end-of-central-directory/);
  });

  it('a ZIP64 extra field that claims more bytes than its record holds is a corrupt zip (a DataError), not a crash', async () => {
    // The last central record: sizes 0xffffffff, so both 64-bit values are taken from an extra
    // field that declares 16 bytes but holds 8 and ends the directory.
    const extra = Buffer.alloc(12);
    extra.writeUInt16LE(0x0001, 0);
    extra.writeUInt16LE(16, 2);
    extra.writeBigUInt64LE(BigInt(JPEG.length), 4);
    const file = join(dir, 'short-extra.zip');
    await writeFile(file, zipArchive([{ name: 's/n01440764/a.JPEG', data: JPEG, method: 'store', declaredSize: 0xffffffff, declaredCompressedSize: 0xffffffff, extra }]));
    const e = await rejection(listZipFiles(file), DataError);
    expect(e.message).toMatch(/^corrupt zip: extra field of 's\/n01440764\/a\.JPEG' runs past its entry/);
  });

  it('a deflate entry that inflates past its declared size stops at it: a data error, not memory', async () => {
    const file = join(dir, 'liar.zip');
    await writeFile(file, zipArchive([{ name: 's/n01440764/a.JPEG', data: JPEG, declaredSize: 1000 }]));
    const [f] = (await listZipFiles(file)).files;
    const { path: _path, ...at } = f!;
    const e = await rejection(cropOf({ file: `${file}:a`, tar: { file, ...at } }, imagenetConfig(224)), DataError);
    expect(e.message).toMatch(/inflates to more than the 1000 bytes/);
  });
});

describe('.tar.gz spool', () => {
  const tarBytes = Buffer.concat([tarEntry('v2/0/a.jpeg', JPEG), tarEntry('v2/10/b.jpeg', JPEG2), TAR_END]);
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('spools the tar into the cache once, readable in place, and removes it on dispose; stale spools are swept', async () => {
    const cache = join(dir, 'cache');
    vi.stubEnv('ZOO_CACHE', cache);
    const gz = join(dir, 'v2.tar.gz');
    await writeFile(gz, gzipSync(tarBytes));
    // A spool left by a process that no longer exists (killed with -9).
    const stale = join(cache, 'spool', '2147483646-dead');
    await mkdir(stale, { recursive: true });
    const s = await spoolGzip(gz);
    expect(existsSync(stale)).toBe(false);
    expect(s.bytes).toBe(tarBytes.length);
    expect((await readFile(s.tar)).equals(tarBytes)).toBe(true);
    expect((await listTarFiles(s.tar)).files.map((f) => f.path)).toEqual(['v2/0/a.jpeg', 'v2/10/b.jpeg']);
    await s.dispose();
    expect(await readdir(join(cache, 'spool'))).toEqual([]);
  });

  it('stops at the free-space bound (a gzip bomb fills nothing) and at a damaged stream, leaving nothing', async () => {
    const cache = join(dir, 'cache2');
    vi.stubEnv('ZOO_CACHE', cache);
    const bomb = join(dir, 'bomb.tar.gz');
    await writeFile(bomb, gzipSync(Buffer.alloc(8 << 20)));
    const e = await rejection(spoolGzip(bomb, { limitBytes: 1 << 20 }), DataError);
    expect(e.message).toMatch(/decompresses to more than the 1048576 bytes/);
    const bad = join(dir, 'bad.tar.gz');
    await writeFile(bad, gzipSync(tarBytes).subarray(0, 200));
    expect((await rejection(spoolGzip(bad), DataError)).message).toMatch(/not a readable gzip/);
    expect(await readdir(join(cache, 'spool'))).toEqual([]);
  });
});

describe('openTestSet: detection and layouts', () => {
  /** A tree `<root>/<folder>/<file>` of tiny placeholder files (discovery never decodes them). */
  async function tree(root: string, folders: readonly string[], file = 'x.JPEG'): Promise<string> {
    for (const f of folders) {
      await mkdir(join(root, f), { recursive: true });
      await writeFile(join(root, f, file), JPEG);
    }
    return root;
  }
  const aList = () => readFileSync(join(SHARED, 'imagenet', 'imagenet_a_synsets.txt'), 'utf8').trim().split(/\r?\n/);
  const rList = () => readFileSync(join(SHARED, 'imagenet', 'imagenet_r_synsets.txt'), 'utf8').trim().split(/\r?\n/);

  it('exactly the 200 A (or R) folders are that set; 199 of them are not; Sketch by its name; V2 by numbers, variant by name', async () => {
    const a = await openTestSet(await tree(join(dir, 'det-a', 'imagenet-a'), aList()));
    expect([a.set.name, a.dataset.samples.length, a.valid]).toEqual(['imagenet-a', 200, subsetClasses('a').indices]);
    expect(a.detected).toMatch(/the 200 WordNet-id folders of the ImageNet-A list/);
    const r = await openTestSet(await tree(join(dir, 'det-r'), rList()));
    expect(r.set.name).toBe('imagenet-r');
    const partial = await openTestSet(await tree(join(dir, 'det-a199'), aList().slice(1)));
    expect([partial.set.name, partial.detected, partial.valid]).toEqual(['imagenet', null, null]);
    const sketch = await openTestSet(await tree(join(dir, 'det-sketch', 'sketch'), ['n01440764', 'n01443537'], 'sketch_0.png'));
    expect(sketch.set.name).toBe('sketch');
    expect(sketch.dataset.warnings.some((w) => w.startsWith('DUPLICATES'))).toBe(false);
    const thr = await openTestSet(await tree(join(dir, 'det-v2', 'imagenetv2-threshold0.7-format-val'), ['2', '10', '999']));
    expect(thr.set.name).toBe('imagenetv2-threshold0.7');
    // Class indices as numbers: '10' is class 10, not the second folder of a string sort.
    expect(thr.dataset.samples.map((s) => s.label)).toEqual([2, 10, 999]);
    const plain = await openTestSet(await tree(join(dir, 'det-v2plain'), ['0', '1']));
    expect([plain.set.name, plain.detected]).toEqual(['imagenetv2-matched-frequency', expect.stringMatching(/variant assumed/)]);
  });

  it('a hostile A tar: unsafe entries ignored with a warning, the rest read; a val set refuses a .zip', async () => {
    const file = join(dir, 'hostile-a.tar');
    const wnid = aList()[0]!;
    await writeFile(file, Buffer.concat([
      tarEntry(`imagenet-a/${wnid}/ok.jpg`, JPEG),
      tarEntry(`../imagenet-a/${wnid}/evil.jpg`, JPEG),
      tarEntry(`imagenet-a/${wnid}/link.jpg`, Buffer.alloc(0), { type: '2', linkname: '/etc/passwd' }),
      TAR_END,
    ]));
    const a = await openTestSet(file, { dataset: 'imagenet-a' });
    expect(a.dataset.samples.map((s) => s.entry)).toEqual([`imagenet-a/${wnid}/ok.jpg`]);
    expect(a.dataset.warnings.join('\n')).toMatch(/2 unsafe or unsupported archive entries ignored: '..\/imagenet-a\/.*' \('..' component/);
    const zip = join(dir, 'val.zip');
    await writeFile(zip, zipArchive([{ name: 'val/n01440764/ILSVRC2012_val_00000293.JPEG', data: JPEG }]));
    const e = await rejection(openTestSet(zip, { dataset: 'imagenet' }), DataError);
    expect(e.message).toMatch(/ImageNet val is read from a folder or a \.tar, not a \.zip \(set imagenet\)/);
  });
});

describe('-clean sets', () => {
  it('are complete with all 10,000 val images of the 200 classes, even from a folder holding nothing else', async () => {
    const a = new Set(subsetClasses('a').indices);
    const flat = join(dir, 'clean-flat');
    await mkdir(flat);
    const names = readFileSync(join(SHARED, 'imagenet', 'val_labels.txt'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' '))
      .filter(([, label]) => a.has(Number(label)))
      .map(([name]) => name!);
    expect(names).toHaveLength(10000);
    // Discovery lists names only; the files need no pixels.
    await Promise.all(names.map((n) => writeFile(join(flat, n), '')));
    const full = await openTestSet(flat, { dataset: 'imagenet-a-clean' });
    expect([full.dataset.samples.length, full.dataset.complete, full.dataset.missing]).toEqual([10000, true, 0]);
    expect(full.dataset.warnings).toEqual([]);
    await rm(join(flat, names[0]!));
    const partial = await openTestSet(flat, { dataset: 'imagenet-a-clean' });
    expect([partial.dataset.complete, partial.dataset.missing]).toEqual([false, 1]);
    expect(partial.dataset.warnings.join()).toMatch(/INCOMPLETE: found 9999 val images of the 200 classes, fewer than the 10000 of imagenet-a-clean/);
  });
});
