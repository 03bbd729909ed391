/**
 * Finding the val images under `--data` and their labels. Layouts:
 * - ImageFolder: `<root>/n01440764/*.JPEG`, the class from the WordNet id (never from folder position);
 * - flat: `<root>/ILSVRC2012_val_*.JPEG`, labels from the bundled ground truth or `--labels FILE`;
 * - a parent folder holding one of those as `val/`, `ILSVRC2012_img_val/` or Kaggle's `ILSVRC/Data/CLS-LOC/val/`.
 * Samples are sorted by basename, then path, which is val order for ImageNet file names, so results do
 * not depend on directory listing order, batch size or worker count.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { DataError } from '../errors.js';
import { loadValLabels, synsetToIndex } from './imagenet.js';
import { readLabels, stemOf, type LabelMap } from './labels.js';

export interface Sample {
  /** The image's path; for an image inside a tar, `${tarPath}:${entryPath}` (for messages). */
  file: string;
  label: number;
  /** Basename, e.g. ILSVRC2012_val_00000001.JPEG. */
  name: string;
  /** Set for an image inside a tar: its data is `size` bytes at byte `offset` of `file`. */
  tar?: { file: string; offset: number; size: number };
}

export interface Dataset {
  root: string;
  layout: 'imagefolder' | 'flat';
  samples: Sample[];
  /** Anomalies worth telling the user that do not stop the run. */
  warnings: string[];
}

export const VAL_SIZE = 50000;
const IMAGE_EXT = /\.(jpe?g|png)$/i;
const SYNSET = /^n\d{8}$/;
const PARENT_CANDIDATES = ['val', 'ILSVRC2012_img_val', join('ILSVRC', 'Data', 'CLS-LOC', 'val')];
const LAYOUTS =
  'an ImageFolder tree (<dir>/n01440764/*.JPEG), a flat folder of ILSVRC2012_val_*.JPEG, ' +
  'or a parent folder holding val/ or ILSVRC2012_img_val/';

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
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw new DataError(`cannot list folder: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
      file: dir,
      fix: 'check the path and its permissions',
    });
  }
  const dirs: string[] = [];
  const images: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    // Follow symlinks: val sets are often linked in from elsewhere.
    const kind = e.isSymbolicLink() ? await stat(join(dir, e.name)).catch(() => undefined) : e;
    if (!kind) continue;
    if (kind.isDirectory()) dirs.push(e.name);
    else if (kind.isFile() && IMAGE_EXT.test(e.name)) images.push(e.name);
  }
  return { dirs, images };
}

function byNameThenPath(a: Sample, b: Sample): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.file < b.file ? -1 : a.file > b.file ? 1 : 0;
}

function sizeWarnings(samples: Sample[], warnings: string[]): void {
  if (samples.length < VAL_SIZE) {
    warnings.push(`found ${samples.length} images, fewer than the ${VAL_SIZE} of the full val set: accuracy is for a subset`);
  }
  const seen = new Map<string, number>();
  for (const s of samples) seen.set(s.name, (seen.get(s.name) ?? 0) + 1);
  const dups = [...seen].filter(([, n]) => n > 1).map(([name]) => name);
  if (dups.length > 0) {
    warnings.push(`${dups.length} file names occur more than once (e.g. ${dups.slice(0, 3).join(', ')}): each copy is counted`);
  }
}

async function imageFolder(root: string, listing: Listing, labelsFile: string | undefined): Promise<Dataset> {
  const index = synsetToIndex();
  const unknown = listing.dirs.filter((d) => !index.has(d)).sort();
  if (unknown.length > 0) {
    throw new DataError(`${unknown.length} class folder(s) are not ImageNet-1k WordNet ids: ${unknown.slice(0, 5).join(', ')}`, {
      file: root,
      expected: 'only folders named by the 1,000 val synsets (n01440764 ... n15075141)',
      fix: 'remove or move the other folders, or point --data at the folder holding the synset folders',
    });
  }
  const warnings: string[] = [];
  if (labelsFile) warnings.push(`--labels ${labelsFile} ignored: an ImageFolder tree takes its classes from the folder names`);
  if (listing.images.length > 0) warnings.push(`${listing.images.length} image(s) directly in ${root} ignored (not in a class folder)`);
  const samples: Sample[] = [];
  for (const synset of listing.dirs) {
    const label = index.get(synset)!;
    const dir = join(root, synset);
    for (const name of (await list(dir)).images) samples.push({ file: join(dir, name), label, name });
  }
  if (samples.length === 0) {
    throw new DataError('the class folders hold no images', {
      file: root,
      expected: 'image files (.JPEG, .jpg, .jpeg, .png) inside the synset folders',
    });
  }
  samples.sort(byNameThenPath);
  sizeWarnings(samples, warnings);
  return { root, layout: 'imagefolder', samples, warnings };
}

async function flat(root: string, listing: Listing, labelsFile: string | undefined): Promise<Dataset> {
  let labels: LabelMap;
  if (labelsFile) {
    labels = await readLabels(labelsFile);
  } else {
    const m = new Map<string, number>();
    for (const [name, label] of loadValLabels()) m.set(stemOf(name), label);
    labels = m;
  }
  const samples: Sample[] = [];
  const missing: string[] = [];
  for (const name of listing.images) {
    const label = labels.get(stemOf(name));
    if (label === undefined) missing.push(name);
    else samples.push({ file: join(root, name), label, name });
  }
  if (missing.length > 0) {
    missing.sort();
    const source = labelsFile ?? 'the bundled ILSVRC2012 val ground truth';
    throw new DataError(
      `${missing.length} image(s) have no label in ${source}: ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}`,
      {
        file: root,
        expected: 'ILSVRC2012_val_NNNNNNNN.* files, each listed in the ground truth',
        fix: labelsFile
          ? 'add the files to the labels file, or remove them from the folder'
          : 'pass --labels FILE (`NAME LABEL` lines) for other images, or use an ImageFolder tree',
      },
    );
  }
  samples.sort(byNameThenPath);
  const warnings: string[] = [];
  sizeWarnings(samples, warnings);
  return { root, layout: 'flat', samples, warnings };
}

/** Find the images under `path` and label them. Throws DataError (one line, with the fix) on failure. */
export async function discoverDataset(path: string, opts: { labels?: string } = {}): Promise<Dataset> {
  const root = resolve(path);
  let st;
  try {
    st = await stat(root);
  } catch {
    throw new DataError('data path does not exist', { file: path, expected: LAYOUTS, fix: 'check the --data path' });
  }
  if (!st.isDirectory()) {
    throw new DataError('data path is not a folder', {
      file: path,
      expected: LAYOUTS,
      fix: /\.tar$/i.test(path) ? `extract it first (mkdir val && tar -xf ${basename(path)} -C val)` : 'pass the folder that holds the images',
    });
  }
  let dir = root;
  let listing = await list(dir);
  if (!listing.dirs.some((d) => SYNSET.test(d)) && listing.images.length === 0) {
    for (const sub of PARENT_CANDIDATES) {
      if (await isDir(join(root, sub))) {
        dir = join(root, sub);
        listing = await list(dir);
        break;
      }
    }
  }
  if (listing.dirs.some((d) => SYNSET.test(d))) return imageFolder(dir, listing, opts.labels);
  if (listing.images.length > 0) return flat(dir, listing, opts.labels);
  throw new DataError('no images found', {
    file: path,
    expected: `${LAYOUTS} (images: .JPEG .jpg .jpeg .png)`,
    fix: 'point --data at the val images',
  });
}
