/**
 * The run metrics against hand-computed cases: per-class counts, the confusion pairs, ReaL top-1/top-5
 * with timm's rules (empty ReaL lists skipped, any of the k best in the list is a hit), and state
 * round trips (toState -> JSON -> fromState) that continue counting exactly.
 */
import { describe, expect, it } from 'vitest';
import { MetricsAccumulator, mergeStates, valIndexOf, type MetricsState } from '../src/metrics/accumulator.js';
import { TopKAccumulator } from '../src/metrics/topk.js';
import { loadRealLabels } from '../src/data/imagenet.js';

/** A logits row of `classes` whose ranking is `order` (best first), the rest below. */
function row(classes: number, order: number[]): number[] {
  const r = new Array<number>(classes).fill(-100);
  order.forEach((c, i) => (r[c] = 10 - i));
  return r;
}
const name = (i: number) => `ILSVRC2012_val_${String(i + 1).padStart(8, '0')}.JPEG`;

// 8 classes, 6 images. ReaL lists by val index.
const C = 8;
const real = [[1], [], [2, 3], [0], [7, 6], [5]];
const images = [
  // label, ranking (top-5 first)          top1? top5?  ReaL: list -> top1 / top5
  { label: 1, order: [1, 2, 3, 4, 5] }, // yes   yes    [1]   -> yes / yes
  { label: 2, order: [3, 2, 0, 1, 4] }, // no    yes    []    -> skipped
  { label: 2, order: [3, 4, 5, 6, 7] }, // no    no     [2,3] -> yes (3) / yes
  { label: 0, order: [3, 1, 2, 0, 5] }, // no    yes    [0]   -> no / yes
  { label: 7, order: [6, 5, 4, 3, 7] }, // no    yes    [7,6] -> yes (6) / yes
  { label: 5, order: [4, 3, 2, 1, 0] }, // no    no     [5]   -> no / no
];

function filled(upTo = images.length, from = 0): MetricsAccumulator {
  const acc = new MetricsAccumulator({ numClasses: C, real });
  const logits = new Float32Array(images.slice(from, upTo).flatMap((im) => row(C, im.order)));
  acc.add(logits, images.slice(from, upTo).map((im, i) => ({ label: im.label, name: name(from + i) })));
  return acc;
}

describe('MetricsAccumulator', () => {
  it('top-1/top-5, per-class counts and confusion pairs by hand', () => {
    const acc = filled();
    expect([acc.count, acc.top1Correct, acc.top5Correct]).toEqual([6, 1, 4]);
    const pc = acc.perClass();
    expect(pc[2]).toEqual({ class: 2, images: 2, top1Correct: 0, top5Correct: 1, top1: 0, top5: 50 });
    expect(pc[1]).toMatchObject({ images: 1, top1Correct: 1, top5Correct: 1, top1: 100 });
    expect(pc[0]).toMatchObject({ images: 1, top1Correct: 0, top5Correct: 1 });
    expect(pc[3]).toMatchObject({ images: 0, top1: 0, top5: 0 });
    // Errors: 2->3 twice, 0->3, 7->6, 5->4.
    expect(acc.mostConfused(2)).toEqual([
      { true: 2, predicted: 3, count: 2 },
      { true: 0, predicted: 3, count: 1 },
    ]);
    expect(acc.mostConfused()).toHaveLength(4);
  });

  it("ReaL as timm counts it: empty lists skipped, any of the k best in the list", () => {
    const r = filled().realAccuracy()!;
    expect(r).toMatchObject({ images: 5, skipped: 1, unmatched: 0, top1Correct: 3, top5Correct: 4 });
    expect(r.top1).toBeCloseTo(60, 12);
    expect(r.top5).toBeCloseTo(80, 12);
  });

  it('names that are not val file names are unmatched, not counted', () => {
    const acc = new MetricsAccumulator({ numClasses: C, real });
    acc.addPrediction([1, 2, 3, 4, 5], { label: 1, name: 'n01440764_123.JPEG' });
    acc.addPrediction([1, 2, 3, 4, 5], { label: 1, name: name(99) }); // beyond the list
    acc.addPrediction([1, 2, 3, 4, 5], { label: 1, name: `val/n01/${name(0)}` });
    expect(acc.realAccuracy()).toMatchObject({ images: 1, unmatched: 2, top1Correct: 1 });
    expect(valIndexOf('ILSVRC2012_val_00050000.JPEG')).toBe(49999);
    expect(valIndexOf('ILSVRC2012_val_0000001.JPEG')).toBe(-1);
    expect(new MetricsAccumulator().realAccuracy()).toBeNull();
  });

  it('rejects labels outside the classes and logits of the wrong size', () => {
    const acc = new MetricsAccumulator({ numClasses: C });
    expect(() => acc.addPrediction([0], { label: 8, name: 'x' })).toThrow(/outside 0..7/);
    expect(() => acc.add(new Float32Array(7), [{ label: 0, name: 'x' }])).toThrow(/7 logits for 1 images/);
  });

  it('state survives JSON, resumes counting, and split counts merge to the whole', () => {
    const whole = filled().toState();
    const first = filled(2).toState();
    const resumed = MetricsAccumulator.fromState(JSON.parse(JSON.stringify(first)) as MetricsState, { real });
    const rest = images.slice(2);
    resumed.add(new Float32Array(rest.flatMap((im) => row(C, im.order))), rest.map((im, i) => ({ label: im.label, name: name(2 + i) })));
    expect(resumed.toState()).toEqual(whole);
    // Three pieces, merged in any order.
    const parts = [filled(1).toState(), filled(4, 1).toState(), filled(6, 4).toState()];
    expect(mergeStates(parts)).toEqual(whole);
    expect(mergeStates([parts[2]!, parts[0]!, parts[1]!])).toEqual(whole);
  });

  it('refuses malformed or mismatched states', () => {
    const s = filled().toState();
    expect(() => MetricsAccumulator.fromState({ ...s, top1Correct: 5 })).toThrow(/top-1 <= top-5/);
    expect(() => MetricsAccumulator.fromState({ ...s, perClass: { ...s.perClass, images: [1] } })).toThrow(/perClass.images/);
    expect(() => MetricsAccumulator.fromState({ ...s, confusion: [[2, 2, 1]] })).toThrow(/confusion/);
    const noReal = new MetricsAccumulator({ numClasses: C });
    expect(() => noReal.merge(s)).toThrow(/ReaL/);
    expect(() => new MetricsAccumulator({ numClasses: 9 }).merge(new MetricsAccumulator({ numClasses: C }))).toThrow(/9/);
  });

  it('the bundled ReaL file: 50,000 lists, some empty, labels in range', () => {
    const r = loadRealLabels();
    expect(r).toHaveLength(50000);
    const empty = r.filter((l) => l.length === 0).length;
    // Beyer et al. 2020: 3,163 val images have no ReaL label.
    expect(empty).toBe(3163);
    expect(r.every((l) => l.every((c) => Number.isInteger(c) && c >= 0 && c < 1000))).toBe(true);
  });
});

describe('TopKAccumulator state', () => {
  it('round-trips predictions through JSON and keeps appending', () => {
    const acc = new TopKAccumulator(C, 1);
    acc.add(new Float32Array([...row(C, [1, 2, 3, 4, 5]), ...row(C, [3, 2, 0, 1, 4])]), [1, 2]);
    const back = TopKAccumulator.fromState(JSON.parse(JSON.stringify(acc.toState())), 4);
    expect([...back.predictions()]).toEqual([...acc.predictions()]);
    back.add(new Float32Array(row(C, [7, 6, 5, 4, 3])), [7]);
    expect([back.count, back.top1Correct, back.top5Correct]).toEqual([3, 2, 3]);
    expect(back.prediction(2).top5).toEqual([7, 6, 5, 4, 3]);
    expect(() => TopKAccumulator.fromState({ ...acc.toState(), count: 3 })).toThrow(/expected/);
  });
});
