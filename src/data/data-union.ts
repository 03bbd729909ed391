/**
 * `--data A --data B` (or `--data A,B`): one test set spread over several folders or archives (a
 * val split over two disks), evaluated as the union of their images, exactly as one folder holding
 * all of them would be: the same samples in the same order (so --limit, --per-class and --shard pick
 * the same images), the same names (each relative to its own folder), the same label space.
 *
 * Refused, each with one line and the fix (exit 2): a path named twice, an image found in two of
 * the folders (a copy, or one folder inside another), and folders holding different test sets
 * (ImageNet val beside ImageNetV2: different label spaces and published rows).
 */
import { realpath } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { UsageError } from '../errors.js';
import type { Dataset, Sample } from './dataset.js';
import { stemOf } from './labels.js';
import { openTestSet, sampleOrder, type OpenTestSetOptions, type TestSetData } from './test-set-data.js';
import { eg } from './warnings.js';

/** A union's parts: where each folder is, for names relative to it. */
export interface DataPart {
  /** The folder or archive as resolved (Dataset.root of that part). */
  root: string;
  layout: Dataset['layout'];
  source: Dataset['source'];
  found: number;
}

/** The union of several parts; `parts` is set only when there are several. */
export interface UnionData extends TestSetData {
  parts: DataPart[] | null;
}

/** What makes two samples the same image: the val stem for val-layout sets, else class + name (Sketch repeats names across classes). */
function imageKey(s: Sample, valLayout: boolean): string {
  return valLayout ? stemOf(s.name) : `${s.label}\0${s.name}`;
}

/** One data path as given on the command line, resolved the way openTestSet sees it. */
export interface DataPath {
  /** As typed (for messages). */
  arg: string;
  /** What to open (the built-in sample resolved). */
  path: string;
}

/**
 * Opens every path and joins them; one path is openTestSet as always. Parts already opened are
 * disposed when a later one fails or the union is refused.
 */
export async function openDataUnion(paths: readonly DataPath[], opts: OpenTestSetOptions): Promise<UnionData> {
  if (paths.length === 1) return { ...(await openTestSet(paths[0]!.path, opts)), parts: null };
  await refuseRepeatedPaths(paths);
  const opened: TestSetData[] = [];
  try {
    for (const p of paths) opened.push(await openTestSet(p.path, opts));
    return union(paths, opened);
  } catch (e) {
    await Promise.all(opened.map((o) => o.dispose().catch(() => undefined)));
    throw e;
  }
}

async function refuseRepeatedPaths(paths: readonly DataPath[]): Promise<void> {
  const seen = new Map<string, string>();
  for (const p of paths) {
    // The same folder under two spellings (./val, val/, a symlink) is still one folder.
    const real = await realpath(p.path).catch(() => resolve(p.path));
    const first = seen.get(real);
    if (first !== undefined) {
      throw new UsageError(`--data names the same folder twice (${first} and ${p.arg})`, { file: p.arg, fix: 'name each folder once' });
    }
    seen.set(real, p.arg);
  }
}

function union(paths: readonly DataPath[], opened: readonly TestSetData[]): UnionData {
  const first = opened[0]!;
  const set = first.set;
  const other = opened.findIndex((o) => o.set.name !== set.name);
  if (other >= 0) {
    throw new UsageError(
      `--data folders hold different test sets: ${paths[0]!.arg} is ${set.title} (--dataset ${set.name}), ${paths[other]!.arg} is ${opened[other]!.set.title} (--dataset ${opened[other]!.set.name}); their labels and published numbers differ`,
      { file: paths[other]!.arg, fix: 'evaluate each test set in a run of its own (or name the right --dataset)' },
    );
  }
  const valLayout = set.layout === 'val';
  // An image in two folders would be counted twice: refuse, naming both folders and an example.
  const owner = new Map<string, number>();
  for (let i = 0; i < opened.length; i++) {
    const clashes: string[] = [];
    let clashWith = -1;
    for (const s of opened[i]!.dataset.samples) {
      const key = imageKey(s, valLayout);
      const j = owner.get(key);
      if (j === undefined) owner.set(key, i);
      else if (j !== i) {
        clashes.push(s.name);
        clashWith = j;
      }
    }
    if (clashes.length > 0) {
      throw new UsageError(
        `--data: ${clashes.length} image(s) are in both ${paths[clashWith]!.arg} and ${paths[i]!.arg} (e.g. ${eg(clashes)}); each would be counted twice`,
        { file: paths[i]!.arg, fix: 'name folders that do not overlap (not a folder and one inside it), or remove the copies' },
      );
    }
  }
  const samples = opened.flatMap((o) => o.dataset.samples);
  // One folder's order (dataset.ts, test-set-data.ts): by name, then class, then path.
  samples.sort(sampleOrder);
  const parts: DataPart[] = opened.map((o) => ({ root: o.dataset.root, layout: o.dataset.layout, source: o.dataset.source, found: o.dataset.samples.length }));
  const warnings: string[] = [];
  opened.forEach((o, i) => {
    for (const w of o.dataset.warnings) if (!w.startsWith('INCOMPLETE')) warnings.push(`${w} (in ${paths[i]!.arg})`);
  });
  // Complete when together they hold the whole set once and no part had a problem of its own.
  const partsClean = opened.every((o) => o.dataset.warnings.every((w) => w.startsWith('INCOMPLETE')));
  const missing = Math.max(0, set.images - samples.length);
  if (samples.length < set.images) {
    // Worded as one folder's (dataset.ts, test-set-data.ts): the union reads as that folder would.
    const whole = set.name === 'imagenet' || set.name === 'imagenet-real' ? 'the full val set' : set.title;
    const gt = valLayout && !set.subset ? `; ${missing} images of the ground truth are missing` : '';
    warnings.push(`INCOMPLETE: found ${samples.length} images, fewer than the ${set.images} of ${whole}${gt}: accuracy is for a subset`);
  }
  const same = <T>(xs: readonly T[]): T | undefined => (xs.every((x) => x === xs[0]) ? xs[0] : undefined);
  const dataset: Dataset = {
    root: first.dataset.root,
    layout: same(parts.map((p) => p.layout)) ?? first.dataset.layout,
    source: same(parts.map((p) => p.source)) ?? first.dataset.source,
    samples,
    warnings,
    complete: partsClean && samples.length === set.images,
    missing,
  };
  const detected = opened.map((o) => o.detected).filter((d): d is string => d !== null);
  return {
    dataset,
    set,
    detected: detected.length > 0 ? [...new Set(detected)].join('; ') : null,
    valid: first.valid,
    notes: opened.flatMap((o) => o.notes),
    dispose: async () => {
      await Promise.all(opened.map((o) => o.dispose()));
    },
    parts,
  };
}

/** The folder a sample of a union came from (for its name relative to it); the only root otherwise. */
export function partRootOf(s: Sample, parts: readonly DataPart[] | null, root: string): string {
  if (!parts) return root;
  const file = resolve(s.tar ? s.tar.file : s.file);
  // The longest root that holds the file: a part's root is its folder (or its archive for an entry).
  let best: string | undefined;
  for (const p of parts) {
    const r = resolve(p.root);
    if ((file === r || file.startsWith(r.endsWith(sep) ? r : r + sep)) && (best === undefined || r.length > best.length)) best = r;
  }
  return best ?? root;
}
