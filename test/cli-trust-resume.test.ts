/**
 * Interruption through the real CLI: a run stopped by SIGINT or SIGTERM (partial result, state, exit 130) or
 * killed by SIGKILL at a random batch, then continued with --resume, ends with exactly the counts and
 * per-image predictions of an uninterrupted run. A resume with a different command line is refused.
 */
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/errors.js';
import { makeFlatFolder, readPredictions, runZoo, tempDir, val227Files, writeRecipeCheckpoint, type PredictionRow } from './support/cli.js';
import { evalArgs, readJson, sleep, startZoo, type ResultJson } from './support/trust.js';

const N = 48;
const BATCH = 4;
let dir: string;
let flat: string;
let weights: string;
let reference: { json: ResultJson; rows: PredictionRow[] };

const args = (json: string, preds: string, extra: string[] = []) =>
  evalArgs(flat, weights, ['--batch-size', String(BATCH), '--json', json, '--predictions', preds, ...extra]);

beforeAll(async () => {
  dir = await tempDir('zoo-trust-resume-');
  flat = await makeFlatFolder(join(dir, 'flat'), await val227Files(N));
  weights = await writeRecipeCheckpoint('rexnet_100', dir);
  const run = await runZoo(args(join(dir, 'ref.json'), join(dir, 'ref.csv')), { timeoutMs: 60_000 });
  expect(run.code, run.stderr).toBe(0);
  reference = { json: await readJson(join(dir, 'ref.json')), rows: await readPredictions(join(dir, 'ref.csv')) };
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface StateFile {
  next: number;
  identity: { samples: number };
}

/** Polls the state file until it says at least `target` images are done; returns what it last read. */
async function waitForState(file: string, target: number, alive: () => boolean): Promise<number> {
  let next = -1;
  while (alive()) {
    try {
      next = (JSON.parse(await readFile(file, 'utf8')) as StateFile).next;
      if (next >= target) return next;
    } catch {
      // not written yet (a torn file is impossible: the writer renames)
    }
    await sleep(5);
  }
  throw new Error(`the run ended before its state reached ${target} images (last ${next})`);
}

function expectSameAsReference(json: ResultJson, rows: PredictionRow[]): void {
  expect(json.images).toBe(N);
  expect([json.top1_correct, json.top5_correct]).toEqual([reference.json.top1_correct, reference.json.top5_correct]);
  expect(json.metrics_state).toEqual(reference.json.metrics_state);
  expect(json.per_class).toEqual(reference.json.per_class);
  expect(rows.map((r) => r.file)).toEqual(reference.rows.map((r) => r.file));
  // The same batches (resume restarts at a batch boundary) through the same engine: identical rows.
  expect(rows).toEqual(reference.rows);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
  describe(`a run stopped by ${signal} at a random batch`, () => {
    it('resumes to exactly the numbers and predictions of an uninterrupted run', async () => {
      // A random batch in the first third, so the run cannot finish before the signal lands.
      const target = BATCH * (1 + Math.floor(Math.random() * Math.floor(N / BATCH / 3)));
      const json = join(dir, `${signal}.json`);
      const preds = join(dir, `${signal}.csv`);
      const stateFile = join(dir, `${signal}.state.json`);
      const live = startZoo(args(json, preds));
      let exited = false;
      void live.done.then(() => (exited = true));
      const seen = await waitForState(stateFile, target, () => !exited);
      live.child.kill(signal);
      const run = await live.done;

      const state = JSON.parse(await readFile(stateFile, 'utf8')) as StateFile;
      expect(state.identity.samples).toBe(N);
      // Never behind what was already saved; the run was really cut short.
      expect(state.next).toBeGreaterThanOrEqual(seen);
      expect(state.next).toBeLessThan(N);
      expect(state.next % BATCH).toBe(0);
      if (signal !== 'SIGKILL') {
        expect(run.code, `target ${target}: ${run.stderr}`).toBe(ExitCode.INTERRUPTED);
        expect(run.stderr).toMatch(new RegExp(`interrupted \\(${signal}\\) after \\d+ of ${N} images; state saved to .*${signal}\\.state\\.json`));
        expect(run.stderr).toMatch(/run the same command with --resume/);
        // The partial result, marked as such, and never mistaken for a comparable one.
        const partial = await readJson(json);
        expect(partial).toMatchObject({ interrupted: true, comparable: false, complete: false, images: state.next });
        expect(partial.verdict).toMatch(/^interrupted after \d+ images/);
        expect((await readPredictions(preds)).length).toBe(state.next);
      } else {
        expect(run.signal).toBe('SIGKILL');
        expect(existsSync(json)).toBe(false);
      }

      const resumed = await runZoo([...args(json, preds), '--resume'], { timeoutMs: 60_000 });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stderr).toMatch(new RegExp(`resuming at image ${state.next} of ${N}`));
      const final = await readJson(json);
      expect(final).toMatchObject({ interrupted: false, resumed: true, comparable: true });
      expectSameAsReference(final, await readPredictions(preds));
      // A finished run leaves no state behind.
      expect(existsSync(stateFile)).toBe(false);
    }, 90_000);
  });
}

describe('--resume safety', () => {
  it('refuses a state from a different command line and a missing one (usage errors), and a damaged state (data error)', async () => {
    const json = join(dir, 'mismatch.json');
    const preds = join(dir, 'mismatch.csv');
    const live = startZoo(args(json, preds));
    let exited = false;
    void live.done.then(() => (exited = true));
    await waitForState(join(dir, 'mismatch.state.json'), BATCH, () => !exited);
    live.child.kill('SIGKILL');
    await live.done;
    const other = await runZoo([...args(json, preds), '--limit', '20', '--resume'], { timeoutMs: 60_000 });
    expect(other.code).toBe(ExitCode.USAGE);
    expect(other.stderr).toMatch(/--resume: the state belongs to a different run \(selected images: 48 -> 20; selection: .*"limit":null.* -> .*"limit":20/);
    const crop = await runZoo([...args(json, preds), '--crop-pct', '0.95', '--resume'], { timeoutMs: 60_000 });
    expect(crop.code).toBe(ExitCode.USAGE);
    expect(crop.stderr).toMatch(/eval config: .*"cropPct":0\.875.* -> .*"cropPct":0\.95/);
    // A state whose counts do not add up (edited, or from a buggy writer) is refused, not trusted.
    const stateFile = join(dir, 'mismatch.state.json');
    const state = JSON.parse(await readFile(stateFile, 'utf8')) as StateFile;
    await writeFile(stateFile, JSON.stringify({ ...state, next: state.next + BATCH }));
    const damaged = await runZoo([...args(json, preds), '--resume'], { timeoutMs: 60_000 });
    expect(damaged.code).toBe(ExitCode.DATA); // the file's content is at fault (issue 9.5)
    expect(damaged.stderr).toMatch(/--resume: the state file is inconsistent \(next \d+, \d+ evaluated and 0 skipped do not add up\)/);
    const none = await runZoo([...args(join(dir, 'none.json'), preds), '--resume'], { timeoutMs: 60_000 });
    expect(none.code).toBe(ExitCode.USAGE);
    expect(none.stderr).toMatch(/none\.state\.json: --resume: no state file \(ENOENT\)/);
  }, 60_000);
});
