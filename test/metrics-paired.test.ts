/**
 * Issue 11.4: McNemar's exact test and the paired comparison against hand-computed cases.
 * p = min(1, 2 * P(X <= min(lost, gained))), X ~ Binomial(lost + gained, 1/2).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readOutcomes } from '../src/metrics/outcomes-file.js';
import { comparePaired, mcnemarExactP, type ImageOutcome } from '../src/metrics/paired.js';

describe('mcnemarExactP', () => {
  it.each([
    [0, 0, 1],
    [1, 0, 1], // 2 * 1/2
    [5, 0, 2 / 32],
    [6, 0, 2 / 64],
    [0, 6, 2 / 64],
    [10, 2, (2 * (1 + 12 + 66)) / 4096], // n = 12
    [12, 1, (2 * (1 + 13)) / 8192],
    [3, 3, 1], // 2 * 42/64 > 1
    [7, 3, (2 * (1 + 10 + 45 + 120)) / 1024],
  ])('lost %i, gained %i: p = %f', (lost, gained, p) => {
    expect(mcnemarExactP(lost, gained)).toBeCloseTo(p, 12);
  });

  it('stays finite and symmetric for a full val set of discordant pairs', () => {
    const p = mcnemarExactP(600, 500);
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThan(0.01);
    expect(mcnemarExactP(500, 600)).toBeCloseTo(p, 12);
    expect(mcnemarExactP(20000, 0)).toBe(0); // below double precision: 2^-19999
  });
});

describe('comparePaired', () => {
  // 10 images, label i; the baseline is right on 0..7; the candidate loses 1, 2, 3 and gains 8.
  const baseline: ImageOutcome[] = Array.from({ length: 10 }, (_, i) => ({ file: `img${i}.JPEG`, label: i, top1: i < 8 ? i : 0 }));
  const candidate: ImageOutcome[] = baseline.map((b) => ({ ...b, top1: [1, 2, 3].includes(b.label) ? 9 : b.label === 8 ? 8 : b.top1 }));

  it('counts agreement, the difference, lost/gained and the flips exactly', () => {
    const r = comparePaired(baseline, candidate, { tolerance: 0.1 });
    expect(r).toMatchObject({ images: 10, agreement: 60, baseline_top1: 80, candidate_top1: 60, lost: 3, gained: 1 });
    expect(r.diff).toBeCloseTo(-20, 12);
    expect(r.p_value).toBeCloseTo((2 * (1 + 4)) / 16, 12); // n = 4, min = 1
    expect(r.verdict).toBe('no significant difference');
    expect(r.regression).toBe(false);
    expect(r.flips.map((f) => `${f.kind} ${f.file}`)).toEqual(['lost img1.JPEG', 'lost img2.JPEG', 'lost img3.JPEG', 'gained img8.JPEG']);
  });

  it('matches images by name, not position, and counts the unmatched', () => {
    const r = comparePaired(baseline, [...candidate].reverse().slice(0, 9).concat([{ file: 'other.JPEG', label: 0, top1: 0 }]), { tolerance: 0.1 });
    expect([r.images, r.only_baseline, r.only_candidate]).toEqual([9, 1, 1]);
  });

  it('is worse (a regression) when significant and beyond the tolerance; within tolerance otherwise', () => {
    const base: ImageOutcome[] = Array.from({ length: 100 }, (_, i) => ({ file: `f${i}`, label: i % 10, top1: i % 10 }));
    const cand = base.map((b, i) => (i < 6 ? { ...b, top1: (b.label + 1) % 10 } : b)); // 6 lost, 0 gained: p = 1/32
    const r = comparePaired(base, cand, { tolerance: 1 });
    expect(r.p_value).toBeCloseTo(1 / 32, 12);
    expect([r.verdict, r.regression]).toEqual(['worse', true]);
    const lenient = comparePaired(base, cand, { tolerance: 10 });
    expect([lenient.verdict, lenient.regression]).toEqual(['worse within tolerance', false]);
    expect(comparePaired(cand, base, { tolerance: 1 }).verdict).toBe('better');
  });
});

describe('readOutcomes of a --predictions CSV', () => {
  it('reads back file names zoo quoted (commas, quotes, line breaks), LF or CRLF', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zoo-outcomes-'));
    try {
      const rows = ['a.jpg,0,1,2,3,4,5,0.5', '"b"",c.jpg",1,1,0,0,0,0,0.25', '"line\nbreak.jpg",2,3,0,0,0,0,0.125'];
      const expected = [
        { file: 'a.jpg', label: 0, top1: 1 },
        { file: 'b",c.jpg', label: 1, top1: 1 },
        { file: 'line\nbreak.jpg', label: 2, top1: 3 },
      ];
      for (const eol of ['\n', '\r\n']) {
        const file = join(dir, 'p.csv');
        await writeFile(file, ['file,label,top1,top2,top3,top4,top5,margin', ...rows].join(eol) + eol);
        expect(await readOutcomes(file, '--baseline-predictions')).toEqual(expected);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
