/**
 * Issue 10.7: several `--data` folders in eval (repeated or comma-separated), as real processes: one
 * set split over two folders gives exactly the run of one folder holding all of its images (the same
 * numbers, per-class counts and per-image predictions, whatever the folders' order), shards of the
 * union merge to it, the JSON and the identity name every folder; a folder named twice, an image in
 * two folders, and folders holding different test sets are refused with one line and the fix.
 */
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvalResult } from '../src/run/result.js';
import { makeFlatFolder, makeImageFolder, runZoo, tempDir, val227Files, VAL_227 } from './support/cli.js';
import { wnidOf } from './support/fixtures.js';

const EVAL = ['eval', 'mobilenetv2-12-int8', '--threads', '1', '-j', '1', '-q'];

let dir: string;
let all: string;
let a: string;
let b: string;
beforeAll(async () => {
  dir = await tempDir('zoo-data-union-');
  const names = await val227Files(6);
  all = await makeFlatFolder(join(dir, 'all'), names);
  // Interleaved, so neither folder is a prefix of the val order.
  a = await makeFlatFolder(join(dir, 'disk1'), names.filter((_, i) => i % 2 === 0));
  b = await makeFlatFolder(join(dir, 'disk2'), names.filter((_, i) => i % 2 === 1));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function evalJson(name: string, args: string[]): Promise<{ r: EvalResult; predictions: string; json: string }> {
  const json = join(dir, `${name}.json`);
  const preds = join(dir, `${name}.csv`);
  const run = await runZoo([...EVAL, ...args, '--json', json, '--predictions', preds]);
  expect(run.code, run.stderr).toBe(0);
  return { r: JSON.parse(await readFile(json, 'utf8')) as EvalResult, predictions: await readFile(preds, 'utf8'), json };
}

/** What must not depend on how the images are spread over folders. */
const figures = (r: EvalResult) => ({ top1: r.top1, top5: r.top5, metrics_state: r.metrics_state, per_class: r.per_class, samples: r.identity.samples, found: r.data.found, missing: r.data.missing, warnings: r.data.warnings });

/** A refused run: exit 2, one line matching `line`, nothing written. */
async function refused(args: string[], line: RegExp): Promise<void> {
  const run = await runZoo([...EVAL, ...args]);
  expect(run.code, run.stderr).toBe(2);
  expect(run.stderr.trim().split('\n'), run.stderr).toHaveLength(1);
  expect(run.stderr).toMatch(line);
}

describe('zoo eval --data A --data B', () => {
  it('equals one folder with all the images: numbers, per-image predictions; repeated or comma-separated, any order', async () => {
    const one = await evalJson('one', ['--data', all]);
    const two = await evalJson('two', ['--data', a, '--data', b]);
    const comma = await evalJson('comma', [`--data=${b},${a}`]);
    expect(one.r.identity.samples).toBe(6);
    expect(figures(two.r)).toEqual(figures(one.r));
    expect(figures(comma.r)).toEqual(figures(one.r));
    expect(two.predictions).toBe(one.predictions);
    expect(comma.predictions).toBe(one.predictions);
    // The JSON and the run's identity (resume, merge) name both folders.
    expect(two.r.data.root).toEqual([a, b]);
    expect(two.r.data.parts?.map((p) => [p.root, p.found])).toEqual([[a, 3], [b, 3]]);
    expect(two.r.identity.data_root).toEqual([a, b]);
    expect(comma.r.identity.data_root).toEqual([a, b]);
    expect(one.r.identity.data_root).toBe(all);
  }, 120_000);

  it('shards of the union merge to the one-folder run', async () => {
    const one = await evalJson('one5', ['--data', all, '--limit', '5']);
    const s1 = await evalJson('s1', ['--data', `${a},${b}`, '--limit', '5', '--shard', '1/2']);
    const s2 = await evalJson('s2', ['--data', `${a},${b}`, '--limit', '5', '--shard', '2/2']);
    expect(s1.r.identity.samples + s2.r.identity.samples).toBe(5);
    const merged = join(dir, 'merged.json');
    const m = await runZoo(['merge', s1.json, s2.json, '--json', merged]);
    expect(m.code, m.stderr).toBe(0);
    const r = JSON.parse(await readFile(merged, 'utf8')) as EvalResult;
    expect([r.top1, r.top5, r.metrics_state]).toEqual([one.r.top1, one.r.top5, one.r.metrics_state]);
  }, 120_000);

  it('a stopped run resumes over the same folders (in any order); over other folders the state is refused', async () => {
    const c = await makeFlatFolder(join(dir, 'resume-c'), []);
    const d = await makeFlatFolder(join(dir, 'resume-d'), []);
    const names = await val227Files(5);
    for (const [i, n] of names.entries()) await copyFile(join(VAL_227, n), join(i % 2 ? d : c, n));
    // The last image in val order is damaged: the run stops there with its state (exit 3).
    const last = 'ILSVRC2012_val_00049999.JPEG';
    await writeFile(join(d, last), 'not a JPEG');
    const state = join(dir, 'union.state.json');
    const stopped = await runZoo([...EVAL, '-b', '1', '--data', `${c},${d}`, '--state', state]);
    expect(stopped.code, stopped.stderr).toBe(3);
    const other = await runZoo([...EVAL, '--data', c, '--state', state, '--resume']);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/--resume: the state belongs to a different run \(data: \[.*resume-c.*resume-d.*\] -> .*resume-c"/);
    await copyFile(join(VAL_227, names[0]!), join(d, last));
    const resumed = await evalJson('resumed', ['--data', d, '--data', c, '--state', state, '--resume']);
    const whole = await makeFlatFolder(join(dir, 'resume-all'), names);
    await copyFile(join(d, last), join(whole, last));
    const one = await evalJson('resume-one', ['--data', whole]);
    expect(resumed.r.resumed).toBe(true);
    expect(figures(resumed.r)).toEqual(figures(one.r));
    expect(resumed.predictions).toBe(one.predictions);
  }, 120_000);

  it('a flat folder beside an ImageFolder tree: names relative to each folder, both layouts said', async () => {
    const names = (await val227Files(10)).slice(8);
    const tree = await makeImageFolder(join(dir, 'tree'), names);
    const mixed = await evalJson('mixed', ['--data', `${a},${tree}`]);
    expect(mixed.r.data.layout).toBe('flat+imagefolder');
    expect(mixed.r.data.found).toBe(5);
    const files = mixed.predictions.trim().split('\n').slice(1).map((l) => l.split(',')[0]);
    expect(files).toEqual(expect.arrayContaining(names.map((n) => `${wnidOf(n)}/${n}`)));
    expect(files.filter((f) => !f.includes('/'))).toHaveLength(3);
  }, 60_000);

  it('refuses a folder named twice, an image in two folders, and folders of different test sets: one line, exit 2', async () => {
    await refused(['--data', `${a},${join(dir, '.', 'disk1')}/`], /--data names the same folder twice .*name each folder once/);
    await refused(['--data', a, '--data', all], /--data: 3 image\(s\) are in both .*disk1 and .*all .*counted twice; name folders that do not overlap/);
    // An ImageNetV2-style folder (numeric class folders) beside ImageNet val images.
    const v2 = join(dir, 'imagenetv2-matched-frequency');
    const name = (await val227Files(7))[6]!;
    await mkdir(join(v2, '0'), { recursive: true });
    await copyFile(join(VAL_227, name), join(v2, '0', name));
    await refused(['--data', `${a},${v2}`], /--data folders hold different test sets: .*disk1 is ImageNet val .*ImageNetV2 .*evaluate each test set in a run of its own/);
  }, 120_000);
});
