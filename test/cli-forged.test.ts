/**
 * Issue 9, items 5 and 6, through the real CLI: a resume state, a shard result or a baseline that
 * was edited (forged counts, impossible numbers) or is malformed (null, a missing field, identity
 * "x", num_classes 5) is refused with one line saying what is wrong, exit 3, never trusted and
 * never a TypeError (exit 70).
 *
 * The files start real: a run whose --predictions write fails at the end (a symlink to /dev/full)
 * keeps its complete state, and a plain run writes the --json result; each case edits one field.
 */
import { readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/errors.js';
import { makeFlatFolder, runZoo, tempDir, val227Files, writeRecipeCheckpoint } from './support/cli.js';
import { evalArgs } from './support/trust.js';
import { camelKeys } from '../src/io/json-keys.js';
import { camelCaseKeyPaths } from './support/json-keys.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- edited freely below

let dir: string;
let flat: string;
let weights: string;
let state: Json;
let result: Json;
const stateFile = () => join(dir, 'run.state.json');
const resume = () => runZoo(evalArgs(flat, weights, ['--batch-size', '2', '--state', stateFile(), '--resume']));

function errorLine(stderr: string): string {
  const lines = stderr.trim().split('\n').filter((l) => !l.startsWith('zoo: warning:') && !l.startsWith('zoo: note:'));
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

const clone = (v: Json): Json => JSON.parse(JSON.stringify(v)) as Json;

beforeAll(async () => {
  dir = await tempDir('zoo-forged-');
  flat = await makeFlatFolder(join(dir, 'flat'), await val227Files(6));
  weights = await writeRecipeCheckpoint('rexnet_100', dir);
  await symlink('/dev/full', join(dir, 'full.csv'));
  const kept = await runZoo(evalArgs(flat, weights, ['--batch-size', '2', '--state', stateFile(), '--predictions', join(dir, 'full.csv')]));
  expect(kept.code, kept.stderr).toBe(ExitCode.USAGE); // ENOSPC at the end; the state is kept
  state = JSON.parse(await readFile(stateFile(), 'utf8')) as Json;
  expect(state.next).toBe(6);
  const json = join(dir, 'result.json');
  const plain = await runZoo(evalArgs(flat, weights, ['--batch-size', '2', '--json', json, '--state', join(dir, 'plain.state.json')]));
  expect(plain.code, plain.stderr).toBe(0);
  result = JSON.parse(await readFile(json, 'utf8')) as Json;
}, 90_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a resume state (9.5 forged counts, 9.6 malformed)', () => {
  const cases: [string, (s: Json) => unknown, RegExp][] = [
    [
      'top-1 counts raised everywhere but the per-class counts',
      (s) => {
        const n = s.accumulator.topk.count;
        Object.assign(s.accumulator.topk, { top1_correct: n, top5_correct: n });
        Object.assign(s.accumulator.metrics, { top1_correct: n, top5_correct: n });
      },
      /inconsistent \(top1_correct 6 but the per-class counts add up to \d; top5_correct 6 but/,
    ],
    [
      'a top-1 count of 500000',
      (s) => {
        s.accumulator.topk.top1_correct = 500000;
      },
      /inconsistent \(.*top1_correct 500000 but the stored predictions give \d/,
    ],
    [
      'a label of 70000 in the stored predictions',
      (s) => {
        const labels = Buffer.from(s.accumulator.topk.labels as string, 'base64');
        labels.writeInt32LE(70000, 0);
        s.accumulator.topk.labels = labels.toString('base64');
      },
      /image 0 has label 70000, outside 0\.\.999/,
    ],
    ['a negative elapsed_s', (s) => void (s.elapsed_s = -5), /malformed \(elapsed_s -5 is not a non-negative number of seconds\)/],
    ['null', () => null, /not a zoo eval state file of this version/],
    ['a missing field', (s) => void delete s.next, /malformed \(next is not an image count/],
    ['identity: "x"', (s) => void (s.identity = 'x'), /malformed \(identity is not an object\)/],
    ['num_classes: 5', (s) => void (s.accumulator.metrics.num_classes = 5), /inconsistent \(metrics state: per_class\.images/],
  ];
  it.each(cases)('%s: exit 3, one line', async (_what, edit, message) => {
    const s = clone(state);
    const replaced = edit(s);
    await writeFile(stateFile(), JSON.stringify(replaced === undefined ? s : replaced));
    const r = await resume();
    expect(r.code, r.stderr).toBe(ExitCode.DATA);
    expect(errorLine(r.stderr)).toMatch(message);
  });

  it('the unedited state resumes', async () => {
    await writeFile(stateFile(), JSON.stringify(state));
    const r = await resume();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('resuming at image 6 of 6');
  });

  it('the state is snake_case; an old camelCase state (one release) still resumes (issue 10.13)', async () => {
    expect(camelCaseKeyPaths(state)).toEqual([]);
    const old = { ...state, identity: { ...state.identity, eval_config: camelKeys(state.identity.eval_config) }, accumulator: camelKeys(state.accumulator) };
    expect(camelCaseKeyPaths(old)).toContain('accumulator.metrics.top1Correct');
    await writeFile(stateFile(), JSON.stringify(old));
    const r = await resume();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('resuming at image 6 of 6');
  });
});

describe('a shard result for zoo merge (9.5, 9.6)', () => {
  const cases: [string, (r: Json) => unknown, RegExp][] = [
    ['top1 edited to 500000', (r) => void (r.top1 = 500000), /top1 500000 is not the [\d.]+ its counts give/],
    ['top1_correct edited', (r) => void (r.top1_correct = r.images), /top1_correct 6 differs from metrics_state's \d/],
    [
      "metrics_state's top-1 raised",
      (r) => {
        // Every figure agrees with the totals; only the per-class counts tell the truth.
        Object.assign(r.metrics_state, { top1_correct: r.images, top5_correct: r.images });
        Object.assign(r, { top1_correct: r.images, top5_correct: r.images, top1: 100, top5: 100 });
      },
      /metrics_state: top1_correct 6 but the per-class counts add up to \d/,
    ],
    ['a negative wall_s', (r) => void (r.wall_s = -1), /wall_s -1 is not a non-negative number of seconds/],
    ['identity: "x"', (r) => void (r.identity = 'x'), /identity is not an object/],
    ['null', () => null, /not a zoo eval --json result/],
  ];
  it.each(cases)('%s: exit 3, one line', async (_what, edit, message) => {
    const r = clone(result);
    const replaced = edit(r);
    const file = join(dir, 'shard.json');
    await writeFile(file, JSON.stringify(replaced === undefined ? r : replaced));
    const run = await runZoo(['merge', file]);
    expect(run.code, run.stderr).toBe(ExitCode.DATA);
    expect(errorLine(run.stderr)).toMatch(message);
  });

  it('the unedited result merges', async () => {
    const file = join(dir, 'shard.json');
    await writeFile(file, JSON.stringify(result));
    const run = await runZoo(['merge', file]);
    expect(run.code, run.stderr).toBe(0);
  });
});

describe('a --baseline (9.5)', () => {
  const cases: [string, Json, RegExp][] = [
    ['negative numbers', { top1: -5, top5: -1, images: 40 }, /top1 -5 is not a percentage \(0\.\.100\); top5 -1 is not a percentage/],
    ['a top-1 of 500000%', { top1: 500000, top5: 90, images: 40 }, /top1 500000 is not a percentage/],
    ['counts that contradict the percentages', { top1: 90, top5: 95, images: 40, top1_correct: 4, top5_correct: 38 }, /top1_correct 4 of 40 images is 10\.0000%, not the 90 in top1/],
    ['no images', { top1: 50, top5: 60, images: 0 }, /images 0 is not a positive image count/],
  ];
  it.each(cases)('%s: exit 3, one line, before any work', async (_what, baseline, message) => {
    const file = join(dir, 'baseline.json');
    await writeFile(file, JSON.stringify({ model: 'rexnet_100.nav_in1k', ...baseline }));
    const r = await runZoo(evalArgs(flat, weights, ['--baseline', file, '--state', join(dir, 'baseline.state.json')]));
    expect(r.code, r.stderr).toBe(ExitCode.DATA);
    expect(errorLine(r.stderr)).toMatch(message);
  });
});
