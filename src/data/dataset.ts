/**
 * Finding the val images under `--data` and their labels. Layouts:
 * - ImageFolder: `<root>/n01440764/*.JPEG`, the class from the WordNet id (never from folder position);
 * - flat: `<root>/ILSVRC2012_val_*.JPEG`, labels from the bundled ground truth or `--labels FILE`;
 * - a parent folder holding one of those as `val/`, `ILSVRC2012_img_val/` or Kaggle's `ILSVRC/Data/CLS-LOC/val/`;
 * - a tar file (ILSVRC2012_img_val.tar, or a tar of an ImageFolder tree), indexed in place by
 *   listTarImages: never extracted, its unsafe entries ignored with a warning.
 * Samples are sorted by basename, then path, which is val order for ImageNet file names, so results do
 * not depend on directory listing order, batch size or worker count.
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { explainNoImages, explainNonTar } from './data-hints.js';
import { IMAGE_EXT, listFolder } from './folder.js';
import { DataError } from '../errors.js';
import { loadValLabels, synsetToIndex, VAL_SIZE, WNID } from './imagenet.js';
import { readLabels, stemOf, type LabelMap } from './labels.js';
import type { ArchiveEntryRef } from './pipeline.js';
import { listTarImages, type TarImageIndex } from './tar.js';
import { eg, SKIPPED_ENTRIES } from './warnings.js';

export interface Sample {
  /** The image's path; for an image inside a tar, `${tarPath}:${entryPath}` (for messages). */
  file: string;
  label: number;
  /** Basename, e.g. ILSVRC2012_val_00000001.JPEG. */
  name: string;
  /** Set for an image inside an archive (tar, zip): its data is `size` bytes at byte `offset` of `file`. */
  tar?: ArchiveEntryRef;
  /** For an image inside an archive: its path there, as the user knows it (messages, --predictions). */
  entry?: string;
}

export interface Dataset {
  /** The folder holding the images, or the tar file. */
  root: string;
  /** 'class-index': ImageNetV2's folders 0 ... 999 (test-set-data.ts). */
  layout: 'imagefolder' | 'flat' | 'class-index';
  /** Where the images are: files in a folder, or entries of an archive read in place (a .tar.gz through a spooled tar). */
  source: 'folder' | 'tar' | 'zip' | 'tar.gz';
  samples: Sample[];
  /** Anomalies worth telling the user that do not stop the run (missing images, duplicates, ignored tar entries). */
  warnings: string[];
  /**
   * Every image of the full val set, once: the layout's ground truth is all there (flat, bundled
   * labels: all 50,000 val names; ImageFolder: 50,000 images over 1,000 classes) and no name twice.
   */
  complete: boolean;
  /** Val images of the ground truth not present (flat); for ImageFolder, 50,000 minus distinct names (0 at least). */
  missing: number;
}

const PARENT_CANDIDATES = ['val', 'ILSVRC2012_img_val', join('ILSVRC', 'Data', 'CLS-LOC', 'val')];
const LAYOUTS =
  'an ImageFolder tree (<dir>/n01440764/*.JPEG), a flat folder of ILSVRC2012_val_*.JPEG, ' +
  'a parent folder holding val/ or ILSVRC2012_img_val/, or a tar of one of those (ILSVRC2012_img_val.tar)';

interface Listing {
  dirs: string[];
  images: string[];
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function list(dir: string): Promise<Listing> {
  const { dirs, files } = await listFolder(dir);
  return { dirs, images: files.filter((f) => IMAGE_EXT.test(f)) };
}

function byNameThenPath(a: Sample, b: Sample): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.file < b.file ? -1 : a.file > b.file ? 1 : 0;
}

/** Names seen more than once (a copy in two class folders, or two extensions of one val image). */
function duplicateNames(samples: readonly Sample[]): string[] {
  const seen = new Map<string, { name: string; n: number }>();
  for (const s of samples) {
    const key = stemOf(s.name);
    const e = seen.get(key) ?? { name: s.name, n: 0 };
    e.n++;
    seen.set(key, e);
  }
  return [...seen.values()].filter((e) => e.n > 1).map((e) => e.name);
}

/** Completeness, the warnings that go with it, and the final Dataset. */
function finish(
  root: string,
  layout: Dataset['layout'],
  source: Dataset['source'],
  samples: Sample[],
  warnings: string[],
  missing: number,
  extraComplete: boolean,
): Dataset {
  samples.sort(byNameThenPath);
  const dups = duplicateNames(samples);
  if (dups.length > 0) {
    warnings.push(
      `DUPLICATES: ${dups.length} image names occur more than once (e.g. ${eg(dups)}): each copy is counted, so the result is not comparable to published numbers; remove the extra copies`,
    );
  }
  if (missing > 0 || samples.length < VAL_SIZE) {
    const gt = missing > 0 ? `; ${missing} images of the ground truth are missing` : '';
    warnings.push(`INCOMPLETE: found ${samples.length} images, fewer than the ${VAL_SIZE} of the full val set${gt}: accuracy is for a subset`);
  }
  const complete = extraComplete && missing === 0 && dups.length === 0 && samples.length === VAL_SIZE;
  return { root, layout, source, samples, warnings, complete, missing };
}

function unknownClasses(root: string, unknown: string[]): DataError {
  return new DataError(`${unknown.length} class folder(s) are not ImageNet-1k WordNet ids: ${unknown.slice(0, 5).join(', ')}`, {
    file: root,
    expected: 'only folders named by the 1,000 val synsets (n01440764 ... n15075141)',
    fix: 'remove or move the other folders, or point --data at the folder holding the synset folders',
  });
}

function noImages(root: string): DataError {
  return new DataError('the class folders hold no images', {
    file: root,
    expected: 'image files (.JPEG, .jpg, .jpeg, .png) inside the synset folders',
  });
}

/** ImageFolder completeness: 50,000 images of 1,000 classes (the val set has 50 of each). */
function imageFolderMissing(samples: readonly Sample[]): { missing: number; allClasses: boolean } {
  const names = new Set(samples.map((s) => stemOf(s.name)));
  const classes = new Set(samples.map((s) => s.label));
  return { missing: Math.max(0, VAL_SIZE - names.size), allClasses: classes.size === 1000 };
}

async function imageFolder(root: string, listing: Listing, labelsFile: string | undefined): Promise<Dataset> {
  const index = synsetToIndex();
  const unknown = listing.dirs.filter((d) => !index.has(d)).sort();
  if (unknown.length > 0) throw unknownClasses(root, unknown);
  const warnings: string[] = [];
  if (labelsFile) warnings.push(`--labels ${labelsFile} ignored: an ImageFolder tree takes its classes from the folder names`);
  if (listing.images.length > 0) warnings.push(`${listing.images.length} image(s) directly in ${root} ignored (not in a class folder)`);
  const samples: Sample[] = [];
  for (const synset of listing.dirs) {
    const label = index.get(synset)!;
    const dir = join(root, synset);
    for (const name of (await list(dir)).images) samples.push({ file: join(dir, name), label, name });
  }
  if (samples.length === 0) throw noImages(root);
  const { missing, allClasses } = imageFolderMissing(samples);
  return finish(root, 'imagefolder', 'folder', samples, warnings, missing, allClasses);
}

/** The ground truth for flat layouts: --labels FILE or the bundled val labels, keyed by stem. */
async function flatLabels(labelsFile: string | undefined): Promise<LabelMap> {
  if (labelsFile) return readLabels(labelsFile);
  const m = new Map<string, number>();
  for (const [name, label] of loadValLabels()) m.set(stemOf(name), label);
  return m;
}

/** Labels for flat images; a DataError listing any image the ground truth does not know. */
function labelFlat(root: string, images: { name: string; file: string; tar?: Sample['tar'] }[], labels: LabelMap, labelsFile: string | undefined): { samples: Sample[]; missing: number } {
  const samples: Sample[] = [];
  const unlabelled: string[] = [];
  for (const im of images) {
    const label = labels.get(stemOf(im.name));
    if (label === undefined) unlabelled.push(im.name);
    else samples.push(im.tar ? { file: im.file, label, name: im.name, tar: im.tar } : { file: im.file, label, name: im.name });
  }
  if (unlabelled.length > 0) {
    unlabelled.sort();
    const source = labelsFile ?? 'the bundled ILSVRC2012 val ground truth';
    throw new DataError(`${unlabelled.length} image(s) have no label in ${source}: ${eg(unlabelled)}`, {
      file: root,
      expected: 'ILSVRC2012_val_NNNNNNNN.* files, each listed in the ground truth',
      fix: labelsFile
        ? 'add the files to the labels file, or remove them from the folder'
        : 'pass --labels FILE (`NAME LABEL` lines) for other images, or use an ImageFolder tree',
    });
  }
  const present = new Set(samples.map((s) => stemOf(s.name)));
  let missing = 0;
  for (const stem of labels.keys()) if (!present.has(stem)) missing++;
  return { samples, missing };
}

async function flat(root: string, listing: Listing, labelsFile: string | undefined): Promise<Dataset> {
  const labels = await flatLabels(labelsFile);
  const { samples, missing } = labelFlat(root, listing.images.map((name) => ({ name, file: join(root, name) })), labels, labelsFile);
  return finish(root, 'flat', 'folder', samples, [], missing, true);
}

/** Warnings for what the tar index ignored or found twice. */
function tarWarnings(index: TarImageIndex): string[] {
  const w: string[] = [];
  if (index.skipped.length > 0) {
    const shown = index.skipped.slice(0, 3).map((s) => `'${s.path}' (${s.reason})`);
    w.push(`${index.skipped.length} ${SKIPPED_ENTRIES} tar entries ignored: ${eg(shown)}`);
  }
  if (index.duplicates.length > 0) {
    w.push(
      `DUPLICATES: ${index.duplicates.length} paths are stored more than once in the tar (e.g. ${eg(index.duplicates)}): the last copy is used`,
    );
  }
  if (index.otherFiles > 0) w.push(`${index.otherFiles} other file(s) in the tar ignored (not val images of the ${index.layout === 'flat' ? 'flat' : 'ImageFolder'} layout)`);
  return w;
}

async function tarDataset(tarFile: string, labelsFile: string | undefined): Promise<Dataset> {
  const index = await listTarImages(tarFile);
  const warnings = tarWarnings(index);
  const entries = index.images.map((im) => ({
    im,
    name: im.name,
    file: `${tarFile}:${im.path}`,
    tar: { file: tarFile, offset: im.offset, size: im.size },
  }));
  if (index.layout === 'flat') {
    const labels = await flatLabels(labelsFile);
    const { samples, missing } = labelFlat(tarFile, entries, labels, labelsFile);
    // A path stored twice is one image (the last copy), so it does not make the set incomplete by
    // itself, but the tar is not the pristine val tar either.
    return finish(tarFile, 'flat', 'tar', samples, warnings, missing, index.duplicates.length === 0);
  }
  const synsets = synsetToIndex();
  const unknown = [...new Set(entries.map((e) => e.im.wnid!).filter((w) => !synsets.has(w)))].sort();
  if (unknown.length > 0) throw unknownClasses(tarFile, unknown);
  if (labelsFile) warnings.push(`--labels ${labelsFile} ignored: an ImageFolder tree takes its classes from the folder names`);
  const samples: Sample[] = entries.map((e) => ({ file: e.file, label: synsets.get(e.im.wnid!)!, name: e.name, tar: e.tar }));
  if (samples.length === 0) throw noImages(tarFile);
  const { missing, allClasses } = imageFolderMissing(samples);
  return finish(tarFile, 'imagefolder', 'tar', samples, warnings, missing, allClasses && index.duplicates.length === 0);
}

/** Find the images under `path` (a folder or a tar file) and label them. Throws DataError (one line, with the fix) on failure. */
export async function discoverDataset(path: string, opts: { labels?: string } = {}): Promise<Dataset> {
  const root = resolve(path);
  let st;
  try {
    st = await stat(root);
  } catch {
    throw new DataError('data path does not exist', { file: path, expected: LAYOUTS, fix: 'check the --data path' });
  }
  if (st.isFile()) {
    const notTar = await explainNonTar(path, root);
    if (notTar) throw notTar;
    return tarDataset(root, opts.labels);
  }
  if (!st.isDirectory()) {
    throw new DataError('data path is not a folder or a tar file', { file: path, expected: LAYOUTS, fix: 'pass the folder that holds the images' });
  }
  let dir = root;
  let listing = await list(dir);
  if (!listing.dirs.some((d) => WNID.test(d)) && listing.images.length === 0) {
    for (const sub of PARENT_CANDIDATES) {
      if (await isDir(join(root, sub))) {
        dir = join(root, sub);
        listing = await list(dir);
        break;
      }
    }
  }
  if (listing.dirs.some((d) => WNID.test(d))) return imageFolder(dir, listing, opts.labels);
  if (listing.images.length > 0) return flat(dir, listing, opts.labels);
  const hint = await explainNoImages(path, dir, listing.dirs);
  if (hint) throw hint;
  throw new DataError('no images found', {
    file: path,
    expected: `${LAYOUTS} (images: .JPEG .jpg .jpeg .png)`,
    fix: 'point --data at the val images',
  });
}
