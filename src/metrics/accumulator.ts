/**
 * Everything a run counts beyond the per-image predictions, as plain integers that add: top-1/top-5,
 * per-class counts, a sparse top-1 confusion count (true -> predicted, errors only) and ImageNet-ReaL
 * top-1/top-5. Because every figure is a sum, a run interrupted and resumed, or split into shards and
 * merged, gives exactly the numbers of one uninterrupted run: `toState()` is a JSON-able snapshot,
 * `fromState()` restores it and `merge()` adds another's counts.
 *
 * ReaL follows timm's RealLabelsImagenet (timm/data/real_labels.py): the ReaL list of an image is
 * found by its val file name (ILSVRC2012_val_00000001.JPEG is entry 0 of real.json); an image whose
 * list is empty is left out of the ReaL figures; ReaL top-k is a hit when any of the k best classes
 * is in the list. Images whose name is not a val file name cannot be looked up and are counted in
 * `real.unmatched` (timm would refuse such a run; a subset or a renamed copy should not fail).
 */
import { HitCounts, rankBatch, TOPK, type RankedBatch } from './topk.js';

/** Per-image ReaL label lists in val order (entry 0 is ILSVRC2012_val_00000001), as loadRealLabels() gives. */
export type RealLabels = readonly (readonly number[])[];

export interface RealCounts {
  /** Images with a non-empty ReaL list: the denominator of the ReaL figures. */
  images: number;
  top1Correct: number;
  top5Correct: number;
  /** Images whose ReaL list is empty (left out, as timm does). */
  skipped: number;
  /** Images whose file name is not ILSVRC2012_val_NNNNNNNN.* or is beyond the list (not counted). */
  unmatched: number;
}

/** JSON-able snapshot of a MetricsAccumulator. Counts only: merging two states adds them. */
export interface MetricsState {
  version: 1;
  numClasses: number;
  images: number;
  top1Correct: number;
  top5Correct: number;
  perClass: {
    /** Images whose true label is the class, indexed by class. */
    images: number[];
    top1Correct: number[];
    top5Correct: number[];
  };
  /** Top-1 errors as [trueClass, predictedClass, count], sorted by true then predicted class. */
  confusion: [number, number, number][];
  /** null when the run did not ask for ReaL labels. */
  real: RealCounts | null;
}

export interface ClassAccuracy {
  class: number;
  images: number;
  top1Correct: number;
  top5Correct: number;
  /** Percentages; 0 for a class with no images. */
  top1: number;
  top5: number;
}

export interface ConfusedPair {
  /** True class. */
  true: number;
  /** The class predicted (top-1) instead. */
  predicted: number;
  count: number;
}

export interface RealAccuracy extends RealCounts {
  /** Percentages over `images`; 0 when no image has a ReaL list. */
  top1: number;
  top5: number;
}

/** The sample fields the metrics need: the label, and the file name for the ReaL lookup. */
export interface LabelledName {
  label: number;
  name: string;
}

const VAL_NAME = /^ILSVRC2012_val_(\d{8})(?:\.[^/\\]*)?$/;

/** 0-based val index from a val file name (`ILSVRC2012_val_00000001.JPEG` -> 0), or -1. */
export function valIndexOf(name: string): number {
  const base = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
  const m = VAL_NAME.exec(base);
  return m ? Number(m[1]) - 1 : -1;
}

export interface MetricsOptions {
  /** Default 1000. */
  numClasses?: number;
  /** ReaL label lists (loadRealLabels()); omitted or null: no ReaL figures. */
  real?: RealLabels | null;
}

export class MetricsAccumulator extends HitCounts {
  readonly numClasses: number;
  private readonly realLabels: RealLabels | null;
  private readonly classImages: Float64Array;
  private readonly classTop1: Float64Array;
  private readonly classTop5: Float64Array;
  /** key trueClass * numClasses + predicted -> count of top-1 errors. */
  private readonly confusion = new Map<number, number>();
  private real: RealCounts | null;

  constructor(opts: MetricsOptions = {}) {
    super();
    this.numClasses = opts.numClasses ?? 1000;
    this.realLabels = opts.real ?? null;
    this.classImages = new Float64Array(this.numClasses);
    this.classTop1 = new Float64Array(this.numClasses);
    this.classTop5 = new Float64Array(this.numClasses);
    this.real = this.realLabels ? { images: 0, top1Correct: 0, top5Correct: 0, skipped: 0, unmatched: 0 } : null;
  }

  /** `logits` holds `samples.length` rows of `numClasses`, in evaluation order. */
  add(logits: Float32Array, samples: readonly LabelledName[]): void {
    this.addRanked(rankBatch(logits, samples.length, this.numClasses), samples);
  }

  /** A batch already ranked (rankBatch), one sample per ranked row. */
  addRanked(ranked: RankedBatch, samples: readonly LabelledName[]): void {
    if (ranked.top.length !== samples.length) throw new Error(`metrics: ${ranked.top.length} ranked rows for ${samples.length} samples`);
    for (let r = 0; r < samples.length; r++) this.addPrediction(ranked.top[r]!, samples[r]!);
  }

  /** One image from its best classes (best first, at least 5 unless there are fewer classes). */
  addPrediction(top: readonly number[], sample: LabelledName): void {
    const label = sample.label;
    if (!Number.isInteger(label) || label < 0 || label >= this.numClasses) {
      throw new RangeError(`metrics: label ${label} of ${sample.name} is outside 0..${this.numClasses - 1}`);
    }
    const best = top.slice(0, TOPK);
    this.n++;
    this.classImages[label]!++;
    if (best[0] === label) {
      this.hits1++;
      this.classTop1[label]!++;
    } else if (best[0] !== undefined) {
      const key = label * this.numClasses + best[0];
      this.confusion.set(key, (this.confusion.get(key) ?? 0) + 1);
    }
    if (best.includes(label)) {
      this.hits5++;
      this.classTop5[label]!++;
    }
    if (this.real && this.realLabels) {
      const v = valIndexOf(sample.name);
      const list = v >= 0 && v < this.realLabels.length ? this.realLabels[v]! : undefined;
      if (list === undefined) this.real.unmatched++;
      else if (list.length === 0) this.real.skipped++;
      else {
        this.real.images++;
        if (best[0] !== undefined && list.includes(best[0])) this.real.top1Correct++;
        if (best.some((p) => list.includes(p))) this.real.top5Correct++;
      }
    }
  }

  perClass(): ClassAccuracy[] {
    const out: ClassAccuracy[] = [];
    for (let c = 0; c < this.numClasses; c++) {
      const images = this.classImages[c]!;
      const t1 = this.classTop1[c]!;
      const t5 = this.classTop5[c]!;
      out.push({ class: c, images, top1Correct: t1, top5Correct: t5, top1: images ? (100 * t1) / images : 0, top5: images ? (100 * t5) / images : 0 });
    }
    return out;
  }

  /** The `limit` most frequent (true, predicted) top-1 errors; ties by true, then predicted class. */
  mostConfused(limit = 20): ConfusedPair[] {
    return this.confusionPairs()
      .sort((a, b) => b.count - a.count || a.true - b.true || a.predicted - b.predicted)
      .slice(0, limit);
  }

  /** null when no ReaL labels were given. */
  realAccuracy(): RealAccuracy | null {
    if (!this.real) return null;
    const r = this.real;
    return { ...r, top1: r.images ? (100 * r.top1Correct) / r.images : 0, top5: r.images ? (100 * r.top5Correct) / r.images : 0 };
  }

  private confusionPairs(): ConfusedPair[] {
    return [...this.confusion].map(([key, count]) => ({
      true: Math.floor(key / this.numClasses),
      predicted: key % this.numClasses,
      count,
    }));
  }

  toState(): MetricsState {
    return {
      version: 1,
      numClasses: this.numClasses,
      images: this.n,
      top1Correct: this.hits1,
      top5Correct: this.hits5,
      perClass: {
        images: Array.from(this.classImages),
        top1Correct: Array.from(this.classTop1),
        top5Correct: Array.from(this.classTop5),
      },
      confusion: this.confusionPairs()
        .sort((a, b) => a.true - b.true || a.predicted - b.predicted)
        .map((p): [number, number, number] => [p.true, p.predicted, p.count]),
      real: this.real ? { ...this.real } : null,
    };
  }

  /**
   * An accumulator holding `state`'s counts. Pass the ReaL labels again to keep counting ReaL on
   * resume (the labels themselves are not part of the state). Throws on a malformed state.
   */
  static fromState(state: MetricsState, opts: { real?: RealLabels | null } = {}): MetricsAccumulator {
    checkState(state);
    const real = state.real ? (opts.real ?? null) : null;
    const acc = new MetricsAccumulator({ numClasses: state.numClasses, real });
    acc.addState(state);
    if (state.real && !real) acc.real = { ...state.real }; // figures kept, no further ReaL counting
    return acc;
  }

  /** Adds another run's counts (a shard, or the part before an interruption). */
  merge(other: MetricsAccumulator | MetricsState): void {
    const s = other instanceof MetricsAccumulator ? other.toState() : other;
    checkState(s);
    if (s.numClasses !== this.numClasses) throw new Error(`metrics: cannot merge ${s.numClasses} classes into ${this.numClasses}`);
    if ((s.real === null) !== (this.real === null)) throw new Error('metrics: cannot merge a state with ReaL counts and one without');
    this.addState(s);
  }

  private addState(s: MetricsState): void {
    this.n += s.images;
    this.hits1 += s.top1Correct;
    this.hits5 += s.top5Correct;
    for (let c = 0; c < this.numClasses; c++) {
      this.classImages[c]! += s.perClass.images[c]!;
      this.classTop1[c]! += s.perClass.top1Correct[c]!;
      this.classTop5[c]! += s.perClass.top5Correct[c]!;
    }
    for (const [t, p, count] of s.confusion) {
      const key = t * this.numClasses + p;
      this.confusion.set(key, (this.confusion.get(key) ?? 0) + count);
    }
    if (this.real && s.real) {
      for (const k of ['images', 'top1Correct', 'top5Correct', 'skipped', 'unmatched'] as const) this.real[k] += s.real[k];
    }
  }
}

/** Sum of states (all with the same class count and the same ReaL choice). */
export function mergeStates(states: readonly MetricsState[]): MetricsState {
  if (states.length === 0) throw new Error('metrics: nothing to merge');
  const acc = MetricsAccumulator.fromState(states[0]!);
  for (const s of states.slice(1)) acc.merge(s);
  return acc.toState();
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Structural check of a state read from a file: every count a non-negative integer, sizes consistent. */
export function checkState(s: MetricsState): void {
  const bad = (what: string): never => {
    throw new Error(`metrics state: ${what}`);
  };
  if (typeof s !== 'object' || s === null) bad('not an object');
  if (s.version !== 1) bad(`unknown version ${String(s.version)}`);
  if (!isCount(s.numClasses) || s.numClasses < 1) bad('numClasses');
  for (const k of ['images', 'top1Correct', 'top5Correct'] as const) if (!isCount(s[k])) bad(k);
  if (s.top1Correct > s.top5Correct || s.top5Correct > s.images) bad('top-1 <= top-5 <= images does not hold');
  const pc = s.perClass;
  if (typeof pc !== 'object' || pc === null) bad('perClass');
  for (const k of ['images', 'top1Correct', 'top5Correct'] as const) {
    const a = pc[k];
    if (!Array.isArray(a) || a.length !== s.numClasses || !a.every(isCount)) bad(`perClass.${k}`);
  }
  if (!Array.isArray(s.confusion)) bad('confusion');
  for (const e of s.confusion) {
    if (!Array.isArray(e) || e.length !== 3 || !e.every(isCount) || e[0] >= s.numClasses || e[1] >= s.numClasses || e[0] === e[1]) {
      bad('confusion entry');
    }
  }
  if (s.real !== null) {
    if (typeof s.real !== 'object') bad('real');
    for (const k of ['images', 'top1Correct', 'top5Correct', 'skipped', 'unmatched'] as const) if (!isCount(s.real[k])) bad(`real.${k}`);
  }
}
