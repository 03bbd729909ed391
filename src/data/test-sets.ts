/**
 * The test sets timm publishes numbers for, as data: a layout, a label space and the `dataset` value
 * of their rows in published.csv. Adding a set is a row here (and its published rows), not code.
 *
 * - `val`: the ILSVRC2012 val layouts of dataset.ts (ImageFolder by WordNet id, flat + ground truth, tar);
 * - `class-index`: ImageNetV2's folders `0` ... `999`, the folder name is the class index;
 * - `wnid`: class folders named by WordNet id, only the set's classes allowed (A, R: 200; Sketch: 1,000).
 * `subset` names timm's 200-class list: predictions are top-k among those logits (timm --valid-labels),
 * and the -clean sets are the val images of those classes. Predictions keep ImageNet-1k indices.
 */
import { DataError } from '../errors.js';
import { readAsset, synsetToIndex } from './imagenet.js';

export const TEST_SET_NAMES = [
  'imagenet',
  'imagenet-real',
  'imagenetv2-matched-frequency',
  'imagenetv2-threshold0.7',
  'imagenetv2-top-images',
  'imagenet-a',
  'imagenet-r',
  'sketch',
  'imagenet-a-clean',
  'imagenet-r-clean',
] as const;
export type TestSetName = (typeof TEST_SET_NAMES)[number];

export type SetLayout = 'val' | 'class-index' | 'wnid';
export type SubsetName = 'a' | 'r';

export interface TestSet {
  name: TestSetName;
  /** What people call it. */
  title: string;
  layout: SetLayout;
  /** timm's 200-class list the set is scored on; null: all 1,000 classes. */
  subset: SubsetName | null;
  /** Images in the complete set. */
  images: number;
  /** What users download (for messages). */
  download: string;
  /** Also ReaL top-1/top-5 (imagenet-real is today's --real-labels). */
  real: boolean;
}

const SETS: readonly TestSet[] = [
  { name: 'imagenet', title: 'ImageNet val', layout: 'val', subset: null, images: 50000, download: 'ILSVRC2012_img_val.tar or a val folder', real: false },
  { name: 'imagenet-real', title: 'ImageNet-ReaL', layout: 'val', subset: null, images: 50000, download: 'ILSVRC2012_img_val.tar or a val folder', real: true },
  { name: 'imagenetv2-matched-frequency', title: 'ImageNetV2 matched-frequency', layout: 'class-index', subset: null, images: 10000, download: 'imagenetv2-matched-frequency.tar.gz', real: false },
  { name: 'imagenetv2-threshold0.7', title: 'ImageNetV2 threshold0.7', layout: 'class-index', subset: null, images: 10000, download: 'imagenetv2-threshold0.7.tar.gz', real: false },
  { name: 'imagenetv2-top-images', title: 'ImageNetV2 top-images', layout: 'class-index', subset: null, images: 10000, download: 'imagenetv2-top-images.tar.gz', real: false },
  { name: 'imagenet-a', title: 'ImageNet-A', layout: 'wnid', subset: 'a', images: 7500, download: 'imagenet-a.tar', real: false },
  { name: 'imagenet-r', title: 'ImageNet-R', layout: 'wnid', subset: 'r', images: 30000, download: 'imagenet-r.tar', real: false },
  { name: 'sketch', title: 'ImageNet-Sketch', layout: 'wnid', subset: null, images: 50889, download: 'ImageNet-Sketch.zip', real: false },
  { name: 'imagenet-a-clean', title: 'ImageNet val, ImageNet-A classes', layout: 'val', subset: 'a', images: 10000, download: 'the val images of the 200 ImageNet-A classes', real: false },
  { name: 'imagenet-r-clean', title: 'ImageNet val, ImageNet-R classes', layout: 'val', subset: 'r', images: 10000, download: 'the val images of the 200 ImageNet-R classes', real: false },
];

export function testSet(name: string): TestSet {
  const s = SETS.find((x) => x.name === name);
  if (!s) throw new Error(`unknown test set ${name}`);
  return s;
}

export function allTestSets(): readonly TestSet[] {
  return SETS;
}

const subsets = new Map<SubsetName, { synsets: readonly string[]; indices: readonly number[] }>();

/**
 * timm's 200-class list: WordNet ids and their ImageNet-1k indices (ascending). The two bundled files
 * must agree with each other and with the 1,000 synsets, or the package is broken.
 */
export function subsetClasses(which: SubsetName): { synsets: readonly string[]; indices: readonly number[] } {
  let s = subsets.get(which);
  if (!s) {
    const lines = (t: string) => t.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
    const synsets = lines(readAsset(`imagenet_${which}_synsets.txt`));
    const indices = lines(readAsset(`imagenet_${which}_indices.txt`)).map(Number);
    const index = synsetToIndex();
    if (synsets.length !== 200 || indices.length !== 200 || synsets.some((w, i) => index.get(w) !== indices[i])) {
      throw new DataError(`bundled imagenet_${which}_synsets.txt and imagenet_${which}_indices.txt disagree`, { fix: 'reinstall zoo (the package is damaged)' });
    }
    s = { synsets: Object.freeze(synsets), indices: Object.freeze([...indices].sort((a, b) => a - b)) };
    subsets.set(which, s);
  }
  return s;
}

/** The output indices a set scores, or null for all 1,000. */
export function validLabelsOf(set: TestSet): readonly number[] | null {
  return set.subset ? subsetClasses(set.subset).indices : null;
}
