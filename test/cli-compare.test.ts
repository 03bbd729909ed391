/**
 * Issue 11.4 as processes: `zoo eval ... --baseline-predictions` and `zoo compare a b` on two runs that
 * differ by known flips report exactly those flips, the hand-computed McNemar p-value, the verdict,
 * and exit 1 only when the candidate is significantly worse beyond --tolerance.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPredictions, runZoo, tempDir } from './support/cli.js';

let dir: string;
let runJson: string;
let runCsv: string;
/** Six images the embedded model gets wrong on the sample, in val order. */
let wrong: { file: string; label: number; top1: number }[];

beforeAll(async () => {
  dir = await tempDir('zoo-compare-');
  runJson = join(dir, 'run.json');
  runCsv = join(dir, 'run.csv');
  const r = await runZoo(['eval', 'mobilenetv2-12-int8', '--data', 'sample', '--json', runJson, '--predictions', runCsv, '--quiet'], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  wrong = (await readPredictions(runCsv)).filter((p) => p.top5[0] !== p.label).slice(0, 6).map((p) => ({ file: p.file, label: p.label, top1: p.top5[0]! }));
  expect(wrong).toHaveLength(6);
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The run's predictions CSV with the baseline made right on `files` (so the run "lost" them). */
async function betterBaseline(name: string, files: readonly string[]): Promise<string> {
  const lines = (await readFile(runCsv, 'utf8')).trimEnd().split('\n');
  const out = lines.map((l, i) => {
    if (i === 0) return l;
    const f = l.split(',');
    if (!files.includes(f[0]!)) return l;
    f[2] = f[1]!; // top1 := label
    return f.join(',');
  });
  const file = join(dir, name);
  await writeFile(file, out.join('\n') + '\n');
  return file;
}

describe('paired comparison of two runs', () => {
  it('zoo compare: six known flips, p = 2/64, worse beyond the tolerance: exit 1 naming them', { timeout: 60_000 }, async () => {
    const base = await betterBaseline('base6.csv', wrong.map((w) => w.file));
    const out = join(dir, 'cmp.json');
    const r = await runZoo(['compare', base, runJson, '--tolerance', '1', '--json', out]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^zoo: regression: .*run\.json is worse than .*base6\.csv by 5\.660 points \(p = 0\.03125\)/m);
    expect(r.stdout).toMatch(/McNemar exact test: 6 lost, 0 gained, p = 0\.03125: WORSE/);
    const j = JSON.parse(await readFile(out, 'utf8')) as { images: number; lost: number; gained: number; p_value: number; agreement: number; flips: { file: string; kind: string; baseline_top1: number; candidate_top1: number }[] };
    expect([j.images, j.lost, j.gained]).toEqual([106, 6, 0]);
    expect(j.p_value).toBeCloseTo(2 / 64, 12);
    expect(j.agreement).toBeCloseTo((100 * 100) / 106, 9);
    expect(j.flips.map((f) => f.file)).toEqual(wrong.map((w) => w.file));
    expect(j.flips.every((f, i) => f.kind === 'lost' && f.candidate_top1 === wrong[i]!.top1)).toBe(true);
    // A wider tolerance: still significantly worse, but within it (exit 0).
    const lenient = await runZoo(['compare', base, runJson, '--tolerance', '10']);
    expect(lenient.code, lenient.stderr).toBe(0);
    expect(lenient.stdout).toMatch(/WORSE WITHIN TOLERANCE/);
  });

  it('five flips are not significant (p = 2/32): exit 0', { timeout: 60_000 }, async () => {
    const base = await betterBaseline('base5.csv', wrong.slice(0, 5).map((w) => w.file));
    const r = await runZoo(['compare', base, runCsv]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/5 lost, 0 gained, p = 0\.06250: NO SIGNIFICANT DIFFERENCE/);
  });

  it('zoo eval --baseline-predictions reports the same and exits 1', { timeout: 120_000 }, async () => {
    const base = await betterBaseline('base6-eval.csv', wrong.map((w) => w.file));
    const json = join(dir, 'paired.json');
    const r = await runZoo(['eval', 'mobilenetv2-12-int8', '--data', 'sample', '--baseline-predictions', base, '--tolerance', '1', '--json', json, '--quiet'], { cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/6 lost, 0 gained, p = 0\.03125: WORSE/);
    expect(r.stderr).toMatch(/zoo: regression: 5\.660 points below --baseline-predictions/);
    const j = JSON.parse(await readFile(json, 'utf8')) as { paired: { lost: number; flips: { file: string }[] }; per_image: { file: string[] } };
    expect(j.paired.flips.map((f) => f.file)).toEqual(wrong.map((w) => w.file));
    expect(j.per_image.file).toHaveLength(106);
  });

  it('refuses a file with no per-image predictions in one line', { timeout: 60_000 }, async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ model: 'x', top1: 1 }));
    const r = await runZoo(['compare', bad, runJson]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/bad\.json: the result has no per-image predictions/);
  });
});
