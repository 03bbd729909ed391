/**
 * Issue 13 acceptance: `zoo eval --dataset` on small trees in every test-set layout, made here from
 * shared val images, and on the archives users download (V2 .tar.gz, A/R .tar, Sketch .zip). zoo's
 * predictions and counts must equal a masking computed by hand over zoo's own 1,000-class logits for
 * the same images (`zoo logits` on the images preprocessed in-process), and be equal across folder
 * and archive; the published row must be the set's (checked against shared/published.csv); bad
 * layouts must fail with one line naming the folder and the set, exit 3.
 */
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy, parseNpy } from '../src/data/npy.js';
import { preprocessFile } from '../src/data/preprocess.js';
import { readPredictions, runZoo, tempDir, writeRecipeCheckpoint, type PredictionRow } from './support/cli.js';
import { imagenetConfig, SHARED, synsets, VAL_227, valTruth } from './support/fixtures.js';
import { TAR_END, tarEntry } from './support/tar-writer.js';
import { readJson, type ResultJson } from './support/trust.js';
import { zipArchive } from './support/zip-writer.js';

const list = (f: string) => readFileSync(join(SHARED, 'imagenet', f), 'utf8').trim().split(/\r?\n/);
const A_INDICES = list('imagenet_a_indices.txt').map(Number);
const R_INDICES = list('imagenet_r_indices.txt').map(Number);

let dir: string;
let cache: string;
let weights: string;
/** `${label}:${basename}` -> the image file zoo reads (for the reference logits). */
const sourceOf = new Map<string, string>();
/** Reference logits by image file. */
const logitsOf = new Map<string, Float32Array>();

const key = (label: number, name: string) => `${label}:${basename(name)}`;

/** An entry `<path>` of a tree rooted at `root`, remembered for the reference. */
async function place(root: string, rel: string, from: string, label: number): Promise<void> {
  await mkdir(join(root, rel, '..'), { recursive: true });
  await copyFile(from, join(root, rel));
  sourceOf.set(key(label, rel), from);
}

/** All files under `root` as [relative path, bytes], sorted. */
async function filesOf(root: string, rel = ''): Promise<[string, Buffer][]> {
  const out: [string, Buffer][] = [];
  for (const e of (await readdir(join(root, rel), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await filesOf(root, r)));
    else out.push([r, readFileSync(join(root, r))]);
  }
  return out;
}

async function tarOf(root: string, file: string): Promise<string> {
  await writeFile(file, Buffer.concat([...(await filesOf(root)).map(([p, b]) => tarEntry(p, b)), TAR_END]));
  return file;
}

const names = readdirNames();
function readdirNames(): string[] {
  return (readFileSync(join(SHARED, 'imagenet', 'val_labels.txt'), 'utf8').trim().split('\n').map((l) => l.split(' ')[0]!))
    .filter((n) => existsSync(join(VAL_227, n)));
}
const truth = (n: string) => valTruth().get(n)!;
const inA = names.filter((n) => A_INDICES.includes(truth(n))).slice(0, 4);
const inR = names.filter((n) => R_INDICES.includes(truth(n)) && !inA.includes(n)).slice(0, 4);
const notA = names.filter((n) => !A_INDICES.includes(truth(n)) && !inR.includes(n)).slice(0, 2);
const v2 = names.slice(10, 15);
const sketchFrom = names.slice(20, 24);

const trees = {} as Record<'v2' | 'a' | 'r' | 'sketch' | 'val' | 'flat', string>;
const archives = {} as Record<'v2' | 'a' | 'r' | 'sketch', string>;

beforeAll(async () => {
  dir = await tempDir('zoo-cli-test-sets-');
  cache = join(dir, 'cache');
  weights = await writeRecipeCheckpoint('rexnet_100', dir);
  const src = (n: string) => join(VAL_227, n);

  // ImageNetV2: <variant>-format-val/<class index>/<image>.
  trees.v2 = join(dir, 'v2');
  for (const n of v2) await place(trees.v2, `imagenetv2-matched-frequency-format-val/${truth(n)}/${n.toLowerCase()}`, src(n), truth(n));
  const v2tar = await tarOf(trees.v2, join(dir, 'v2.tar'));
  archives.v2 = join(dir, 'imagenetv2-matched-frequency.tar.gz');
  await writeFile(archives.v2, gzipSync(readFileSync(v2tar)));
  await rm(v2tar);

  // ImageNet-A and -R: imagenet-a/<wnid>/<image>.
  for (const [set, images] of [['a', inA], ['r', inR]] as const) {
    trees[set] = join(dir, set);
    for (const n of images) await place(trees[set], `imagenet-${set}/${synsets()[truth(n)]}/${n}`, src(n), truth(n));
    archives[set] = await tarOf(trees[set], join(dir, `imagenet-${set}.tar`));
  }

  // Sketch: .JPEG, .jpg and .png of any size and mode (RGBA with real alpha, gray), one name in two classes.
  trees.sketch = join(dir, 'sketch');
  const variants = join(dir, 'variants');
  await mkdir(variants);
  const [s0, s1, s2, s3] = sketchFrom as [string, string, string, string];
  const rgba = join(variants, 'rgba.png');
  const { data, info } = await sharp(src(s2)).raw().toBuffer({ resolveWithObject: true });
  const withAlpha = Buffer.alloc(info.width * info.height * 4);
  for (let p = 0; p < info.width * info.height; p++) {
    data.copy(withAlpha, p * 4, p * 3, p * 3 + 3);
    withAlpha[p * 4 + 3] = (p * 7) & 0xff;
  }
  await sharp(withAlpha, { raw: { width: info.width, height: info.height, channels: 4 } }).png().toFile(rgba);
  const gray = join(variants, 'gray.png');
  await sharp(src(s3)).resize(173, 411, { fit: 'fill' }).grayscale().png().toFile(gray);
  const wn = (n: string) => synsets()[truth(n)]!;
  await place(trees.sketch, `sketch/${wn(s0)}/sketch_0.JPEG`, src(s0), truth(s0));
  await place(trees.sketch, `sketch/${wn(s1)}/sketch_0.jpg`, src(s1), truth(s1));
  await place(trees.sketch, `sketch/${wn(s2)}/sketch_1.png`, rgba, truth(s2));
  await place(trees.sketch, `sketch/${wn(s3)}/sketch_2.png`, gray, truth(s3));
  archives.sketch = join(dir, 'ImageNet-Sketch.zip');
  await writeFile(archives.sketch, zipArchive((await filesOf(trees.sketch)).map(([p, b]) => ({ name: p, data: b, method: p.endsWith('.png') ? 'store' : 'deflate' }))));

  // Val: an ImageFolder tree (A classes and two others) for imagenet-a-clean, a flat folder for ReaL and --valid-labels.
  trees.val = join(dir, 'val');
  for (const n of [...inA, ...notA]) await place(trees.val, `${synsets()[truth(n)]}/${n}`, src(n), truth(n));
  trees.flat = join(dir, 'flat');
  for (const n of [...inR, ...notA]) await place(trees.flat, n, src(n), truth(n));

  // Reference: zoo's own 1,000-class logits for every distinct image, preprocessed in-process.
  const files = [...new Set(sourceOf.values())];
  const cfg = imagenetConfig(224);
  const x = new Float32Array(files.length * 3 * 224 * 224);
  for (let i = 0; i < files.length; i++) x.set(await preprocessFile(files[i]!, cfg), i * 3 * 224 * 224);
  await writeFile(join(dir, 'x.npy'), encodeNpy({ shape: [files.length, 3, 224, 224], data: x }));
  const run = await runZoo(['logits', 'rexnet_100', '--weights', weights, '--input', join(dir, 'x.npy'), '--output', join(dir, 'y.npy'), '--threads', '1']);
  expect(run.code, run.stderr).toBe(0);
  const y = parseNpy(readFileSync(join(dir, 'y.npy')));
  expect(y.shape).toEqual([files.length, 1000]);
  files.forEach((f, i) => logitsOf.set(f, y.data.subarray(i * 1000, (i + 1) * 1000)));
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The top-5 among `valid` (all when null) by hand: sort by logit, ties to the lower index. */
function handTop5(logits: Float32Array, valid: readonly number[] | null): number[] {
  const classes = valid ?? [...Array(1000).keys()];
  return [...classes].sort((a, b) => logits[b]! - logits[a]! || a - b).slice(0, 5);
}

interface Outcome {
  rows: PredictionRow[];
  result: ResultJson;
  stderr: string;
  stdout: string;
}

async function evalSet(tag: string, data: string, extra: string[] = []): Promise<Outcome> {
  const json = join(dir, `${tag}.json`);
  const preds = join(dir, `${tag}.csv`);
  const run = await runZoo(
    ['eval', 'rexnet_100', '--data', data, '--weights', weights, '--threads', '1', '--workers', '1', '--json', json, '--predictions', preds, ...extra],
    { env: { ZOO_CACHE: cache } },
  );
  expect(run.code, run.stderr).toBe(0);
  return { rows: await readPredictions(preds), result: await readJson(json), stderr: run.stderr, stdout: run.stdout };
}

/** Predictions equal the hand masking of the reference logits; counts follow from them. */
function expectHandMasked(o: Outcome, valid: readonly number[] | null, images: number): void {
  expect(o.rows).toHaveLength(images);
  let hits1 = 0;
  let hits5 = 0;
  for (const r of o.rows) {
    const file = sourceOf.get(key(r.label, r.file));
    expect(file, r.file).toBeDefined();
    // The label is the image's val class, whatever the layout named it by (class index, WordNet id, file name).
    if (valTruth().has(basename(file!))) expect(r.label, r.file).toBe(truth(basename(file!)));
    const logits = logitsOf.get(file!)!;
    const hand = handTop5(logits, valid);
    for (let k = 0; k < 5; k++) {
      // The same class, or one whose logit is equal up to float noise (batch size can reorder sums).
      if (r.top5[k] !== hand[k]) expect(Math.abs(logits[r.top5[k]!]! - logits[hand[k]!]!), `${r.file} top${k + 1}`).toBeLessThan(1e-4);
      if (valid) expect(valid).toContain(r.top5[k]);
    }
    if (hand[0] === r.label) hits1++;
    if (hand.includes(r.label)) hits5++;
  }
  expect([o.result.top1_correct, o.result.top5_correct]).toEqual([hits1, hits5]);
  expect(o.result.images).toBe(images);
}

/** The same images, labels and predictions (folder vs archive: only the path prefix differs). */
function expectSameRows(a: PredictionRow[], b: PredictionRow[]): void {
  const strip = (rows: PredictionRow[]) => rows.map((r) => ({ ...r, file: `${r.label}:${basename(r.file)}` }));
  expect(strip(b)).toEqual(strip(a));
}

/** rexnet_100.nav_in1k's row of shared/published.csv for `set` at 224 px. */
function sharedRow(set: string): { top1: number; top5: number } {
  const f = list('published.csv').find((l) => l.startsWith(`rexnet_100.nav_in1k,timm results/results-${set}.csv,${set},224,`))!.split(',');
  return { top1: Number(f[6]), top5: Number(f[7]) };
}

function expectPublished(o: Outcome, set: string): void {
  expect(o.result.dataset).toBe(set);
  expect(o.result.published).toMatchObject({ dataset: set, img_size: 224, ...sharedRow(set) });
}

const spoolLeft = async () => ((await readdir(join(cache, 'spool')).catch(() => [])) as string[]);

describe('zoo eval --dataset', () => {
  it('ImageNetV2: class-index folders detected, the .tar.gz spooled and removed; all 1,000 classes, labels = folder numbers', async () => {
    const folder = await evalSet('v2-folder', trees.v2);
    expect(folder.stderr).toMatch(/--data is ImageNetV2 matched-frequency \(--dataset imagenetv2-matched-frequency\), detected from numeric class folders/);
    expect(folder.stdout.match(/^test set: ImageNetV2 matched-frequency \(--dataset imagenetv2-matched-frequency, detected from numeric class folders/gm)).toHaveLength(1);
    expectHandMasked(folder, null, v2.length);
    expect(folder.rows.map((r) => r.label).sort()).toEqual(v2.map(truth).sort());
    expectPublished(folder, 'imagenetv2-matched-frequency');
    const gz = await evalSet('v2-gz', archives.v2);
    expect(gz.stderr).toMatch(/is gzip \(no random access\): its tar .* was spooled to .* and is removed when the run ends/);
    expectSameRows(folder.rows, gz.rows);
    expect(gz.result.data.source).toBe('tar.gz');
    expect(await spoolLeft()).toEqual([]);
  });

  it('ImageNet-A: folder and .tar give top-k among the 200 A classes only, in ImageNet-1k indices', async () => {
    const folder = await evalSet('a-folder', trees.a, ['--dataset', 'imagenet-a']);
    expectHandMasked(folder, A_INDICES, inA.length);
    expectPublished(folder, 'imagenet-a');
    expect(folder.result.data.label_space).toBe('ImageNet-A 200 classes');
    const tar = await evalSet('a-tar', archives.a, ['--dataset', 'imagenet-a']);
    expectSameRows(folder.rows, tar.rows);
    expectPublished(tar, 'imagenet-a');
  });

  it('ImageNet-R from its .tar: the R mask', async () => {
    const tar = await evalSet('r-tar', archives.r, ['--dataset', 'imagenet-r']);
    expectHandMasked(tar, R_INDICES, inR.length);
    expectPublished(tar, 'imagenet-r');
  });

  it('Sketch: .JPEG/.jpg/.png in any size and mode, folder and .zip (detected by its name) alike', async () => {
    const folder = await evalSet('sketch-folder', trees.sketch, ['--dataset', 'sketch']);
    expectHandMasked(folder, null, 4);
    expectPublished(folder, 'sketch');
    expect(folder.stderr).not.toMatch(/DUPLICATES/);
    const zip = await evalSet('sketch-zip', archives.sketch);
    expect(zip.stderr).toMatch(/--data is ImageNet-Sketch \(--dataset sketch\)/);
    expectSameRows(folder.rows, zip.rows);
    expect(zip.result.data.source).toBe('zip');
  });

  it('imagenet-a-clean: only the val images of the 200 A classes, A-masked', async () => {
    const o = await evalSet('a-clean', trees.val, ['--dataset', 'imagenet-a-clean']);
    expectHandMasked(o, A_INDICES, inA.length);
    expectPublished(o, 'imagenet-a-clean');
  });

  it('--valid-labels without --dataset masks the same way; --dataset imagenet-real is --real-labels', async () => {
    const indices = join(dir, 'r_indices.txt');
    await writeFile(indices, R_INDICES.join('\n') + '\n');
    const o = await evalSet('valid-real', trees.flat, ['--valid-labels', indices, '--dataset', 'imagenet-real']);
    expectHandMasked(o, R_INDICES, inR.length + notA.length);
    // ReaL, by hand from shared real.json over zoo's predictions.
    const real = JSON.parse(readFileSync(join(SHARED, 'imagenet', 'real.json'), 'utf8')) as number[][];
    let images = 0;
    let hits1 = 0;
    for (const r of o.rows) {
      const l = real[Number(/(\d{8})/.exec(r.file)![1]) - 1]!;
      if (l.length === 0) continue;
      images++;
      if (l.includes(r.top5[0]!)) hits1++;
    }
    expect(o.result.real).toMatchObject({ images, top1_correct: hits1, published: { ...sharedRow('imagenet-real') } });
    expect(o.result.dataset).toBe('imagenet-real');
    expect(o.result.published).toMatchObject({ dataset: 'imagenet', ...sharedRow('imagenet') });
  });

  it('bad layouts: one line naming the folder and the set, exit 3, nothing left in the spool', async () => {
    const bad = join(dir, 'bad');
    const v2bad = join(bad, 'v2', 'imagenetv2-matched-frequency-format-val');
    await mkdir(join(v2bad, '0'), { recursive: true });
    await copyFile(join(VAL_227, v2[0]!), join(v2bad, '0', 'x.jpeg'));
    await mkdir(join(v2bad, '1000'));
    await copyFile(join(VAL_227, v2[0]!), join(v2bad, '1000', 'x.jpeg'));
    const aBad = join(bad, 'a', 'imagenet-a');
    await mkdir(join(aBad, synsets()[A_INDICES[0]!]!), { recursive: true });
    await copyFile(join(VAL_227, inA[0]!), join(aBad, synsets()[A_INDICES[0]!]!, 'x.jpg'));
    const notInA = synsets().find((_, i) => !A_INDICES.includes(i))!;
    await mkdir(join(aBad, notInA));
    await copyFile(join(VAL_227, inA[0]!), join(aBad, notInA, 'x.jpg'));
    const mixed = join(bad, 'mixed');
    await mkdir(join(mixed, '5'), { recursive: true });
    await mkdir(join(mixed, 'n01440764'));
    await copyFile(join(VAL_227, v2[0]!), join(mixed, '5', 'x.jpeg'));
    await copyFile(join(VAL_227, v2[0]!), join(mixed, 'n01440764', 'x.jpeg'));
    const v2badGz = join(bad, 'v2bad.tar.gz');
    await writeFile(v2badGz, gzipSync(Buffer.concat([...(await filesOf(join(bad, 'v2'))).map(([p, b]) => tarEntry(p, b)), TAR_END])));

    const cases: [string[], RegExp][] = [
      [['--data', join(bad, 'v2')], /folder '1000' is not an ImageNetV2 class index 0\.\.999 \(set imagenetv2-matched-frequency\)/],
      [['--data', v2badGz], /folder '1000' is not an ImageNetV2 class index 0\.\.999 \(set imagenetv2-matched-frequency\)/],
      [['--data', join(bad, 'a'), '--dataset', 'imagenet-a'], new RegExp(`folder '${notInA}' is not one of the 200 ImageNet-A classes \\(set imagenet-a\\)`)],
      [['--data', mixed], /mixed layout: folder 'n01440764' is a WordNet id but '5' an ImageNetV2 class index/],
    ];
    for (const [args, message] of cases) {
      const run = await runZoo(['eval', 'rexnet_100', '--weights', weights, ...args], { env: { ZOO_CACHE: cache } });
      expect(run.code, run.stderr).toBe(3);
      const lines = run.stderr.trim().split('\n');
      expect(lines, run.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(run.stdout).toBe('');
    }
    expect(await spoolLeft()).toEqual([]);
  });
});
