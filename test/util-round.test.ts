/**
 * util/round.ts rounds as Python does (timm's round(x, 4) for results, `{:.3f}` for printed
 * accuracies): the exact binary value, exact ties to the even neighbour. The expected values are
 * Python 3's format(x, '.Nf') and round(x, N) for the same doubles.
 */
import { describe, expect, it } from 'vitest';
import { sweepTable } from '../src/cli/sweep-cli.js';
import type { EvalConfig } from '../src/models/eval-config.js';
import type { EvalResult } from '../src/run/result.js';
import { pct, signed } from '../src/util/format.js';
import { fixed, round4, roundTo } from '../src/util/round.js';

describe('Python-style rounding', () => {
  it('formats as format(x, ".Nf"): exact ties to even, where toFixed takes them away from zero', () => {
    const cases: [number, number, string][] = [
      [0.0625, 3, '0.062'], // 1 of 1,600 images: an exact tie
      [-0.0625, 3, '-0.062'],
      [6.0625, 3, '6.062'],
      [0.375, 2, '0.38'],
      [2.5, 0, '2'],
      [3.5, 0, '4'],
      [86.79245283018868, 3, '86.792'], // 92 of 106
      [86.7925, 3, '86.793'], // not a tie: the double lies above 86.7925
      [100, 3, '100.000'],
      [0, 3, '0.000'],
    ];
    for (const [x, d, want] of cases) expect(fixed(x, d), `${x} to ${d}`).toBe(want);
    expect((0.0625).toFixed(3)).toBe('0.063');
  });

  it('rounds once: a figure and its table cell both come from the measured value', () => {
    const measured = (100 * 92) / 106;
    expect(round4(measured)).toBe(86.7925);
    expect(pct(measured)).toBe('86.792');
    // What the final table printed before: the 4-decimal figure rounded again.
    expect(pct(round4(measured))).toBe('86.793');
    expect(signed(measured - 88.44)).toBe('-1.648');
    expect([roundTo(1.00005, 4), roundTo(0.0625, 3), roundTo(60.37735849056604, 4)]).toEqual([1.0001, 0.062, 60.3774]);
  });

  it('the sweep table prints each model from its counts, as the eval table does', () => {
    // The fields the table reads of a result; 92 of 106 at top-5, as the built-in sample gives.
    const result = {
      images: 106, top1: 60.3774, top5: 86.7925, top1_correct: 64, top5_correct: 92, images_per_sec: 50,
      published: { top1: 68.3, top5: 88.44, top1_diff: -7.9226 }, verdict: 'done',
    } as unknown as EvalResult;
    const table = sweepTable([{ name: 'mobilenetv2-12-int8', cfg: {} as EvalConfig, code: 0, result, reason: null }]);
    expect(table).toMatch(/ 60\.377 +86\.792 +68\.300 +-7\.923 /);
  });
});
