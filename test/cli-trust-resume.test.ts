/**
 * Interruption through the real CLI: a run stopped by SIGINT or SIGTERM (partial result, state, exit 130) or
 * killed by SIGKILL at a seeded pseudo-random batch, then continued with --resume, ends with exactly the counts and
 * per-image predictions of an uninterrupted run. A resume with a different command line is refused.
 *
 * Deterministic whatever the machine's speed (issue 9.17): the interrupted run cannot finish, nor get past
 * a seeded pseudo-random image F, before the test signals it. F is a symlink the test points at a FIFO (a "gate": its
 * reader blocks until the test writes the image into it). The swap must come after the data was
 * discovered (a FIFO is not an image there) and before F is read, and the weights download orders it:
 * the run takes its weights from a Hugging Face stand-in on 127.0.0.1 that holds the download until the
 * test has swapped F; until the model is loaded the loader reads at most its first prefetch + 1 = 3
 * batches, which F lies beyond. The gate is opened only after the run has said it got the signal.
 */
import { closeSync, constants, existsSync, openSync, writeSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/errors.js';
import { makeFlatFolder, readPredictions, runZoo, tempDir, VAL_227, val227Files, writeRecipeCheckpoint, type PredictionRow } from './support/cli.js';
import { mulberry32 } from './support/random.js';
import { readJson, sleep, startZoo, type LiveZoo, type ResultJson } from './support/trust.js';

const N = 48;
const BATCH = 4;
/** The loader prepares prefetch + 1 = 3 batches before the model takes the first: images 0..11. */
const READ_BEFORE_MODEL = 3 * BATCH;
const WEIGHTS_PATH = '/timm/rexnet_100.nav_in1k/resolve/main/model.safetensors';
let dir: string;
let names: string[];
let flat: string;
let weights: string;
let checkpoint: Buffer;
let server: Server;
let endpoint: string;
/** The stand-in's next download: said to the test when it arrives, answered once `held` resolves. */
let download: { arrived: () => void; held: Promise<void> } | undefined;
let reference: { json: ResultJson; rows: PredictionRow[] };

/** eval's command line for this file (a gated run takes its weights from the stand-in instead of --weights). */
const evalCmd = (data: string, json: string, preds: string, extra: string[] = []) => [
  'eval', 'rexnet_100', '--data', data, '--threads', '1', '--workers', '1', '--quiet', '--batch-size', String(BATCH),
  // A gated image may wait a while for the test on a busy machine: never let the per-image timeout end it.
  '--image-timeout', '600', '--json', json, '--predictions', preds, ...extra,
];

beforeAll(async () => {
  dir = await tempDir('zoo-trust-resume-');
  names = await val227Files(N);
  flat = await makeFlatFolder(join(dir, 'flat'), names);
  weights = await writeRecipeCheckpoint('rexnet_100', dir);
  checkpoint = await readFile(weights);
  server = createServer((req, res) => {
    if (req.url !== WEIGHTS_PATH) {
      res.writeHead(404).end();
      return;
    }
    const d = download;
    d?.arrived();
    void (d?.held ?? Promise.resolve()).then(() => res.writeHead(200, { 'content-length': String(checkpoint.length) }).end(checkpoint));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const run = await runZoo([...evalCmd(flat, join(dir, 'ref.json'), join(dir, 'ref.csv')), '--weights', weights], { timeoutMs: 60_000 });
  expect(run.code, run.stderr).toBe(0);
  reference = { json: await readJson(join(dir, 'ref.json')), rows: await readPredictions(join(dir, 'ref.csv')) };
}, 60_000);
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

/** A run whose image `gated` blocks its reader until the test opens the gate. */
interface GatedRun {
  live: LiveZoo;
  folder: string;
  env: Record<string, string>;
  exited: () => boolean;
  /** Writes the image into the gate once a reader waits on it (or gives up when the run has exited). */
  open(): Promise<void>;
  /** Points the image back at the real file, for the resume. */
  restore(): Promise<void>;
}

async function gatedRun(name: string, gated: number, json: string, preds: string): Promise<GatedRun> {
  expect(gated).toBeGreaterThanOrEqual(READ_BEFORE_MODEL);
  const folder = await makeFlatFolder(join(dir, name), names.filter((_, i) => i !== gated));
  const side = join(dir, `${name}-side`);
  await mkdir(side);
  const real = join(side, names[gated]!);
  await copyFile(join(VAL_227, names[gated]!), real);
  const image = join(folder, names[gated]!);
  await symlink(real, image);
  const pointAt = async (target: string) => {
    const link = join(side, 'next-link');
    await symlink(target, link);
    await rename(link, image); // atomic: a reader sees the old target or the new one
  };
  const env = { ZOO_HF_ENDPOINT: endpoint, ZOO_CACHE: join(dir, `${name}-cache`) };

  let arrived!: () => void;
  const requested = new Promise<void>((resolve) => (arrived = resolve));
  let release!: () => void;
  download = { arrived, held: new Promise<void>((resolve) => (release = resolve)) };
  const live = startZoo(evalCmd(folder, json, preds), 60_000, env);
  let exited = false;
  void live.done.then(() => (exited = true));
  await Promise.race([requested, live.done]);
  expect(exited, `the run ended before downloading its weights: ${live.stderr()}`).toBe(false);
  // The data is discovered, the model not loaded: F has not been read. Now it blocks its reader.
  const fifo = join(side, 'gate.fifo');
  execFileSync('mkfifo', [fifo]);
  await pointAt(fifo);
  release();
  download = undefined;

  return {
    live,
    folder,
    env,
    exited: () => exited,
    open: async () => {
      const bytes = await readFile(real);
      while (!exited) {
        let fd: number;
        try {
          fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK); // ENXIO while no reader waits
        } catch {
          await sleep(5);
          continue;
        }
        writeSync(fd, bytes); // a val-227 JPEG fits the pipe buffer
        closeSync(fd);
        return;
      }
    },
    restore: () => pointAt(real),
  };
}

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

// Seeded, so a failure names a gate that reproduces: each signal gets its own fixed pseudo-random position.
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGKILL'] as const;
for (const [k, signal] of SIGNALS.entries()) {
  describe(`a run stopped by ${signal} at a seeded pseudo-random batch`, () => {
    it('resumes to exactly the numbers and predictions of an uninterrupted run', async () => {
      // The gate: a random image past what the loader reads before the model loads, within the first half.
      // (One batch of margin past READ_BEFORE_MODEL, should the loader's default prefetch grow by one.)
      const gated = READ_BEFORE_MODEL + BATCH + Math.floor(mulberry32(9017 + k)() * (N / 2 - READ_BEFORE_MODEL - BATCH));
      const json = join(dir, `${signal}.json`);
      const preds = join(dir, `${signal}.csv`);
      const stateFile = join(dir, `${signal}.state.json`);
      const run = await gatedRun(`flat-${signal}`, gated, json, preds);
      // The first batch's state is always written, and the run cannot pass the gate.
      const seen = await waitForState(stateFile, BATCH, () => !run.exited());
      run.live.child.kill(signal);
      if (signal !== 'SIGKILL') {
        // Opening the gate before the run has the signal would let it run on.
        while (!run.exited() && !run.live.stderr().includes(signal)) await sleep(5);
        await run.open();
      }
      const ended = await run.live.done;

      const state = JSON.parse(await readFile(stateFile, 'utf8')) as StateFile;
      expect(state.identity.samples).toBe(N);
      // Never behind what was already saved; the run was really cut short, at the gate's batch at the latest.
      expect(state.next).toBeGreaterThanOrEqual(seen);
      expect(state.next).toBeLessThanOrEqual((Math.floor(gated / BATCH) + 1) * BATCH);
      expect(state.next % BATCH).toBe(0);
      if (signal !== 'SIGKILL') {
        expect(ended.code, `gate at ${gated}: ${ended.stderr}`).toBe(ExitCode.INTERRUPTED);
        expect(ended.stderr).toMatch(new RegExp(`interrupted \\(${signal}\\) after \\d+ of ${N} images; state saved to .*${signal}\\.state\\.json`));
        expect(ended.stderr).toMatch(/run the same command with --resume/);
        // The partial result, marked as such, and never mistaken for a comparable one.
        const partial = await readJson(json);
        expect(partial).toMatchObject({ interrupted: true, comparable: false, complete: false, images: state.next });
        expect(partial.verdict).toMatch(/^interrupted after \d+ images/);
        expect((await readPredictions(preds)).length).toBe(state.next);
      } else {
        expect(ended.signal).toBe('SIGKILL');
        expect(existsSync(json)).toBe(false);
      }

      await run.restore();
      const resumed = await runZoo([...evalCmd(run.folder, json, preds), '--resume'], { env: run.env, timeoutMs: 60_000 });
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
    // Killed behind a gate that is never opened: the run cannot have finished first.
    const run = await gatedRun('flat-mismatch', READ_BEFORE_MODEL + BATCH, json, preds);
    await waitForState(join(dir, 'mismatch.state.json'), BATCH, () => !run.exited());
    run.live.child.kill('SIGKILL');
    await run.live.done;
    await run.restore();
    const again = (extra: string[], j = json) => evalCmd(run.folder, j, preds, extra);
    const opts = { env: run.env, timeoutMs: 60_000 };
    const other = await runZoo([...again(['--limit', '20']), '--resume'], opts);
    expect(other.code).toBe(ExitCode.USAGE);
    expect(other.stderr).toMatch(/--resume: the state belongs to a different run \(selected images: 48 -> 20; selection: .*"limit":null.* -> .*"limit":20/);
    const crop = await runZoo([...again(['--crop-pct', '0.95']), '--resume'], opts);
    expect(crop.code).toBe(ExitCode.USAGE);
    expect(crop.stderr).toMatch(/eval config: .*"crop_pct":0\.875.* -> .*"crop_pct":0\.95/);
    // A state whose counts do not add up (edited, or from a buggy writer) is refused, not trusted.
    const stateFile = join(dir, 'mismatch.state.json');
    const state = JSON.parse(await readFile(stateFile, 'utf8')) as StateFile;
    await writeFile(stateFile, JSON.stringify({ ...state, next: state.next + BATCH }));
    const damaged = await runZoo([...again([]), '--resume'], opts);
    expect(damaged.code).toBe(ExitCode.DATA); // the file's content is at fault (issue 9.5)
    expect(damaged.stderr).toMatch(/--resume: the state file is inconsistent \(next \d+, \d+ evaluated and 0 skipped do not add up\)/);
    const none = await runZoo([...again([], join(dir, 'none.json')), '--resume'], opts);
    expect(none.code).toBe(ExitCode.USAGE);
    expect(none.stderr).toMatch(/none\.state\.json: --resume: no state file \(ENOENT\)/);
  }, 60_000);
});
