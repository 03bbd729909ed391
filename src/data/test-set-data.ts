/**
 * `--data PATH [--dataset NAME]`: the images of a test set, labelled with ImageNet-1k class indices,
 * from a folder or from the archive users download, read in place:
 * - ImageNetV2 `.tar.gz`: spooled once into the cache as a tar (spool.ts), then indexed like a tar;
 * - ImageNet-A/-R `.tar`: one header pass (tar.ts);
 * - ImageNet-Sketch `.zip`: its central directory (zip.ts);
 * - a folder of class folders (`0`..`999`, or WordNet ids), or a parent holding exactly one.
 * The val-layout sets (imagenet, imagenet-real, the -clean ones) go through dataset.ts as before.
 *
 * Without --dataset the set is detected where that is unambiguous: numeric class folders are
 * ImageNetV2 (the variant from the folder or archive name), 200 WordNet-id folders are ImageNet-A or
 * -R when they match one list exactly, WordNet-id folders under a name holding "sketch" are Sketch;
 * anything else is ImageNet val. A folder that does not belong to the set (V2's `1000`, a class
 * outside the A list, WordNet ids mixed with numbers) is a DataError naming the folder and the set.
 */
import { open, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { explainNonTar } from './data-hints.js';
import { IMAGE_EXT, listFolder } from './folder.js';
import { DataError } from '../errors.js';
import { discoverDataset, type Dataset, type Sample } from './dataset.js';
import { synsetToIndex, WNID } from './imagenet.js';
import type { ArchiveEntryRef } from './pipeline.js';
import { spoolGzip } from './spool.js';
import { listTarFiles } from './tar.js';
import { allTestSets, subsetClasses, testSet, validLabelsOf, type TestSet, type TestSetName } from './test-sets.js';
import { listZipFiles } from './zip.js';
import { eg, SKIPPED_ENTRIES } from './warnings.js';

export interface TestSetData {
  dataset: Dataset;
  set: TestSet;
  /** How the set was chosen when --dataset was not given (for the table), else null. */
  detected: string | null;
  /** Output indices the set scores (its 200-class list), or null for all. */
  valid: readonly number[] | null;
  /** Things worth saying that are not warnings (a spooled archive). */
  notes: string[];
  /** Removes what reading the data needed on disk (a spooled tar); call when the run ends. */
  dispose(): Promise<void>;
}

export interface OpenTestSetOptions {
  dataset?: TestSetName;
  labels?: string;
}

const NUMERIC = /^\d+$/;

type SourceKind = 'folder' | 'tar' | 'zip' | 'gzip';

async function sniff(path: string): Promise<SourceKind> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new DataError('data path does not exist', { file: path, fix: 'check the --data path' });
  if (st.isDirectory()) return 'folder';
  if (!st.isFile()) throw new DataError('data path is not a folder or an archive', { file: path, fix: 'pass the folder or the archive that holds the images' });
  const fh = await open(path, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new DataError(`cannot open: ${e.code ?? String(e)}`, { file: path, fix: 'check the --data path and its permissions' });
  });
  try {
    const b = Buffer.alloc(4);
    await fh.read(b, 0, 4, 0);
    if (b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
    if (b.readUInt32LE(0) === 0x04034b50 || b.readUInt32LE(0) === 0x06054b50) return 'zip';
    return 'tar';
  } finally {
    await fh.close();
  }
}

/** One image found in a class folder: where it is, and its locator inside an archive. */
interface FoundImage {
  name: string;
  /** The path as the user knows it: a file, or the entry path inside the archive. */
  path: string;
  ref?: ArchiveEntryRef;
}

/** The class folders of a tree: folder name -> its images; where the tree is; what was ignored. */
interface ClassTree {
  /** The folder (or archive:folder) holding the class folders, for messages. */
  where: string;
  /** Names that may tell the set (the folder names on the way, the archive name). */
  names: string[];
  classes: Map<string, FoundImage[]>;
  warnings: string[];
  /** Archive entries or files that are not images in a class folder. */
  other: number;
  duplicates: number;
}

const looksLikeClass = (d: string) => NUMERIC.test(d) || WNID.test(d);

/** `shallow`: class folder names only (enough to detect the set), their images not listed. */
async function folderTree(root: string, shallow = false): Promise<ClassTree> {
  let dir = root;
  let listing = await listFolder(dir);
  const names = [basename(root)];
  // A parent holding the tree as its only folder (imagenetv2-matched-frequency-format-val/, imagenet-a/).
  while (!listing.dirs.some(looksLikeClass) && listing.dirs.length === 1) {
    dir = join(dir, listing.dirs[0]!);
    names.push(listing.dirs[0]!);
    listing = await listFolder(dir);
  }
  const classes = new Map<string, FoundImage[]>();
  let other = listing.files.length;
  for (const c of listing.dirs) {
    if (shallow) {
      classes.set(c, []);
      continue;
    }
    const { files } = await listFolder(join(dir, c));
    const images: FoundImage[] = [];
    for (const f of files) {
      if (IMAGE_EXT.test(f)) images.push({ name: f, path: join(dir, c, f) });
      else other++;
    }
    classes.set(c, images);
  }
  return { where: dir, names, classes, warnings: [], other, duplicates: 0 };
}

/** Archive entries (normalised paths) grouped as `<root>/<class>/<image>`; one root only. */
function archiveTree(archive: string, entries: { path: string; ref: ArchiveEntryRef }[], skipped: { path: string; reason: string }[], duplicates: string[]): ClassTree {
  const roots = new Map<string, Map<string, FoundImage[]>>();
  let other = 0;
  for (const e of entries) {
    const parts = e.path.split('/');
    // Hidden files and folders (macOS '._*' AppleDouble files) are skipped, as the folder reader does.
    if (parts.some((p) => p.startsWith('.')) || parts.length < 2 || !IMAGE_EXT.test(parts[parts.length - 1]!)) {
      other++;
      continue;
    }
    const root = parts.slice(0, -2).join('/');
    const cls = parts[parts.length - 2]!;
    let classes = roots.get(root);
    if (!classes) roots.set(root, (classes = new Map()));
    let list = classes.get(cls);
    if (!list) classes.set(cls, (list = []));
    list.push({ name: parts[parts.length - 1]!, path: e.path, ref: e.ref });
  }
  if (roots.size === 0) {
    throw new DataError('the archive holds no images in class folders', {
      file: archive,
      expected: '<class>/<image>.JPEG entries (ImageNetV2: 0/ ... 999/; A, R, Sketch: WordNet-id folders)',
      fix: 'pass the archive as downloaded, or its extracted folder',
    });
  }
  if (roots.size > 1) {
    // Images one level deeper than another root are that root's class folders' subfolders: not a set.
    const list = [...roots].map(([r, c]) => `${r || '(top level)'}: ${c.size} folders`);
    throw new DataError(`the archive holds more than one tree of class folders (${eg(list, 4)})`, {
      file: archive,
      expected: 'one folder of class folders',
      fix: 'make an archive of one test set only',
    });
  }
  const [root, classes] = [...roots][0]!;
  const warnings: string[] = [];
  if (skipped.length > 0) warnings.push(`${skipped.length} ${SKIPPED_ENTRIES} archive entries ignored: ${eg(skipped.map((s) => `'${s.path}' (${s.reason})`))}`);
  if (duplicates.length > 0) warnings.push(`DUPLICATES: ${duplicates.length} paths are stored more than once in the archive (e.g. ${eg(duplicates)}): the last copy is used`);
  return { where: root ? `${archive}:${root}` : archive, names: [basename(archive), ...root.split('/')], classes, warnings, other, duplicates: duplicates.length };
}

interface ReadTree {
  tree: ClassTree;
  notes: string[];
  dispose: () => Promise<void>;
}

async function readTree(path: string, kind: SourceKind): Promise<ReadTree> {
  const none = async (): Promise<void> => undefined;
  if (kind === 'folder') return { tree: await folderTree(path), notes: [], dispose: none };
  if (kind === 'zip') {
    const z = await listZipFiles(path);
    const entries = z.files.map(({ path: entry, ...at }) => ({ path: entry, ref: { file: path, ...at } }));
    return { tree: archiveTree(path, entries, z.skipped, z.duplicates), notes: [], dispose: none };
  }
  let tarFile = path;
  const notes: string[] = [];
  let dispose: () => Promise<void> = none;
  if (kind === 'gzip') {
    const spool = await spoolGzip(path);
    tarFile = spool.tar;
    dispose = spool.dispose;
    notes.push(`${basename(path)} is gzip (no random access): its tar (${(spool.bytes / 1e6).toFixed(1)} MB) was spooled to ${spool.tar} and is removed when the run ends`);
  }
  try {
    const t = await listTarFiles(tarFile);
    const entries = t.files.map((f) => ({ path: f.path, ref: { file: tarFile, offset: f.offset, size: f.size } }));
    const skipped = t.skipped.map((s) => ({ path: s.path, reason: s.reason }));
    return { tree: archiveTree(path, entries, skipped, t.duplicates), notes, dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}

/** Which set a tree of class folders is, from its folder names (and the names on the way). */
function detect(tree: ClassTree): { set: TestSet | null; how: string } {
  const folders = [...tree.classes.keys()];
  const numeric = folders.filter((f) => NUMERIC.test(f));
  const wnids = folders.filter((f) => WNID.test(f));
  if (numeric.length > 0 && wnids.length > 0) {
    throw new DataError(`mixed layout: folder '${wnids[0]}' is a WordNet id but '${numeric[0]}' an ImageNetV2 class index (set: none can hold both)`, {
      file: tree.where,
      expected: 'class folders of one kind: 0 ... 999 (ImageNetV2) or WordNet ids (A, R, Sketch, val)',
      fix: 'move the other folders out',
    });
  }
  if (numeric.length > 0) {
    const joined = tree.names.join('/').toLowerCase();
    const variant = allTestSets().find((s) => s.layout === 'class-index' && joined.includes(s.name.slice('imagenetv2-'.length)));
    if (variant) return { set: variant, how: `numeric class folders in '${tree.names.filter(Boolean).pop()}'` };
    return { set: testSet('imagenetv2-matched-frequency'), how: 'numeric class folders; variant assumed (pass --dataset imagenetv2-threshold0.7 or -top-images for the others)' };
  }
  const present = new Set(wnids);
  for (const s of allTestSets()) {
    if (s.layout !== 'wnid' || !s.subset) continue;
    const list = subsetClasses(s.subset).synsets;
    if (present.size === list.length && folders.length === list.length && list.every((w) => present.has(w))) return { set: s, how: `the 200 WordNet-id folders of the ${s.title} list` };
  }
  if (wnids.length > 0 && tree.names.some((n) => /sketch/i.test(n))) return { set: testSet('sketch'), how: 'WordNet-id folders under a folder named sketch' };
  return { set: null, how: '' };
}

/** The label of a class folder under the set's rule, or a DataError naming the folder and the set. */
function labeller(set: TestSet, where: string): (folder: string) => number {
  if (set.layout === 'class-index') {
    return (f) => {
      if (!/^(0|[1-9]\d{0,2})$/.test(f)) {
        throw new DataError(`folder '${f}' is not an ImageNetV2 class index 0..999 (set ${set.name})`, {
          file: join(where, f),
          expected: `class folders 0 ... 999 (${set.title})`,
          fix: 'move the folder out, or pass the --dataset the tree really is',
        });
      }
      return Number(f);
    };
  }
  const index = synsetToIndex();
  const allowed = set.subset ? new Set(subsetClasses(set.subset).synsets) : null;
  return (f) => {
    const i = index.get(f);
    if (i === undefined || (allowed && !allowed.has(f))) {
      throw new DataError(`folder '${f}' is not one of the ${allowed ? 200 : '1,000'} ${set.title} classes (set ${set.name})`, {
        file: join(where, f),
        expected: allowed ? `WordNet-id folders of timm's imagenet_${set.subset}_synsets.txt` : 'the 1,000 ImageNet WordNet ids',
        fix: 'move the folder out, or pass the --dataset the tree really is',
      });
    }
    return i;
  };
}

function treeDataset(root: string, source: Dataset['source'], set: TestSet, tree: ClassTree): Dataset {
  const labelOf = labeller(set, tree.where);
  const samples: Sample[] = [];
  // The label is the folder's meaning (V2: its number, never its position in a string sort).
  for (const [folder, images] of tree.classes) {
    const label = labelOf(folder);
    for (const im of images) {
      if (im.ref) samples.push({ file: `${root}:${im.path}`, label, name: im.name, tar: im.ref, entry: im.path });
      else samples.push({ file: im.path, label, name: im.name });
    }
  }
  if (samples.length === 0) throw new DataError(`the class folders hold no images (set ${set.name})`, { file: tree.where, expected: 'image files (.JPEG, .jpg, .png) in the class folders' });
  samples.sort(sampleOrder);
  const warnings = [...tree.warnings];
  if (tree.other > 0) warnings.push(`${tree.other} other file(s) ignored (not images in a class folder)`);
  const missing = Math.max(0, set.images - samples.length);
  if (samples.length < set.images) warnings.push(`INCOMPLETE: found ${samples.length} images, fewer than the ${set.images} of ${set.title}: accuracy is for a subset`);
  const complete = samples.length === set.images && tree.duplicates === 0;
  const layout = set.layout === 'class-index' ? 'class-index' : 'imagefolder';
  return { root, layout, source, samples, warnings, complete, missing };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The order of a test set's samples (selectSubset's val order): by name; a name in several classes
 * (Sketch's sketch_0.JPEG) by class index, then path. A union of folders (data-union.ts) sorts so too.
 */
export function sampleOrder(a: Sample, b: Sample): number {
  return cmp(a.name, b.name) || a.label - b.label || cmp(a.file, b.file);
}

/** The val images of a 200-class list (imagenet-a-clean, imagenet-r-clean). */
function cleanSubset(val: Dataset, set: TestSet): Dataset {
  const keep = new Set(validLabelsOf(set));
  const samples = val.samples.filter((s) => keep.has(s.label));
  if (samples.length === 0) {
    throw new DataError(`none of the val images belong to the 200 classes of ${set.name}`, { file: val.root, fix: 'point --data at ImageNet val (all of it, or the 200 classes)' });
  }
  const dups = val.warnings.some((w) => w.startsWith('DUPLICATES'));
  const warnings = val.warnings.filter((w) => !w.startsWith('INCOMPLETE'));
  if (samples.length < set.images) warnings.push(`INCOMPLETE: found ${samples.length} val images of the 200 classes, fewer than the ${set.images} of ${set.name}: accuracy is for a subset`);
  // Distinct val images of the 200 classes, as many as the val set has: all of them (missing val
  // images of other classes do not matter here).
  const complete = samples.length === set.images && !dups;
  return { ...val, samples, warnings, complete, missing: Math.max(0, set.images - samples.length) };
}

/** Finds and labels the images of a test set under `path`. Throws DataError (one line, the fix) on failure. */
export async function openTestSet(path: string, opts: OpenTestSetOptions = {}): Promise<TestSetData> {
  const root = resolve(path);
  const named = opts.dataset ? testSet(opts.dataset) : null;
  const done = (dataset: Dataset, set: TestSet, detected: string | null, read?: ReadTree): TestSetData => ({
    dataset,
    set,
    detected,
    valid: validLabelsOf(set),
    notes: read?.notes ?? [],
    dispose: read?.dispose ?? (async () => undefined),
  });
  const val = async (set: TestSet, detected: string | null) => {
    const ds = await discoverDataset(path, opts.labels ? { labels: opts.labels } : {});
    return done(set.subset ? cleanSubset(ds, set) : ds, set, detected);
  };
  // A single image is no data set: say so instead of a tar header error.
  const single = await explainNonTar(path, root);
  if (single) throw single;
  const kind = await sniff(root);
  if (named?.layout === 'val') {
    if (kind === 'zip' || kind === 'gzip') {
      throw new DataError(`${named.title} is read from a folder or a .tar, not a ${kind === 'zip' ? '.zip' : '.tar.gz'} (set ${named.name})`, {
        file: path,
        expected: named.download,
        fix: 'pass the val folder or ILSVRC2012_img_val.tar, or the --dataset this archive holds',
      });
    }
    return val(named, null);
  }

  // A plain val folder or tar without --dataset: dataset.ts as always (one listing, not two).
  if (!named && kind === 'folder') {
    const top = await folderTree(root, true).catch(() => null);
    if (!top || top.classes.size === 0 || detect(top).set === null) return val(testSet('imagenet'), null);
  }
  const read = await readTree(root, kind);
  try {
    let set = named;
    let detected: string | null = null;
    if (!set) {
      const d = detect(read.tree);
      if (d.set) {
        set = d.set;
        detected = d.how;
      } else if (kind === 'tar') {
        await read.dispose();
        return val(testSet('imagenet'), null);
      } else set = testSet('imagenet');
    }
    if (opts.labels) read.tree.warnings.push(`--labels ${opts.labels} ignored: ${set.title} takes its classes from the folder names`);
    const source: Dataset['source'] = kind === 'gzip' ? 'tar.gz' : kind;
    return done(treeDataset(root, source, set, read.tree), set, detected, read);
  } catch (e) {
    await read.dispose();
    throw e;
  }
}
