/** Top-k counts, intervals and the published comparison, against hand-computed cases. */
import { describe, expect, it } from 'vitest';
import { compareWithPublished } from '../src/metrics/compare.js';
import { wilsonInterval } from '../src/metrics/interval.js';
import { topK, TopKAccumulator } from '../src/metrics/topk.js';
import type { PublishedResult } from '../src/models/registry.js';

/** Reference: sort indices by value descending, ties by index ascending. */
function naiveTopK(row: number[], k: number): number[] {
  return row
    .map((v, i) => ({ v, i }))
    .filter((x) => !Number.isNaN(x.v))
    .sort((a, b) => b.v - a.v || a.i - b.i)
    .slice(0, k)
    .map((x) => x.i);
}

describe('topK', () => {
  it('orders best first, ties to the lower class, skips NaN', () => {
    expect(topK([0.1, 0.5, 0.5, 0.9, -1, 0.5, NaN], 5)).toEqual([3, 1, 2, 5, 0]);
    expect(topK([3, 2, 1], 5)).toEqual([0, 1, 2]);
  });

  it('agrees with a sort on random rows with many ties', () => {
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let t = 0; t < 300; t++) {
      const row = Array.from({ length: 50 }, () => Math.floor(rand() * 10));
      expect(topK(row, 5)).toEqual(naiveTopK(row, 5));
    }
  });
});

describe('TopKAccumulator', () => {
  it('counts hits across batches and keeps per-image predictions', () => {
    const acc = new TopKAccumulator(6, 1);
    // image 0: label 2 is top-1; image 1: label 0 is 6th (miss); image 2: label 5 is 3rd (top-5 hit only)
    acc.add(new Float32Array([0, 1, 9, 2, 3, 4, 0, 1, 2, 3, 4, 5]), [2, 0]);
    acc.add(new Float32Array([1, 2, 3, 9, 8, 7]), [5]);
    expect([acc.count, acc.top1Correct, acc.top5Correct]).toEqual([3, 1, 2]);
    expect(acc.top1).toBeCloseTo(100 / 3, 10);
    expect(acc.top5).toBeCloseTo(200 / 3, 10);
    expect(acc.prediction(0)).toEqual({ index: 0, label: 2, top5: [2, 5, 4, 3, 1], margin: 5 });
    expect(acc.prediction(2).top5).toEqual([3, 4, 5, 2, 1]);
    expect([...acc.predictions()].map((p) => p.label)).toEqual([2, 0, 5]);
    expect(() => acc.add(new Float32Array(5), [1])).toThrow(/5 logits for 1 images/);
  });
});

describe('intervals and comparison', () => {
  it('Wilson interval matches the closed form for 80/100', () => {
    // p=0.8, n=100, z=1.96: centre 0.7847, half 0.0766 (textbook values)
    const i = wilsonInterval(80, 100);
    expect(i.low).toBeCloseTo(71.1, 1);
    expect(i.high).toBeCloseTo(86.7, 1);
    expect(wilsonInterval(0, 10).low).toBe(0);
    expect(wilsonInterval(10, 10).high).toBe(100);
  });

  const ref: PublishedResult = {
    model: 'm.t', source: 's', dataset: 'imagenet', imgSize: 224, cropPct: 0.875,
    interpolation: 'bicubic', top1: 77.862, top5: 93.89, paramsM: 4.8, note: '',
  };

  it('on a subset: consistent when published is inside the interval', () => {
    const c = compareWithPublished({ images: 1000, top1Correct: 770, top5Correct: 935 }, ref, true);
    expect(c.top1.delta).toBeCloseTo(77 - 77.862, 10);
    expect(c.top1.consistent).toBe(true);
    const bad = compareWithPublished({ images: 1000, top1Correct: 500, top5Correct: 935 }, ref, true);
    expect(bad.top1.consistent).toBe(false);
  });

  it('on the full set: consistent only within rounding, and null without a published value', () => {
    const full = compareWithPublished({ images: 50000, top1Correct: 38931, top5Correct: 46945 }, ref, false);
    expect(full.top1.measured).toBeCloseTo(77.862, 10);
    expect(full.top1.consistent).toBe(true);
    const off = compareWithPublished({ images: 50000, top1Correct: 38900, top5Correct: 46945 }, ref, false);
    expect(off.top1.consistent).toBe(false);
    const none = compareWithPublished({ images: 10, top1Correct: 1, top5Correct: 2 }, { ...ref, top5: null }, true);
    expect([none.top5.published, none.top5.delta, none.top5.consistent]).toEqual([null, null, null]);
  });
});
