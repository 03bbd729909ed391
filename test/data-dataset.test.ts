/**
 * Dataset discovery on real val images (shared/samples/val-227) laid out the ways users have them:
 * flat, ImageFolder, a parent folder, with --labels files, and each error case.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverDataset } from '../src/data/dataset.js';
import { parseLabels } from '../src/data/labels.js';
import { DataError } from '../src/errors.js';
import { rejection, synsets, VAL_227, valTruth } from './support/fixtures.js';

// Ground truth read straight from shared/, independently of the module under test.
const truth = valTruth();
const wnids = synsets();

// 40 images, taken from the end of the listing so directory order differs from sorted order below.
const names = readdirSync(VAL_227).sort().slice(-40);
let tmp: string;

const dataErrorOf = (p: Promise<unknown>) => rejection(p, DataError);

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'zoo-dataset-'));
  // flat/
  mkdirSync(join(tmp, 'flat'));
  for (const n of names) copyFileSync(join(VAL_227, n), join(tmp, 'flat', n));
  // ILSVRC2012/val/<synset>/ (ImageFolder under a parent folder)
  for (const n of names) {
    const dir = join(tmp, 'ILSVRC2012', 'val', wnids[truth.get(n)!]!);
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(VAL_227, n), join(dir, n));
  }
  // parent2/ILSVRC2012_img_val/ (flat under a parent folder)
  mkdirSync(join(tmp, 'parent2', 'ILSVRC2012_img_val'), { recursive: true });
  for (const n of names.slice(0, 5)) copyFileSync(join(VAL_227, n), join(tmp, 'parent2', 'ILSVRC2012_img_val', n));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('discoverDataset', () => {
  it('reads a flat folder with the bundled ground truth, sorted in val order', async () => {
    const ds = await discoverDataset(join(tmp, 'flat'));
    expect(ds.layout).toBe('flat');
    expect(ds.samples.map((s) => s.name)).toEqual(names);
    for (const s of ds.samples) {
      expect(s.label).toBe(truth.get(s.name));
      expect(s.file).toBe(join(tmp, 'flat', s.name));
    }
    expect(ds.warnings.some((w) => w.includes('fewer than the 50000'))).toBe(true);
  });

  it('reads an ImageFolder tree under a parent folder, classes by WordNet id', async () => {
    const ds = await discoverDataset(join(tmp, 'ILSVRC2012'));
    expect(ds.layout).toBe('imagefolder');
    expect(ds.root).toBe(join(tmp, 'ILSVRC2012', 'val'));
    expect(ds.samples.map((s) => s.name)).toEqual(names);
    for (const s of ds.samples) expect(s.label).toBe(truth.get(s.name));
  });

  it('ImageFolder with only a few class folders still maps by synset, not by position', async () => {
    const dir = join(tmp, 'ILSVRC2012', 'val');
    const ds = await discoverDataset(dir);
    const classes = new Set(ds.samples.map((s) => s.label));
    // Folder positions would give labels 0..k-1; synset ids give the true, scattered labels.
    expect(Math.max(...classes)).toBeGreaterThan(classes.size);
  });

  it('finds a flat folder under ILSVRC2012_img_val/', async () => {
    const ds = await discoverDataset(join(tmp, 'parent2'));
    expect(ds.layout).toBe('flat');
    expect(ds.samples).toHaveLength(5);
  });

  it('takes --labels in val.txt form, with or without extensions', async () => {
    const file = join(tmp, 'labels.txt');
    writeFileSync(file, names.map((n, i) => `${i % 2 ? n : n.replace('.JPEG', '')} ${i}`).join('\n') + '\n');
    const ds = await discoverDataset(join(tmp, 'flat'), { labels: file });
    expect(ds.samples.map((s) => s.label)).toEqual(names.map((_, i) => i));
  });

  it('takes --labels in LOC_val_solution.csv form (first synset is the class)', async () => {
    const file = join(tmp, 'LOC_val_solution.csv');
    const rows = names.map((n) => {
      const syn = wnids[truth.get(n)!]!;
      return `${n.replace('.JPEG', '')},${syn} 10 20 30 40 ${wnids[0]} 1 2 3 4`;
    });
    writeFileSync(file, ['ImageId,PredictionString', ...rows].join('\n'));
    const ds = await discoverDataset(join(tmp, 'flat'), { labels: file });
    for (const s of ds.samples) expect(s.label).toBe(truth.get(s.name));
  });

  it('refuses the devkit one-id-per-line form instead of mis-scoring it', async () => {
    const file = join(tmp, 'ILSVRC2012_validation_ground_truth.txt');
    writeFileSync(file, '490\n361\n171\n822\n');
    const e = await dataErrorOf(discoverDataset(join(tmp, 'flat'), { labels: file }));
    expect(e.oneLine()).toMatch(/ILSVRC2012_ID.*not class indices/);
  });

  it('rejects malformed label lines with the line number', () => {
    expect(() => parseLabels('a.JPEG 1\nb.JPEG 1000\n', 'x.txt')).toThrow(/line 2/);
  });

  it('errors: missing path', async () => {
    const e = await dataErrorOf(discoverDataset(join(tmp, 'nope')));
    expect(e.file).toBe(join(tmp, 'nope'));
    expect(e.oneLine()).toMatch(/does not exist/);
  });

  it('errors: no images, listing the accepted layouts', async () => {
    mkdirSync(join(tmp, 'empty', 'other'), { recursive: true });
    writeFileSync(join(tmp, 'empty', 'readme.txt'), 'hi');
    const e = await dataErrorOf(discoverDataset(join(tmp, 'empty')));
    expect(e.oneLine()).toMatch(/no images found.*ImageFolder.*flat.*val\//);
  });

  it('errors: flat files absent from the ground truth, naming them and suggesting --labels', async () => {
    const dir = join(tmp, 'strangers');
    mkdirSync(dir);
    copyFileSync(join(VAL_227, names[0]!), join(dir, 'cat.jpg'));
    copyFileSync(join(VAL_227, names[1]!), join(dir, names[1]!));
    const e = await dataErrorOf(discoverDataset(dir));
    expect(e.oneLine()).toMatch(/1 image\(s\) have no label.*cat\.jpg.*--labels/);
  });

  it('errors: unknown class folders in an ImageFolder tree', async () => {
    const dir = join(tmp, 'badtree');
    mkdirSync(join(dir, wnids[3]!), { recursive: true });
    mkdirSync(join(dir, 'n99999999'));
    mkdirSync(join(dir, 'cats'));
    copyFileSync(join(VAL_227, names[0]!), join(dir, wnids[3]!, names[0]!));
    const e = await dataErrorOf(discoverDataset(dir));
    expect(e.oneLine()).toMatch(/2 class folder\(s\).*cats, n99999999/);
  });

  it('warns on duplicate basenames and accepts .jpg/.png case-insensitively', async () => {
    const dir = join(tmp, 'dups');
    mkdirSync(join(dir, wnids[1]!), { recursive: true });
    mkdirSync(join(dir, wnids[2]!), { recursive: true });
    copyFileSync(join(VAL_227, names[0]!), join(dir, wnids[1]!, 'a.JPG'));
    copyFileSync(join(VAL_227, names[0]!), join(dir, wnids[2]!, 'a.JPG'));
    copyFileSync(join(VAL_227, names[1]!), join(dir, wnids[2]!, 'b.Png'));
    writeFileSync(join(dir, wnids[2]!, 'notes.txt'), 'x');
    const ds = await discoverDataset(dir);
    expect(ds.samples.map((s) => [s.name, s.label])).toEqual([
      ['a.JPG', 1],
      ['a.JPG', 2],
      ['b.Png', 2],
    ]);
    expect(ds.warnings.some((w) => /occur more than once.*a\.JPG/.test(w))).toBe(true);
  });
});
