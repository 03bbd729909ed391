/**
 * The generic label control --valid-labels (timm's index list) and the masking that makes top-k
 * rank only the valid outputs while keeping ImageNet-1k indices.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { maskLogits, parseValidLabels, readValidLabels } from '../src/data/label-space.js';
import { DataError } from '../src/errors.js';
import { TopKAccumulator } from '../src/metrics/topk.js';
import { SHARED } from './support/fixtures.js';

describe('--valid-labels', () => {
  it("reads timm's imagenet_a_indices.txt: 200 ascending indices", async () => {
    const v = await readValidLabels(join(SHARED, 'imagenet', 'imagenet_a_indices.txt'));
    expect(v).toHaveLength(200);
    expect(v[0]).toBe(6);
    expect([...v].sort((a, b) => a - b)).toEqual(v);
  });
  it('refuses indices outside the outputs and non-numbers', () => {
    expect(() => parseValidLabels('1\n1000\n', 'v.txt')).toThrow(/line 2 is not an index in 0..999/);
    expect(() => parseValidLabels('1\nx\n', 'v.txt')).toThrow(DataError);
    expect(() => parseValidLabels('', 'v.txt')).toThrow(/empty/);
  });
});

describe('masking', () => {
  it('top-k ranks only the valid outputs and keeps their 1k indices', () => {
    const classes = 10;
    const logits = Float32Array.from([9, 8, 7, 6, 5, 4, 3, 2, 1, 0, /* row 2 */ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    maskLogits(logits, 2, classes, [1, 3, 4, 6, 8, 9]);
    const acc = new TopKAccumulator(classes, 2);
    acc.add(logits, [1, 8]);
    expect(acc.prediction(0).top5).toEqual([1, 3, 4, 6, 8]); // 0 has the largest logit but is masked
    expect(acc.prediction(1).top5).toEqual([9, 8, 6, 4, 3]);
    expect(acc.prediction(0).margin).toBe(2); // 8 - 6: the best valid minus the second valid
    expect([acc.top1Correct, acc.top5Correct]).toEqual([1, 2]);
  });
});
