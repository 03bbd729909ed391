/**
 * The bundled ImageNet label files under assets/imagenet/: class WordNet ids and names, the val ground
 * truth, and the ReaL labels. Read once, on first use, and cached for the life of the process.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DataError } from '../errors.js';

/** A WordNet id (`n01440764`): an ImageNet class folder's name. */
export const WNID = /^n\d{8}$/;

/** Images in the ILSVRC2012 val set: fewer evaluated makes a run a subset. */
export const VAL_SIZE = 50_000;

// Two levels up from src/data/ or dist/data/ is the package root, which holds assets/.
const ASSETS = new URL('../../assets/imagenet/', import.meta.url);

/** A bundled file of assets/imagenet/ as text; a DataError saying the package is incomplete if missing. */
export function readAsset(name: string): string {
  const url = new URL(name, ASSETS);
  try {
    return readFileSync(url, 'utf8');
  } catch (e) {
    throw new DataError(`bundled asset missing: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
      file: fileURLToPath(url),
      expected: 'the ImageNet label files shipped with zoo',
      fix: 'reinstall zoo (the package is incomplete)',
    });
  }
}

function lines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim().length > 0);
}

let synsets: readonly string[] | undefined;
let classNames: readonly string[] | undefined;
let valLabels: ReadonlyMap<string, number> | undefined;
let realLabels: readonly (readonly number[])[] | undefined;
let synsetIndex: ReadonlyMap<string, number> | undefined;

/** The 1,000 WordNet ids (`n01440764`, ...) in class-index order. */
export function loadSynsets(): readonly string[] {
  if (!synsets) {
    const s = lines(readAsset('synsets.txt')).map((l) => l.trim());
    if (s.length !== 1000) throw new DataError(`holds ${s.length} synsets, not 1000`, { file: 'assets/imagenet/synsets.txt' });
    synsets = Object.freeze(s);
  }
  return synsets;
}

/** WordNet id -> class index. */
export function synsetToIndex(): ReadonlyMap<string, number> {
  if (!synsetIndex) synsetIndex = new Map(loadSynsets().map((s, i) => [s, i]));
  return synsetIndex;
}

/** Human-readable class names (the first name of each synset's list), in class-index order. */
export function loadClassNames(): readonly string[] {
  if (!classNames) {
    const byId = new Map<string, string>();
    for (const l of lines(readAsset('synset_words.txt'))) {
      const sp = l.indexOf(' ');
      byId.set(l.slice(0, sp), l.slice(sp + 1).split(',')[0]!.trim());
    }
    classNames = Object.freeze(loadSynsets().map((s) => byId.get(s) ?? s));
  }
  return classNames;
}

/** Val ground truth: file basename (`ILSVRC2012_val_00000001.JPEG`) -> class index 0..999. */
export function loadValLabels(): ReadonlyMap<string, number> {
  if (!valLabels) {
    const m = new Map<string, number>();
    for (const l of lines(readAsset('val_labels.txt'))) {
      const [name, label] = l.trim().split(/\s+/);
      m.set(name!, Number(label));
    }
    valLabels = m;
  }
  return valLabels;
}

/** ImageNet-ReaL labels in val order (index 0 is ILSVRC2012_val_00000001); some lists are empty. */
export function loadRealLabels(): readonly (readonly number[])[] {
  if (!realLabels) realLabels = Object.freeze(JSON.parse(readAsset('real.json')) as number[][]);
  return realLabels;
}
