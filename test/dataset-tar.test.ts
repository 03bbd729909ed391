/**
 * `--data` as a tar, read in place: the flat ILSVRC2012_img_val.tar layout and a tar of an
 * ImageFolder tree (both written by the system `tar` from real val JPEGs, plus hand-written hostile
 * entries), labelled like the folder layouts, loaded through the loader byte-identically to the
 * files; completeness (`complete`, `missing`) and duplicate warnings, including a full 50,000-entry
 * val tar of empty entries that is complete, and the same with one image gone or one stored twice.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverDataset, type Dataset } from '../src/data/dataset.js';
import { createLoader } from '../src/data/loader.js';
import { preprocessFile } from '../src/data/preprocess.js';
import { DataError } from '../src/errors.js';
import { imagenetConfig, rejection, synsets, VAL_227, valTruth } from './support/fixtures.js';
import { TAR_END, tarEntry, tarHeader } from './support/tar-writer.js';

const truth = valTruth();
const wnids = synsets();
const cfg = imagenetConfig(64);

let tmp: string;
let names: string[];

const valName = (i: number) => `ILSVRC2012_val_${String(i).padStart(8, '0')}.JPEG`;

function snapshot(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      out.push(join(d, e.name));
      if (e.isDirectory()) walk(join(d, e.name));
    }
  };
  walk(root);
  return out.sort();
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'zoo-dataset-tar-'));
  names = readdirSync(VAL_227).sort().slice(0, 12);
  // flat/: as ILSVRC2012_img_val.tar holds them; tree/val/<wnid>/: an ImageFolder tree.
  mkdirSync(join(tmp, 'flat'));
  for (const n of names) {
    copyFileSync(join(VAL_227, n), join(tmp, 'flat', n));
    const dir = join(tmp, 'tree', 'val', wnids[truth.get(n)!]!);
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(VAL_227, n), join(dir, n));
  }
  execFileSync('tar', ['-cf', join(tmp, 'ILSVRC2012_img_val.tar'), ...names], { cwd: join(tmp, 'flat') });
  execFileSync('tar', ['--format=pax', '-cf', join(tmp, 'tree.tar'), 'val'], { cwd: join(tmp, 'tree') });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('discoverDataset on a tar', () => {
  it('flat val tar: labels from the bundled ground truth, tar offsets, incomplete with the missing count', async () => {
    const tarFile = join(tmp, 'ILSVRC2012_img_val.tar');
    const ds = await discoverDataset(tarFile);
    expect([ds.layout, ds.source, ds.root]).toEqual(['flat', 'tar', tarFile]);
    expect(ds.samples.map((s) => [s.name, s.label])).toEqual(names.map((n) => [n, truth.get(n)]));
    for (const s of ds.samples) {
      expect(s.file).toBe(`${tarFile}:${s.name}`);
      const bytes = readFileSync(join(VAL_227, s.name));
      expect(s.tar!.size).toBe(bytes.length);
      const fd = readFileSync(tarFile).subarray(s.tar!.offset, s.tar!.offset + s.tar!.size);
      expect(fd.equals(bytes)).toBe(true);
    }
    expect(ds.complete).toBe(false);
    expect(ds.missing).toBe(50000 - names.length);
    expect(ds.warnings.some((w) => /^INCOMPLETE: found 12 images.*49988 images of the ground truth are missing/.test(w))).toBe(true);
  });

  it('ImageFolder tar (pax, under val/): classes from the synset folders', async () => {
    const ds = await discoverDataset(join(tmp, 'tree.tar'));
    expect([ds.layout, ds.source]).toEqual(['imagefolder', 'tar']);
    expect(ds.samples.map((s) => [s.name, s.label])).toEqual(names.map((n) => [n, truth.get(n)]));
    expect(ds.samples[0]!.file).toBe(`${join(tmp, 'tree.tar')}:val/${wnids[truth.get(names[0]!)!]}/${names[0]}`);
    expect([ds.complete, ds.missing]).toEqual([false, 50000 - names.length]);
  });

  for (const workers of [0, 2]) {
    it(`workers ${workers}: the loader reads tar entries byte-identically to the files`, async () => {
      const ds = await discoverDataset(join(tmp, 'tree.tar'));
      const loader = createLoader(ds.samples, cfg, { batchSize: 5, workers });
      const per = 3 * 64 * 64;
      let i = 0;
      for await (const b of loader) {
        for (let k = 0; k < b.n; k++, i++) {
          const want = await preprocessFile(join(VAL_227, b.samples[k]!.name), cfg);
          const got = b.data.subarray(k * per, (k + 1) * per);
          expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(want.buffer))).toBe(true);
        }
      }
      expect(i).toBe(names.length);
    }, 30_000);
  }

  it('hostile entries are ignored with a warning, nothing is written, a truncated entry fails alone under skip', async () => {
    const img = readFileSync(join(VAL_227, names[0]!));
    const img2 = readFileSync(join(VAL_227, names[1]!));
    const file = join(tmp, 'hostile.tar');
    writeFileSync(
      file,
      Buffer.concat([
        tarEntry(`../${names[2]}`, img),
        tarEntry(`/tmp/${names[3]}`, img),
        tarEntry(`val/../../${names[4]}`, img),
        tarEntry(names[0]!, img),
        tarEntry(names[1]!, img2.subarray(0, img2.length >> 1)),
        tarEntry('README.txt', Buffer.from('hello\n')),
        TAR_END,
      ]),
    );
    const before = snapshot(tmp);
    const ds = await discoverDataset(file);
    expect(ds.samples.map((s) => s.name)).toEqual([names[0], names[1]]);
    const w = ds.warnings.join('\n');
    expect(w).toMatch(/3 unsafe or unsupported tar entries ignored: '\.\.\/.*' \(.*'\.\.' component/);
    expect(w).toContain('absolute path');
    expect(w).toMatch(/1 other file\(s\) in the tar ignored/);
    const loader = createLoader(ds.samples, cfg, { batchSize: 2, workers: 1, onError: 'skip' });
    const batches = [];
    for await (const b of loader) batches.push(b);
    expect(batches[0]!.samples.map((s) => s.name)).toEqual([names[0]]);
    expect(batches[0]!.failed.map((f) => f.message)).toEqual([expect.stringMatching(new RegExp(`^${file}:${names[1]}: cannot decode image`))]);
    expect(snapshot(tmp)).toEqual(before);
    expect(statSync(join(tmp, '..', names[2]!), { throwIfNoEntry: false })).toBeUndefined();
  }, 20_000);

  it('an unknown class folder in an ImageFolder tar is the same DataError as for folders', async () => {
    const file = join(tmp, 'unknown.tar');
    const img = readFileSync(join(VAL_227, names[0]!));
    writeFileSync(file, Buffer.concat([tarEntry(`val/${wnids[0]}/${names[0]}`, img), tarEntry(`val/n99999999/${names[1]}`, img), TAR_END]));
    const e = await rejection(discoverDataset(file), DataError);
    expect(e.oneLine()).toMatch(/unknown\.tar: 1 class folder\(s\) are not ImageNet-1k WordNet ids: n99999999/);
  });

  it('a flat tar image with no ground-truth label is refused; --labels labels it', async () => {
    const file = join(tmp, 'unlabelled.tar');
    const img = readFileSync(join(VAL_227, names[0]!));
    writeFileSync(file, Buffer.concat([tarEntry(names[0]!, img), tarEntry('ILSVRC2012_val_00099999.JPEG', img), TAR_END]));
    const e = await rejection(discoverDataset(file), DataError);
    expect(e.oneLine()).toMatch(/1 image\(s\) have no label in the bundled ILSVRC2012 val ground truth: ILSVRC2012_val_00099999\.JPEG/);
    const labels = join(tmp, 'labels.txt');
    writeFileSync(labels, `${names[0]} 3\nILSVRC2012_val_00099999.JPEG 7\nILSVRC2012_val_00099998.JPEG 8\n`);
    const ds = await discoverDataset(file, { labels });
    expect(ds.samples.map((s) => s.label)).toEqual([3, 7]);
    expect([ds.complete, ds.missing]).toEqual([false, 1]);
  });

  describe('a full 50,000-image val tar (empty entries: discovery only)', () => {
    let full: Dataset;
    it('is complete, with nothing missing and no warnings', async () => {
      const parts: Buffer[] = [];
      // Archive order need not be val order.
      for (let i = 50000; i >= 1; i--) parts.push(tarHeader({ name: valName(i), size: 0 }));
      writeFileSync(join(tmp, 'full.tar'), Buffer.concat([...parts, TAR_END]));
      full = await discoverDataset(join(tmp, 'full.tar'));
      expect(full.samples).toHaveLength(50000);
      expect(full.samples[0]!.name).toBe(valName(1));
      expect([full.complete, full.missing, full.warnings]).toEqual([true, 0, []]);
      // Without one image: incomplete by one; with a path stored twice: a loud duplicate warning.
      const gone = Buffer.concat([...parts.filter((_, k) => k !== 100), TAR_END]);
      writeFileSync(join(tmp, 'gone.tar'), gone);
      const g = await discoverDataset(join(tmp, 'gone.tar'));
      expect([g.complete, g.missing, g.samples.length]).toEqual([false, 1, 49999]);
      writeFileSync(join(tmp, 'dup.tar'), Buffer.concat([...parts, parts[7]!, TAR_END]));
      const d = await discoverDataset(join(tmp, 'dup.tar'));
      expect([d.complete, d.missing, d.samples.length]).toEqual([false, 0, 50000]);
      expect(d.warnings).toEqual([expect.stringMatching(/^DUPLICATES: 1 paths are stored more than once in the tar \(e\.g\. ILSVRC2012_val_00049993\.JPEG\)/)]);
    }, 30_000);
  });
});

describe('completeness of folders', () => {
  it('an ImageFolder tree with a name in two classes is incomplete with a DUPLICATES warning', async () => {
    const dir = join(tmp, 'dups');
    mkdirSync(join(dir, wnids[1]!), { recursive: true });
    mkdirSync(join(dir, wnids[2]!), { recursive: true });
    copyFileSync(join(VAL_227, names[0]!), join(dir, wnids[1]!, names[0]!));
    copyFileSync(join(VAL_227, names[0]!), join(dir, wnids[2]!, names[0]!));
    const ds = await discoverDataset(dir);
    expect([ds.source, ds.complete, ds.missing]).toEqual(['folder', false, 49999]);
    expect(ds.warnings.some((w) => w.startsWith(`DUPLICATES: 1 image names occur more than once (e.g. ${names[0]})`))).toBe(true);
  });

  it('a flat folder counts the val images it lacks', async () => {
    const ds = await discoverDataset(join(tmp, 'flat'));
    expect([ds.source, ds.complete, ds.missing]).toEqual(['folder', false, 50000 - names.length]);
  });
});
