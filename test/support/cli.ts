/**
 * Process-level helpers: run the built CLI (`node bin/zoo.js`, after `npm run build`) as a user
 * would, build recipe checkpoints as real .safetensors files, make temporary val folders, and the
 * `zoo logits` parity check family tests reuse.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNpy, parseNpy } from '../../src/data/npy.js';
import type { HostTensor } from '../../src/models/graph.js';
import { encodeSafetensors } from '../../src/models/weights/safetensors.js';
import { VAL_227, wnidOf } from './fixtures.js';
import { compareLogits, goldenManifest, readGolden, recipeCheckpoint } from './golden.js';

export { VAL_227 };

export const ROOT = join(import.meta.dirname, '..', '..');
export const ZOO_BIN = join(ROOT, 'bin', 'zoo.js');

/**
 * The working directory zoo processes start in unless a test names one: a fresh temporary folder per
 * test worker, never the checkout. zoo writes defaults relative to it (./zoo-eval.state.json and its
 * lock), so test files running in parallel from the checkout would share one state file, and its lock
 * would refuse whichever came second; the suite must also leave the checkout as it found it.
 */
export const RUN_DIR = mkdtempSync(join(tmpdir(), 'zoo-test-cwd-'));

export interface ZooRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ZooRunOptions {
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Another zoo launcher to run (a copy of the package laid out differently); default bin/zoo.js. */
  bin?: string;
}

function assertBuilt(): void {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/cli/main.js is missing: run `npm run build` first (`npm test` does)');
  }
}

/** Runs `node bin/zoo.js ...args` to completion, stdout/stderr captured, never a TTY. */
export function runZoo(args: readonly string[], opts: ZooRunOptions = {}): Promise<ZooRun> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [opts.bin ?? ZOO_BIN, ...args], {
      cwd: opts.cwd ?? RUN_DIR,
      env: { ...process.env, ZOO_CACHE: process.env.ZOO_CACHE ?? join(tmpdir(), 'zoo-test-cache-empty'), ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A fresh temporary directory; remove it with `rm(dir, { recursive: true, force: true })`. */
export function tempDir(prefix = 'zoo-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/**
 * The golden model's full upstream state_dict (WEIGHTS.md recipe) written as a .safetensors file in
 * `dir`, once: a later call with the same dir reuses the file. `weights` is the recipe checkpoint when
 * the caller has already built it (recipeCheckpoint(key)), so it is not built twice.
 */
export async function writeRecipeCheckpoint(key: string, dir: string, weights?: ReadonlyMap<string, HostTensor>): Promise<string> {
  const file = join(dir, `${key.replace('/', '__')}.recipe.safetensors`);
  if (!existsSync(file)) await writeFile(file, encodeSafetensors(weights ?? recipeCheckpoint(key)));
  return file;
}

export interface ZooLogits {
  run: ZooRun;
  /** The [N, classes] logits `zoo logits` wrote, or null when it did not exit 0 (see `failure`). */
  logits: Float32Array | null;
  failure: string | null;
}

export interface LogitsOptions {
  /** What to name on the command line; default: the golden key itself (the registry resolves it). */
  model?: string;
  /** Kill the process after this long (default runZoo's 120 s); the big models need more. */
  timeoutMs?: number;
}

/**
 * `zoo logits <model> --weights <weights> --input <dir>/<input>.npy --output ...` as a process, on the
 * golden input `input` (a_224 or b_239) of `key`; returns what it wrote.
 */
export async function zooLogits(key: string, input: string, weights: string, dir: string, opts: LogitsOptions = {}): Promise<ZooLogits> {
  const x = join(dir, `${input}.npy`);
  const y = join(dir, `${key.replace('/', '__')}.${input}.out.npy`);
  if (!existsSync(x)) await writeFile(x, encodeNpy(readGolden(key, input).input));
  const run = await runZoo(['logits', opts.model ?? key, '--weights', weights, '--input', x, '--output', y, '--quiet'], {
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  });
  if (run.code !== 0) {
    const how = run.signal ? `was killed by ${run.signal}` : `exited ${run.code}`;
    return { run, logits: null, failure: `zoo logits ${how}: ${run.stderr.trim()}` };
  }
  const out = parseNpy(await readFile(y), y);
  await rm(y, { force: true });
  return { run, logits: out.data, failure: null };
}

export interface ParityOutcome {
  /** compareLogits' verdict: null when within golden/README.md's tolerance. */
  mismatch: string | null;
  run: ZooRun;
}

/**
 * The real path of the model-parity link: recipe checkpoint as .safetensors -> `--weights` ->
 * `zoo logits` -> .npy -> compareLogits against the reference logits of `input` (a_224 or b_239).
 * With `dir`, the checkpoint is written there once and kept; without, a temp dir is made and removed.
 */
export async function logitsParity(key: string, input: string, opts: LogitsOptions & { dir?: string } = {}): Promise<ParityOutcome> {
  const dir = opts.dir ?? (await tempDir('zoo-parity-'));
  try {
    const weights = await writeRecipeCheckpoint(key, dir);
    const { run, logits, failure } = await zooLogits(key, input, weights, dir, opts);
    if (!logits) return { mismatch: failure, run };
    const margins = goldenManifest()[key]!.outputs[input]!.margin_top1_top2;
    return { mismatch: compareLogits(logits, readGolden(key, input).logits, margins), run };
  } finally {
    if (!opts.dir) await rm(dir, { recursive: true, force: true });
  }
}

export interface KeyParity {
  /** The inputs that ran: every output the manifest has for the key, in its order. */
  inputs: string[];
  /** compareLogits' verdict (or the process failure) by input, for the inputs that failed. */
  failures: Record<string, string>;
}

/**
 * Model parity of one golden key through the real path, on every input of its manifest entry: the
 * recipe checkpoint is written once to a temp dir (removed afterwards), then one `zoo logits`
 * process per input. `weights` passes an already built recipeCheckpoint(key).
 */
export async function keyParity(key: string, opts: LogitsOptions & { weights?: ReadonlyMap<string, HostTensor> } = {}): Promise<KeyParity> {
  const dir = await tempDir('zoo-parity-');
  try {
    await writeRecipeCheckpoint(key, dir, opts.weights);
    const result: KeyParity = { inputs: [], failures: {} };
    for (const input of Object.keys(goldenManifest()[key]!.outputs)) {
      const { mismatch } = await logitsParity(key, input, { ...opts, dir });
      result.inputs.push(input);
      if (mismatch !== null) result.failures[input] = mismatch;
    }
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The first `n` val-227 images (sorted by name: val order). */
export async function val227Files(n: number): Promise<string[]> {
  const names = (await readdir(VAL_227)).filter((f) => f.endsWith('.JPEG')).sort();
  return names.slice(0, n);
}

/** A flat folder `<dir>/ILSVRC2012_val_*.JPEG` holding copies of `names` from val-227. */
export async function makeFlatFolder(dir: string, names: readonly string[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  await Promise.all(names.map((n) => copyFile(join(VAL_227, n), join(dir, n))));
  return dir;
}

/** An ImageFolder tree `<dir>/<wnid>/<name>` of `names`, classes from the val ground truth. */
export async function makeImageFolder(dir: string, names: readonly string[]): Promise<string> {
  for (const n of names) {
    await mkdir(join(dir, wnidOf(n)), { recursive: true });
    await copyFile(join(VAL_227, n), join(dir, wnidOf(n), n));
  }
  return dir;
}

export interface PredictionRow {
  file: string;
  label: number;
  top5: number[];
  margin: number;
}

export async function readPredictions(file: string): Promise<PredictionRow[]> {
  const lines = (await readFile(file, 'utf8')).trim().split('\n');
  const header = lines[0]!.split(',');
  if (header.slice(0, 7).join(',') !== 'file,label,top1,top2,top3,top4,top5') throw new Error(`bad header ${lines[0]}`);
  return lines.slice(1).map((l) => {
    const f = l.split(',');
    return { file: f[0]!, label: Number(f[1]), top5: f.slice(2, 7).map(Number), margin: Number(f[7]) };
  });
}
