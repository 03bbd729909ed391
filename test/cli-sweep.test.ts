/**
 * Issue 12, many models in one run: `zoo eval MODEL MODEL ...` as a process, on a few val-227 images,
 * with recipe checkpoints written as .safetensors where the weights cache expects each tag's download
 * (ZOO_CACHE, --offline), so single runs and the sweep read the very same files.
 *
 * - the sweep (a glob, a duplicate) gives every model exactly its single run's JSON numbers and
 *   per-image predictions (one model at a time; test/cli-sweep-rexnet.test.ts does all the ReXNet
 *   tags at 224/0.875/bicubic); a model file is opened again at its turn;
 * - a model whose weights are missing is reported (table, results file) with its reason, the others
 *   still run, and the exit code is the worst (4);
 * - --results-file rows are in timm's column order, appended, CSV or JSON;
 * - Ctrl-C, then --resume: finished models are not redone, an interrupted model continues from its
 *   state (its group's temporary crop cache deleted at the interruption and made again), and the
 *   JSONs and rows equal an uninterrupted sweep's.
 */
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachePathFor } from '../src/models/weights/cache.js';
import { resolveModel } from '../src/models/registry.js';
import { makeFlatFolder, runZoo, tempDir, val227Files, writeRecipeCheckpoint } from './support/cli.js';
import { hold, readJson, resultNumbers as numbers, startZoo, until } from './support/trust.js';

const N = 6;
let dir: string;
let flat: string;
let cache: string;

/** Puts the recipe checkpoint of `arch` where `--offline` finds its default tag's download. */
async function cacheRecipe(arch: string): Promise<void> {
  const file = await writeRecipeCheckpoint(arch, dir);
  const w = resolveModel(arch).tag.weights;
  if (w.kind !== 'hf' && w.kind !== 'url') throw new Error(`${arch}: no downloadable weights`);
  const saved = process.env.ZOO_CACHE;
  process.env.ZOO_CACHE = cache;
  const target = cachePathFor(w);
  if (saved === undefined) delete process.env.ZOO_CACHE;
  else process.env.ZOO_CACHE = saved;
  await mkdir(dirname(target), { recursive: true });
  await copyFile(file, target);
}

const common = () => ['--data', flat, '--offline', '--batch-size', '4', '--workers', '1', '--threads', '1', '--quiet'];
const env = () => ({ ZOO_CACHE: cache });

beforeAll(async () => {
  dir = await tempDir('zoo-cli-sweep-');
  cache = join(dir, 'cache');
  flat = await makeFlatFolder(join(dir, 'val'), await val227Files(N));
  await cacheRecipe('rexnet_100');
  await cacheRecipe('rexnet_130');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('zoo eval with several models', () => {
  it('gives every model exactly the JSON numbers and per-image predictions of its single run', async () => {
    const singles: Record<string, Record<string, unknown>> = {};
    for (const tag of ['rexnet_100.nav_in1k', 'rexnet_130.nav_in1k']) {
      const json = join(dir, `single-${tag}.json`);
      const run = await runZoo(['eval', tag, ...common(), '--json', json, '--state', join(dir, `single-${tag}.state.json`)], { env: env() });
      expect(run.code, run.stderr).toBe(0);
      singles[tag] = (await readJson(json)) as Record<string, unknown>;
    }
    const out = join(dir, 'sweep-json');
    await mkdir(out);
    const results = join(dir, 'results.csv');
    // A glob over both tags, and one of them named again: evaluated once each.
    const run = await runZoo(['eval', 'REXNET_1[03]0', 'rexnet_100.nav_in1k', ...common(), '--json-dir', out, '--results-file', results], { env: env() });
    expect(run.code, run.stderr).toBe(0);
    for (const tag of ['rexnet_100.nav_in1k', 'rexnet_130.nav_in1k']) {
      const swept = (await readJson(join(out, `${tag}.json`))) as Record<string, unknown>;
      expect(numbers(swept)).toEqual(numbers(singles[tag]!));
      expect((swept.per_image as { file: unknown[] }).file).toHaveLength(N);
    }
    // The final table: both models, ranked, each with its published number and difference.
    expect(run.stdout).toMatch(/#\s+model\s+top-1\s+top-5\s+published\s+diff\s+img\/s\s+verdict/);
    for (const tag of ['rexnet_100.nav_in1k', 'rexnet_130.nav_in1k']) expect(run.stdout).toContain(tag);
    expect(run.stdout).toContain('77.862'); // rexnet_100.nav_in1k's published top-1
    // One results row per model, timm's columns first.
    const lines = (await readFile(results, 'utf8')).trim().split('\n');
    expect(lines[0]!.startsWith('model,top1,top1_err,top5,top5_err,param_count,img_size,crop_pct,interpolation,')).toBe(true);
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(['rexnet_100.nav_in1k', 'rexnet_130.nav_in1k']);
    const cells = lines[1]!.split(',');
    const single = singles['rexnet_100.nav_in1k']!;
    expect(cells.slice(1, 9)).toEqual([single.top1, single.top1_err, single.top5, single.top5_err, single.param_count, 224, 0.875, 'bicubic'].map(String));
    // A single run appends its row to the same file (timm users pass --results-file to every run).
    const again = await runZoo(['eval', 'rexnet_130', ...common(), '--results-file', results], { env: env() });
    expect(again.code, again.stderr).toBe(0);
    const after = (await readFile(results, 'utf8')).trim().split('\n');
    expect(after).toHaveLength(4);
    expect(after.slice(0, 3)).toEqual(lines);
    expect(after[3]!.split(',').slice(0, 9)).toEqual(lines[2]!.split(',').slice(0, 9));
    // Two outputs on stdout are refused before any work.
    const both = await runZoo(['eval', 'rexnet_130', ...common(), '--results-file', '-', '--json', '-'], { env: env() });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--results-file and --json both write to stdout');
  });

  it('opens a model file again at its turn (closed after the check, so one engine at a time), with its single run\'s numbers', async () => {
    const single = join(dir, 'single-mobilenet.json');
    const one = await runZoo(['eval', 'mobilenetv2-12-int8', ...common(), '--json', single, '--state', join(dir, 'single-mobilenet.state.json')], { env: env() });
    expect(one.code, one.stderr).toBe(0);
    const out = join(dir, 'file-sweep-json');
    await mkdir(out);
    const run = await runZoo(['eval', 'mobilenetv2-12-int8', 'rexnet_100', ...common(), '--json-dir', out], { env: env() });
    expect(run.code, run.stderr).toBe(0);
    const swept = (await readJson(join(out, 'mobilenetv2-12-int8.onnx_model_zoo.json'))) as Record<string, unknown>;
    expect(numbers(swept)).toEqual(numbers((await readJson(single)) as Record<string, unknown>));
  });

  it('reports a model whose weights are missing with its reason, runs the others, and exits 4', async () => {
    const results = join(dir, 'missing.json');
    const run = await runZoo(['eval', 'rexnet_150', 'rexnet_100', ...common(), '--results-file', results, '--results-format', 'json'], { env: env() });
    expect(run.code, run.stderr).toBe(4);
    const rows = JSON.parse(await readFile(results, 'utf8')) as Record<string, unknown>[];
    expect(rows.map((r) => r.model)).toEqual(['rexnet_150.nav_in1k', 'rexnet_100.nav_in1k']);
    expect(rows[0]).toMatchObject({ top1: null, img_size: 224, crop_pct: 0.875, interpolation: 'bicubic', exit_code: 4 });
    expect(String(rows[0]!.verdict)).toMatch(/failed: .*offline/);
    expect(rows[1]).toMatchObject({ exit_code: 0, images: N });
    expect(typeof rows[1]!.top1).toBe('number');
    expect(run.stdout).toMatch(/rexnet_150\.nav_in1k .*failed \(exit 4\)/);
    // --fail-fast: the failure stops the sweep before the next group (rexnetr_200 preprocesses at 288/1.0: another group).
    const fast = await runZoo(['eval', 'rexnet_150', 'rexnetr_200', ...common(), '--fail-fast'], { env: env() });
    expect(fast.code, fast.stderr).toBe(4);
    expect(fast.stdout).toMatch(/rexnetr_200\.sw_in12k_ft_in1k .*not run \(an earlier model failed and --fail-fast was given\)/);
  });
});

describe('zoo eval with several models: --resume, --shard', () => {
  it('does not evaluate again a model whose JSON in --json-dir is complete, and runs the others', async () => {
    const out = join(dir, 'resume-json');
    await mkdir(out);
    const first = await runZoo(['eval', 'rexnet_100', 'rexnet_150', ...common(), '--json-dir', out], { env: env() });
    expect(first.code, first.stderr).toBe(4); // rexnet_150 has no cached weights
    const before = await readFile(join(out, 'rexnet_100.nav_in1k.json'), 'utf8');
    const results = join(dir, 'resume.csv');
    const again = await runZoo(['eval', 'rexnet_100', 'rexnet_130', ...common(), '--json-dir', out, '--resume', '--results-file', results], { env: env() });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('rexnet_100.nav_in1k (finished earlier: not run again)');
    // Byte for byte the first run's JSON (its date included): not evaluated again.
    expect(await readFile(join(out, 'rexnet_100.nav_in1k.json'), 'utf8')).toBe(before);
    const done = JSON.parse(before) as { top1: number };
    const rows = (await readFile(results, 'utf8')).trim().split('\n').slice(1).map((l) => l.split(','));
    expect(rows.map((r) => r[0])).toEqual(['rexnet_100.nav_in1k', 'rexnet_130.nav_in1k']);
    expect(rows[0]![1]).toBe(String(done.top1));
    expect((JSON.parse(await readFile(join(out, 'rexnet_130.nav_in1k.json'), 'utf8')) as { images: number }).images).toBe(N);
    // Without --json-dir there is nothing to resume from: exit 2, one line.
    const bare = await runZoo(['eval', 'rexnet_100', 'rexnet_130', ...common(), '--resume'], { env: env() });
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('--resume with several models needs --json-dir DIR');
  });

  it('--shard shards every model the same way, and zoo merge of each model\'s shards equals its whole run', async () => {
    const out = join(dir, 'shard-json');
    await mkdir(out);
    for (const shard of ['1/2', '2/2']) {
      const run = await runZoo(['eval', 'rexnet_100', 'rexnet_130', ...common(), '--json-dir', out, '--shard', shard], { env: env() });
      expect(run.code, run.stderr).toBe(0);
    }
    const whole = join(dir, 'shard-whole');
    await mkdir(whole);
    const full = await runZoo(['eval', 'rexnet_100', 'rexnet_130', ...common(), '--json-dir', whole], { env: env() });
    expect(full.code, full.stderr).toBe(0);
    for (const tag of ['rexnet_100.nav_in1k', 'rexnet_130.nav_in1k']) {
      const merged = join(dir, `merged-${tag}.json`);
      const m = await runZoo(['merge', join(out, `${tag}.shard-1of2.json`), join(out, `${tag}.shard-2of2.json`), '--json', merged]);
      expect(m.code, m.stderr).toBe(0);
      const a = JSON.parse(await readFile(merged, 'utf8')) as Record<string, unknown>;
      const b = JSON.parse(await readFile(join(whole, `${tag}.json`), 'utf8')) as Record<string, unknown>;
      for (const k of ['model', 'images', 'top1', 'top5', 'top1_correct', 'top5_correct']) expect(a[k], k).toEqual(b[k]);
    }
  });

  it('Ctrl-C in the middle of a model, then --resume: that model continues from its state over the group\'s shared crops, and every JSON and row equals an uninterrupted sweep\'s', async () => {
    // Three models of one group; the third's checkpoint comes through a --models-file line.
    const v1 = await writeRecipeCheckpoint('official/rexnetv1_1.0x', dir);
    const list = join(dir, 'mid-models.txt');
    await writeFile(list, `rexnet_100\nrexnet_130\nrexnetv1_1.0x ${v1}\n`);
    const tags = ['rexnet_100.nav_in1k', 'rexnet_130.nav_in1k', 'rexnetv1_1.0x.clova_in1k'];
    const ref = join(dir, 'mid-ref');
    const runDir = join(dir, 'mid-run');
    await mkdir(ref);
    await mkdir(runDir);
    const loud = () => common().filter((a) => a !== '--quiet');
    const whole = await runZoo(['eval', '--models-file', list, ...common(), '--json-dir', ref, '--results-file', join(ref, 'results.csv')], { env: env() });
    expect(whole.code, whole.stderr).toBe(0);
    const args = ['eval', '--models-file', list, ...loud(), '--json-dir', runDir, '--results-file', join(runDir, 'results.csv')];
    // rexnet_130's first state save (after its first batch of 4 of the 6 images) waits for the signal.
    const live = startZoo(args, 60_000, { ...env(), ...hold('rename-until-signal:rexnet_130.nav_in1k.state.json') });
    await until(() => live.stderr().includes('zoo-test: holding'), live, 'its first state save');
    live.child.kill('SIGINT');
    const stopped = await live.done;
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).toContain('interrupted (SIGINT) after 4 of 6 images');
    expect(await readdir(join(cache, 'sweep-crops'))).toEqual([]);
    const resumed = await runZoo([...args, '--resume'], { env: env() });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('rexnet_100.nav_in1k (finished earlier: not run again)');
    expect(resumed.stderr).toContain('resuming at image 4 of 6');
    // The resumed model decodes its last 2 images into the new shared crops; the third reads them.
    const crops = [...resumed.stderr.matchAll(/crop cache .*: (\d+) read, (\d+) decoded and stored/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(crops).toEqual([
      [0, 2],
      [2, 4],
    ]);
    for (const tag of tags) {
      const a = JSON.parse(await readFile(join(runDir, `${tag}.json`), 'utf8')) as Record<string, unknown>;
      const b = JSON.parse(await readFile(join(ref, `${tag}.json`), 'utf8')) as Record<string, unknown>;
      expect(numbers(a), tag).toEqual(numbers(b));
    }
    const rows = async (f: string) => (await readFile(f, 'utf8')).trim().split('\n').map((l) => l.split(',').filter((_, i) => i !== 13));
    expect(await rows(join(runDir, 'results.csv'))).toEqual(await rows(join(ref, 'results.csv')));
  });

  it('Ctrl-C in the second model of a group, then --resume: the finished model is not redone, the shared crops are deleted, and the results equal an uninterrupted sweep\'s', async () => {
    await cacheRecipe('rexnetr_200'); // 288/1.0: a group of its own, after rexnet_100's and rexnet_130's
    const models = ['rexnet_100', 'rexnet_130', 'rexnetr_200'];
    const ref = join(dir, 'ctrl-c-ref');
    const runDir = join(dir, 'ctrl-c-run');
    await mkdir(ref);
    await mkdir(runDir);
    const whole = await runZoo(['eval', ...models, ...common(), '--json-dir', ref, '--results-file', join(ref, 'results.csv')], { env: env() });
    expect(whole.code, whole.stderr).toBe(0);
    // Not --quiet: the sweep says where its shared crops go.
    const args = ['eval', ...models, ...common().filter((a) => a !== '--quiet'), '--json-dir', runDir, '--results-file', join(runDir, 'results.csv')];
    // Held (test/support/hold.mjs) while rexnet_130 reads its checkpoint: rexnet_100 is done and its
    // crops are in the group's temporary crop cache.
    const live = startZoo(args, 60_000, { ...env(), ...hold('read:rexnet_130.nav_in1k') });
    await until(() => live.stderr().includes('zoo-test: holding'), live, 'it read rexnet_130\'s checkpoint');
    live.child.kill('SIGINT');
    await until(() => live.stderr().includes('SIGINT: stopping'), live, 'it took the first SIGINT');
    live.child.kill('SIGINT'); // the held read never ends: the second signal exits at once
    const stopped = await live.done;
    expect(stopped.code, stopped.stderr).toBe(130);
    // The second signal exited at once: the temporary crop cache went with the process.
    expect(stopped.stderr).toMatch(/share their crops: decoded once into .*sweep-crops/);
    expect(await readdir(join(cache, 'sweep-crops'))).toEqual([]);
    const firstJson = await readFile(join(runDir, 'rexnet_100.nav_in1k.json'), 'utf8');
    const resumed = await runZoo([...args, '--resume'], { env: env() });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('rexnet_100.nav_in1k (finished earlier: not run again)');
    expect(await readFile(join(runDir, 'rexnet_100.nav_in1k.json'), 'utf8')).toBe(firstJson);
    for (const tag of ['rexnet_100.nav_in1k', 'rexnet_130.nav_in1k', 'rexnetr_200.sw_in12k_ft_in1k']) {
      const a = JSON.parse(await readFile(join(runDir, `${tag}.json`), 'utf8')) as Record<string, unknown>;
      const b = JSON.parse(await readFile(join(ref, `${tag}.json`), 'utf8')) as Record<string, unknown>;
      const { weights: _wa, identity: _ia, ...na } = numbers(a);
      const { weights: _wb, identity: _ib, ...nb } = numbers(b);
      expect(na).toEqual(nb);
    }
    // The results file: every row once, as the uninterrupted sweep's (images/s aside).
    const rows = async (f: string) => (await readFile(f, 'utf8')).trim().split('\n').map((l) => l.split(',').filter((_, i) => i !== 13));
    expect(await rows(join(runDir, 'results.csv'))).toEqual(await rows(join(ref, 'results.csv')));
  });
});
