/**
 * Counts and verdicts a CI job relies on, through the real CLI, against hand-computed cases: a
 * labels file and a ReaL file written here from a first run's predictions fix which images are
 * top-1 hits, top-5-only hits and misses, so top-1/top-5, ReaL, per-class counts and the confused
 * pairs are known in advance. Then the regression checks: a subset check that passes only because
 * it is statistical, one that fails on purpose (exit 1, one-line verdict), --baseline on the same
 * images (exact), and the --csv columns.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCheck } from '../src/run/checks.js';
import { ExitCode } from '../src/errors.js';
import { wilsonInterval } from '../src/metrics/interval.js';
import { makeFlatFolder, readPredictions, runZoo, tempDir, val227Files, writeRecipeCheckpoint, type PredictionRow } from './support/cli.js';
import { evalArgs, readJson, writeLabels, type ResultJson } from './support/trust.js';

const N = 40;
let dir: string;
let flat: string;
let weights: string;
let preds: PredictionRow[];
let labelsFile: string;
let realFile: string;
/** The hand-made ground truth: label per image. */
const labels = new Map<string, number>();

const valIndex = (name: string) => Number(/ILSVRC2012_val_(\d{8})/.exec(name)![1]) - 1;
/** A class none of the image's top-5 contains. */
const notIn = (top5: number[], from = 0) => {
  let c = from;
  while (top5.includes(c)) c++;
  return c;
};
const run = (extra: string[]) => runZoo(evalArgs(flat, weights, ['--batch-size', '8', ...extra]), { timeoutMs: 60_000 });

beforeAll(async () => {
  dir = await tempDir('zoo-trust-checks-');
  flat = await makeFlatFolder(join(dir, 'flat'), await val227Files(N));
  weights = await writeRecipeCheckpoint('rexnet_100', dir);
  const first = await run(['--predictions', join(dir, 'first.csv')]);
  expect(first.code, first.stderr).toBe(0);
  preds = await readPredictions(join(dir, 'first.csv'));
  // Per 8 images: 6 top-1 hits, 1 top-5-only hit (4th best), 1 miss. 40 images: 30 top-1, 35 top-5.
  preds.forEach((p, i) => {
    const k = i % 8;
    labels.set(p.file, k < 6 ? p.top5[0]! : k === 6 ? p.top5[3]! : notIn(p.top5, 500));
  });
  labelsFile = await writeLabels(join(dir, 'hand.txt'), labels);
  // ReaL lists by val index, per 5 images: none, [top1], [4th best, other], [other], [other, top1].
  // The list stops before the last image's index, so that one is unmatched.
  const last = Math.max(...preds.map((p) => valIndex(p.file)));
  const real: number[][] = Array.from({ length: last }, () => []);
  preds.forEach((p, i) => {
    if (valIndex(p.file) >= last) return;
    const other = notIn(p.top5, 10);
    real[valIndex(p.file)] = [[], [p.top5[0]!], [p.top5[3]!, other], [other], [other, p.top5[0]!]][i % 5]!;
  });
  realFile = join(dir, 'real.json');
  await writeFile(realFile, JSON.stringify(real));
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('counts against hand-computed cases', () => {
  let result: ResultJson;

  it('top-1/top-5, ReaL, per-class accuracy and confused pairs', async () => {
    const json = join(dir, 'hand.json');
    const r = await run(['--labels', labelsFile, '--real-labels', realFile, '--json', json, '--csv', join(dir, 'hand.csv')]);
    expect(r.code, r.stderr).toBe(0);
    result = await readJson(json);
    expect([result.images, result.top1_correct, result.top5_correct]).toEqual([40, 30, 35]);
    expect([result.top1, result.top5]).toEqual([75, 87.5]);

    // ReaL: rows 0,5,10,.. have no list; the last image is beyond the list.
    const lastRow = preds.findIndex((p) => valIndex(p.file) === Math.max(...preds.map((q) => valIndex(q.file))));
    const counted = preds.map((_, i) => i).filter((i) => i !== lastRow);
    const kinds = counted.map((i) => i % 5);
    const real1 = kinds.filter((k) => k === 1 || k === 4).length;
    const real5 = kinds.filter((k) => k === 1 || k === 2 || k === 4).length;
    const realImages = kinds.filter((k) => k !== 0).length;
    expect(result.real).toMatchObject({
      images: realImages,
      top1_correct: real1,
      top5_correct: real5,
      no_label: kinds.filter((k) => k === 0).length,
      unmatched: 1,
      top1: Math.round((1e6 * real1) / realImages) / 1e4,
    });
    // The ReaL rows carry the val rows' 95% interval and verdict (issue 10.13): on this subset the interval decides.
    const realTop1 = (100 * real1) / realImages;
    const w1 = wilsonInterval(real1, realImages);
    const w5 = wilsonInterval(real5, realImages);
    const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
    const realJson = result.real as unknown as { top1_interval: number[]; top5_interval: number[]; published: Record<string, unknown> };
    expect(realJson.top1_interval).toEqual([r4(w1.low), r4(w1.high)]);
    expect(realJson.top5_interval).toEqual([r4(w5.low), r4(w5.high)]);
    const consistent1 = w1.low <= 84.154 && 84.154 <= w1.high;
    expect(realJson.published).toMatchObject({ top1: 84.154, top1_diff: r4(realTop1 - 84.154), consistent_top1: consistent1 });
    expect(typeof realJson.published.consistent_top5).toBe('boolean');
    expect(r.stdout).toMatch(/ReaL\s+measured\s+95% interval\s+published\s+diff\s+images/);
    expect(r.stdout).toMatch(
      new RegExp(`top-1\\s+${realTop1.toFixed(3)}\\s+\\[${w1.low.toFixed(2)}, ${w1.high.toFixed(2)}\\]\\s+84\\.154\\s+\\S+\\s+${consistent1 ? 'consistent' : 'differs'}\\s+${realImages}`),
    );

    // Per class, from the labels and predictions by hand.
    const byClass = new Map<number, { images: number; t1: number; t5: number }>();
    const pairs = new Map<string, number>();
    for (const p of preds) {
      const l = labels.get(p.file)!;
      const c = byClass.get(l) ?? { images: 0, t1: 0, t5: 0 };
      c.images++;
      if (p.top5[0] === l) c.t1++;
      else pairs.set(`${l}>${p.top5[0]}`, (pairs.get(`${l}>${p.top5[0]}`) ?? 0) + 1);
      if (p.top5.includes(l)) c.t5++;
      byClass.set(l, c);
    }
    const expectedClasses = [...byClass].sort(([a], [b]) => a - b).map(([cls, c]) => ({
      class: cls,
      images: c.images,
      top1: Math.round((1e6 * c.t1) / c.images) / 1e4,
      top5: Math.round((1e6 * c.t5) / c.images) / 1e4,
    }));
    expect(result.per_class.map(({ class: c, images, top1, top5 }) => ({ class: c, images, top1, top5 }))).toEqual(expectedClasses);
    const expectedPairs = [...pairs]
      .map(([k, count]) => ({ true: Number(k.split('>')[0]), predicted: Number(k.split('>')[1]), count }))
      .sort((a, b) => b.count - a.count || a.true - b.true || a.predicted - b.predicted)
      .slice(0, 20);
    expect(result.most_confused.map(({ true: t, predicted, count }) => ({ true: t, predicted, count }))).toEqual(expectedPairs);
  }, 60_000);

  it('--csv: timm results columns first, then ours, agreeing with the JSON', async () => {
    const [header, row] = (await readFile(join(dir, 'hand.csv'), 'utf8')).trim().split('\n');
    const cols = header!.split(',');
    expect(cols.slice(0, 9)).toEqual(['model', 'top1', 'top1_err', 'top5', 'top5_err', 'param_count', 'img_size', 'crop_pct', 'interpolation']);
    const v = Object.fromEntries(cols.map((c, i) => [c, row!.split(',')[i]]));
    expect(v).toMatchObject({ model: 'rexnet_100.nav_in1k', top1: '75', top1_err: '25', top5: '87.5', top5_err: '12.5', img_size: '224', crop_pct: '0.875', interpolation: 'bicubic' });
    expect(v).toMatchObject({ images: '40', top1_correct: '30', top5_correct: '35', real_top1: String(result.real!.top1), comparable: 'true', subset: 'true' });
  });
});

describe('regression checks', () => {
  it('a subset check passes when the expectation lies inside the 95% interval (published, and 80 with no tolerance)', async () => {
    const json = join(dir, 'pass.json');
    const r = await run(['--labels', labelsFile, '--expect-top1', 'published', '--expect-top5', 'published', '--json', json]);
    expect(r.code, r.stderr).toBe(ExitCode.OK);
    const res = await readJson(json);
    // 30/40 = 75% and 35/40 = 87.5% sit below 77.862 and 93.89, but the intervals hold them.
    expect(res.checks!.passed).toBe(true);
    expect(res.checks!.results.map((c) => [c.metric, c.kind, c.passed])).toEqual([
      ['top-1', 'statistical', true],
      ['top-5', 'statistical', true],
    ]);
    expect(r.stdout).toMatch(/check: top-1 75\.000% on 40 images vs published 77\.862% \(tolerance 0\.1\): pass \(subset: 77\.762 is within or below the 95% interval \[/);
    expect(res.verdict).toMatch(/^pass: /);
    const strict = await run(['--labels', labelsFile, '--expect-top1', '80', '--tolerance', '0']);
    expect(strict.code, strict.stderr).toBe(ExitCode.OK);
  }, 60_000);

  it('fails on purpose: exit 1, a one-line verdict on stderr and in the JSON', async () => {
    const json = join(dir, 'fail.json');
    const r = await run(['--labels', labelsFile, '--expect-top1', '90', '--json', json]);
    expect(r.code, r.stderr).toBe(ExitCode.REGRESSION);
    const high = wilsonInterval(30, 40).high;
    expect(89.9).toBeGreaterThan(high);
    const verdict = r.stderr.trim().split('\n').filter((l) => !l.startsWith('zoo: warning:'));
    expect(verdict).toHaveLength(1);
    expect(verdict[0]).toBe(
      `zoo: regression: top-1 75.000% on 40 images vs --expect-top1 90.000% (tolerance 0.1): REGRESSION (subset: 89.900 lies above the 95% interval [${wilsonInterval(30, 40).low.toFixed(3)}, ${high.toFixed(3)}])`,
    );
    const res = await readJson(json);
    expect(res.checks!.passed).toBe(false);
    expect(`zoo: ${res.verdict}`).toBe(verdict[0]);
  }, 60_000);

  it('--baseline on the same images compares exactly: the same run passes, a better baseline fails', async () => {
    const same = await run(['--labels', labelsFile, '--baseline', join(dir, 'hand.json'), '--tolerance', '0']);
    expect(same.code, same.stderr).toBe(ExitCode.OK);
    expect(same.stdout).toMatch(/check: top-1 75\.000% on 40 images vs baseline .*hand\.json 75\.000% \(tolerance 0\): pass$/m);
    // A baseline where every image was a top-1 hit (labels = predictions): 75% is a regression.
    const perfect = new Map(preds.map((p) => [p.file, p.top5[0]!]));
    await writeLabels(join(dir, 'perfect.txt'), perfect);
    const base = await run(['--labels', join(dir, 'perfect.txt'), '--json', join(dir, 'perfect.json')]);
    expect(base.code, base.stderr).toBe(0);
    const worse = await run(['--labels', labelsFile, '--baseline', join(dir, 'perfect.json'), '--json', join(dir, 'worse.json')]);
    expect(worse.code, worse.stderr).toBe(ExitCode.REGRESSION);
    expect(worse.stderr).toMatch(/zoo: regression: top-1 75\.000% on 40 images vs baseline .*perfect\.json 100\.000% \(tolerance 0\.1\): REGRESSION \(-25\.000 points\)/);
    const res = await readJson(join(dir, 'worse.json'));
    expect(res.checks!.results.map((c) => c.kind)).toEqual(['exact', 'exact']);
  }, 60_000);

  it('bad check flags are usage errors before any work', async () => {
    const r = await run(['--expect-top1', 'best']);
    expect(r.code).toBe(ExitCode.USAGE);
    expect(r.stderr).toMatch(/expected 'published' or an accuracy in percent/);
    const b = await run(['--baseline', join(dir, 'nope.json')]);
    expect(b.code).toBe(ExitCode.USAGE);
    expect(b.stderr).toMatch(/nope\.json: cannot read --baseline: no such file or folder/);
  }, 60_000);

  it('on the full set the check is exact (no interval)', () => {
    const base = { metric: 'top-1' as const, images: 50_000, subset: false, source: 'published', expected: 77.862, tolerance: 0.1, sameImages: false };
    expect(runCheck({ ...base, hits: 38_882 })).toMatchObject({ kind: 'exact', passed: true, interval: null }); // 77.764
    expect(runCheck({ ...base, hits: 38_880 })).toMatchObject({ kind: 'exact', passed: false }); // 77.760 < 77.762
  });
});
