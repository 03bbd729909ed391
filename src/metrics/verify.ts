/**
 * Counts read back from a file (a resume state, a shard result) are checked, not trusted: an edited
 * count would otherwise give a top-1 of 500000% or one that contradicts the per-image predictions.
 *
 * - `verifyMetricsState`: the structure (checkState) and the sums that must hold inside it:
 *   per-class counts add up to the totals, top-1 <= top-5 <= images in every class, confusion
 *   counts fit the top-1 errors, ReaL counts fit the images.
 * - `verifyTopKState`: predictions decode, labels and classes within the class count, and the
 *   top-1/top-5 hits recomputed from the stored predictions equal the counts.
 * - `verifyAgainstPredictions`: every count of a MetricsState recomputed from the predictions.
 *
 * Each returns a list of what is inconsistent (empty when all holds), phrased for a one-line error.
 */
import { checkState, type MetricsState } from './accumulator.js';
import { TOPK, TopKAccumulator, type TopKState } from './topk.js';

const sum = (a: readonly number[]) => a.reduce((s, v) => s + v, 0);

export function verifyMetricsState(s: unknown): string[] {
  try {
    checkState(s as MetricsState);
  } catch (e) {
    return [(e as Error).message];
  }
  const m = s as MetricsState;
  const out: string[] = [];
  const pc = m.perClass;
  if (sum(pc.images) !== m.images) out.push(`images ${m.images} but the per-class images add up to ${sum(pc.images)}`);
  if (sum(pc.top1Correct) !== m.top1Correct) out.push(`top1Correct ${m.top1Correct} but the per-class counts add up to ${sum(pc.top1Correct)}`);
  if (sum(pc.top5Correct) !== m.top5Correct) out.push(`top5Correct ${m.top5Correct} but the per-class counts add up to ${sum(pc.top5Correct)}`);
  const bad = pc.images.findIndex((n, c) => !(pc.top1Correct[c]! <= pc.top5Correct[c]! && pc.top5Correct[c]! <= n));
  if (bad >= 0) out.push(`class ${bad}: top-1 ${pc.top1Correct[bad]} <= top-5 ${pc.top5Correct[bad]} <= images ${pc.images[bad]} does not hold`);
  const errorsOf = new Map<number, number>();
  for (const [t, , count] of m.confusion) errorsOf.set(t, (errorsOf.get(t) ?? 0) + count);
  for (const [t, errors] of errorsOf) {
    if (errors > pc.images[t]! - pc.top1Correct[t]!) {
      out.push(`class ${t}: ${errors} confused images but only ${pc.images[t]! - pc.top1Correct[t]!} top-1 errors`);
      break;
    }
  }
  if (m.real) {
    const r = m.real;
    if (!(r.top1Correct <= r.top5Correct && r.top5Correct <= r.images)) out.push(`ReaL: top-1 ${r.top1Correct} <= top-5 ${r.top5Correct} <= images ${r.images} does not hold`);
    if (r.images + r.skipped + r.unmatched > m.images) out.push(`ReaL counts ${r.images + r.skipped + r.unmatched} images of ${m.images}`);
  }
  return out;
}

export interface VerifiedTopK {
  problems: string[];
  /** The accumulator, when the state decodes (even if its counts are inconsistent). */
  acc: TopKAccumulator | null;
}

/** Decodes a TopKState (capacity pre-sizes it) and checks its counts against its predictions. */
export function verifyTopKState(s: unknown, numClasses: number, capacity = 0): VerifiedTopK {
  const t = s as TopKState;
  if (typeof s !== 'object' || s === null) return { problems: ['topk state: not an object'], acc: null };
  if (t.numClasses !== numClasses) return { problems: [`topk state: ${String(t.numClasses)} classes, this run has ${numClasses}`], acc: null };
  for (const k of ['top', 'margins', 'labels'] as const) {
    if (typeof t[k] !== 'string') return { problems: [`topk state: ${k} is not base64 text`], acc: null };
  }
  let acc: TopKAccumulator;
  try {
    acc = TopKAccumulator.fromState(t, capacity);
  } catch (e) {
    return { problems: [(e as Error).message], acc: null };
  }
  const problems: string[] = [];
  let hits1 = 0;
  let hits5 = 0;
  // An image whose logits were all NaN has no ranking (margin NaN): a hit there cannot be re-derived.
  let unknown = 0;
  for (const p of acc.predictions()) {
    if (!(p.label >= 0 && p.label < numClasses)) {
      problems.push(`image ${p.index} has label ${p.label}, outside 0..${numClasses - 1}`);
      break;
    }
    if (p.top5.some((c) => c >= numClasses)) {
      problems.push(`image ${p.index} predicts a class outside 0..${numClasses - 1}`);
      break;
    }
    if (Number.isNaN(p.margin)) unknown++;
    else {
      if (p.top5[0] === p.label) hits1++;
      if (p.top5.slice(0, TOPK).includes(p.label)) hits5++;
    }
  }
  if (problems.length === 0) {
    if (t.top1Correct < hits1 || t.top1Correct > hits1 + unknown) problems.push(`top1Correct ${t.top1Correct} but the stored predictions give ${hits1}`);
    if (t.top5Correct < hits5 || t.top5Correct > hits5 + unknown) problems.push(`top5Correct ${t.top5Correct} but the stored predictions give ${hits5}`);
  }
  return { problems, acc };
}

/** Every count of `m` against the same images' predictions (a resume state holds both). */
export function verifyAgainstPredictions(m: MetricsState, topk: TopKAccumulator): string[] {
  if (m.images !== topk.count) return [`metrics count ${m.images} images, the predictions ${topk.count}`];
  if (m.top1Correct !== topk.top1Correct || m.top5Correct !== topk.top5Correct) {
    return [`metrics count ${m.top1Correct}/${m.top5Correct} top-1/top-5 hits, the predictions ${topk.top1Correct}/${topk.top5Correct}`];
  }
  if (m.numClasses !== topk.numClasses) return [`metrics have ${m.numClasses} classes, the predictions ${topk.numClasses}`];
  const images = new Array<number>(m.numClasses).fill(0);
  const top1 = new Array<number>(m.numClasses).fill(0);
  const top5 = new Array<number>(m.numClasses).fill(0);
  let unknown = false;
  for (const p of topk.predictions()) {
    images[p.label]!++;
    if (Number.isNaN(p.margin)) unknown = true;
    if (p.top5[0] === p.label) top1[p.label]!++;
    if (p.top5.includes(p.label)) top5[p.label]!++;
  }
  const c = images.findIndex((n, k) => n !== m.perClass.images[k]);
  if (c >= 0) return [`class ${c}: metrics count ${m.perClass.images[c]} images, the predictions ${images[c]}`];
  if (unknown) return []; // hits of unranked images cannot be re-derived per class
  const h = top1.findIndex((n, k) => n !== m.perClass.top1Correct[k] || top5[k] !== m.perClass.top5Correct[k]);
  if (h >= 0) return [`class ${h}: metrics count ${m.perClass.top1Correct[h]}/${m.perClass.top5Correct[h]} top-1/top-5 hits, the predictions ${top1[h]}/${top5[h]}`];
  return [];
}
