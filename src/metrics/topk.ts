/**
 * Streaming top-1/top-5 over logits batches, the way timm's `accuracy()` counts: an image is a top-k
 * hit when its label is among the k largest logits. Ties go to the lower class index (a stable
 * order), NaN never ranks.
 *
 * Per-image predictions are kept compactly (5 x uint16 class indices and the top-1/top-2 margin as
 * float32: 14 bytes an image, 700 kB for all of val) so --predictions can be written at the end and
 * runs can be compared image by image.
 */
export const TOPK = 5;

export interface ImagePrediction {
  /** Position in the evaluated order. */
  index: number;
  label: number;
  /** Class indices, best first. */
  top5: number[];
  /** logit(top1) - logit(top2): how close the decision was. */
  margin: number;
}

/** The k best classes of one logits row, best first, ties to the lower index. */
export function topK(row: ArrayLike<number>, k = TOPK, offset = 0, classes = row.length - offset): number[] {
  const idx: number[] = [];
  const val: number[] = [];
  for (let c = 0; c < classes; c++) {
    const v = row[offset + c]!;
    if (Number.isNaN(v)) continue;
    if (idx.length === k && v <= val[k - 1]!) continue;
    let p = Math.min(idx.length, k - 1);
    if (idx.length < k) {
      idx.push(c);
      val.push(v);
      p = idx.length - 1;
    }
    // Strictly greater moves up: an equal value keeps the earlier (lower) class ahead.
    while (p > 0 && v > val[p - 1]!) {
      idx[p] = idx[p - 1]!;
      val[p] = val[p - 1]!;
      p--;
    }
    idx[p] = c;
    val[p] = v;
  }
  return idx;
}

/** One batch's logits ranked once, for every accumulator that counts it. */
export interface RankedBatch {
  /** Per image, its best classes (best first, ties to the lower index, NaN never ranks). */
  top: number[][];
  /** Per image, logit(top1) - logit(top2) (NaN when fewer than two classes rank). */
  margins: Float32Array;
}

/** Ranks `rows` rows of `numClasses` logits: the one place a run sorts its logits. */
export function rankBatch(logits: Float32Array, rows: number, numClasses: number): RankedBatch {
  if (logits.length !== rows * numClasses) {
    throw new Error(`metrics: ${logits.length} logits for ${rows} images of ${numClasses} classes`);
  }
  const top: number[][] = [];
  const margins = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const best = topK(logits, TOPK, r * numClasses, numClasses);
    top.push(best);
    const a = best[0] === undefined ? NaN : logits[r * numClasses + best[0]]!;
    const b = best[1] === undefined ? NaN : logits[r * numClasses + best[1]]!;
    margins[r] = a - b;
  }
  return { top, margins };
}

/** JSON-able snapshot of a TopKAccumulator, predictions included (base64 of little-endian arrays). */
export interface TopKState {
  version: 1;
  numClasses: number;
  count: number;
  top1Correct: number;
  top5Correct: number;
  /** count * 5 uint16 class indices. */
  top: string;
  /** count float32 margins. */
  margins: string;
  /** count int32 labels. */
  labels: string;
}

function toBase64(a: Uint16Array | Float32Array | Int32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

function fromBase64(text: string, bytesPer: number, count: number, what: string): Buffer {
  const b = Buffer.from(text, 'base64');
  if (b.length !== bytesPer * count) throw new Error(`topk state: ${what} holds ${b.length} bytes, expected ${bytesPer * count}`);
  return b;
}

/** Image and hit counts with timm's percentages; the accumulators extend it. */
export abstract class HitCounts {
  protected n = 0;
  protected hits1 = 0;
  protected hits5 = 0;

  get count(): number {
    return this.n;
  }
  get top1Correct(): number {
    return this.hits1;
  }
  get top5Correct(): number {
    return this.hits5;
  }
  /** Percentages, as timm prints them. */
  get top1(): number {
    return this.n ? (100 * this.hits1) / this.n : 0;
  }
  get top5(): number {
    return this.n ? (100 * this.hits5) / this.n : 0;
  }
}

export class TopKAccumulator extends HitCounts {
  private top: Uint16Array;
  private margins: Float32Array;
  private labels: Int32Array;

  constructor(readonly numClasses = 1000, capacity = 1024) {
    super();
    this.top = new Uint16Array(capacity * TOPK);
    this.margins = new Float32Array(capacity);
    this.labels = new Int32Array(capacity);
  }

  private grow(need: number): void {
    if (need <= this.margins.length) return;
    const cap = Math.max(need, this.margins.length * 2);
    const top = new Uint16Array(cap * TOPK);
    top.set(this.top);
    const margins = new Float32Array(cap);
    margins.set(this.margins);
    const labels = new Int32Array(cap);
    labels.set(this.labels);
    this.top = top;
    this.margins = margins;
    this.labels = labels;
  }

  /** `logits` holds `labels.length` rows of `numClasses`, in evaluation order. */
  add(logits: Float32Array, labels: ArrayLike<number>): void {
    this.addRanked(rankBatch(logits, labels.length, this.numClasses), labels);
  }

  /** A batch already ranked (rankBatch), one label per ranked row. */
  addRanked(ranked: RankedBatch, labels: ArrayLike<number>): void {
    const rows = labels.length;
    if (ranked.top.length !== rows) throw new Error(`metrics: ${ranked.top.length} ranked rows for ${rows} labels`);
    this.grow(this.n + rows);
    for (let r = 0; r < rows; r++) {
      const best = ranked.top[r]!;
      const label = labels[r]!;
      const i = this.n + r;
      for (let k = 0; k < TOPK; k++) this.top[i * TOPK + k] = best[k] ?? 0;
      this.margins[i] = ranked.margins[r]!;
      this.labels[i] = label;
      if (best[0] === label) this.hits1++;
      if (best.includes(label)) this.hits5++;
    }
    this.n += rows;
  }

  prediction(i: number): ImagePrediction {
    if (i < 0 || i >= this.n) throw new RangeError(`no prediction ${i}`);
    return {
      index: i,
      label: this.labels[i]!,
      top5: Array.from(this.top.subarray(i * TOPK, i * TOPK + TOPK)),
      margin: this.margins[i]!,
    };
  }

  *predictions(): IterableIterator<ImagePrediction> {
    for (let i = 0; i < this.n; i++) yield this.prediction(i);
  }

  /** Counts and every prediction so far (for a resume state file). Little-endian hosts only, like the weights. */
  toState(): TopKState {
    return {
      version: 1,
      numClasses: this.numClasses,
      count: this.n,
      top1Correct: this.hits1,
      top5Correct: this.hits5,
      top: toBase64(this.top.subarray(0, this.n * TOPK)),
      margins: toBase64(this.margins.subarray(0, this.n)),
      labels: toBase64(this.labels.subarray(0, this.n)),
    };
  }

  /** The accumulator `toState` described; `capacity` pre-sizes for the images still to come. */
  static fromState(s: TopKState, capacity = 0): TopKAccumulator {
    const ok = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    if (s.version !== 1 || !ok(s.numClasses) || !ok(s.count) || !ok(s.top1Correct) || !ok(s.top5Correct)) {
      throw new Error('topk state: malformed counts');
    }
    const n = s.count;
    const top = fromBase64(s.top, 2 * TOPK, n, 'top');
    const margins = fromBase64(s.margins, 4, n, 'margins');
    const labels = fromBase64(s.labels, 4, n, 'labels');
    const acc = new TopKAccumulator(s.numClasses, Math.max(1, n, capacity));
    // Copy through aligned views: a Buffer from base64 may sit at any byte offset.
    new Uint8Array(acc.top.buffer).set(top);
    new Uint8Array(acc.margins.buffer).set(margins);
    new Uint8Array(acc.labels.buffer).set(labels);
    acc.n = n;
    acc.hits1 = s.top1Correct;
    acc.hits5 = s.top5Correct;
    return acc;
  }
}
