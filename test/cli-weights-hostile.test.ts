/**
 * Hostile `--weights`, through the CLI as a process (issue 9 items 7, 8, 13):
 *
 * - zip bombs: a 4 MB `.pth` whose deflated storage entry declares 0xFFFFFFFE bytes, and a
 *   deflated `data.pkl` declaring 1.5 GB; both must be refused before anything is inflated. The
 *   child's peak RSS is measured (a preload module records process.resourceUsage().maxRSS at exit).
 * - files that are not regular files: a FIFO (nobody writes it), /dev/zero, a directory: one line,
 *   exit 4, and the process ends (the early weights hash used to read them forever).
 * - pickles nested 5,000 deep: in a dict key, in a storage's persistent id (zip layout), in the
 *   legacy layout's protocol number, and a deep chain built by appending into lists after they were
 *   nested (which no depth count at construction sees): one line, exit 4, no stack overflow.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateRawSync, constants as zlib } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEGACY_MAGIC } from '../src/models/weights/format.js';
import { makeFlatFolder, runZoo, tempDir, val227Files, type ZooRun } from './support/cli.js';
import { pickle, torchStateDict } from './support/pickle-writer.js';
import { zipArchive } from './support/zip-writer.js';

let dir: string;
let flat: string;
/** A preload that appends the process's peak RSS (KiB) to $ZOO_TEST_RSS_FILE when it exits. */
let preload: string;

beforeAll(async () => {
  dir = await tempDir('zoo-cli-weights-hostile-');
  flat = await makeFlatFolder(join(dir, 'flat'), await val227Files(1));
  preload = join(dir, 'peak-rss.mjs');
  await writeFile(
    preload,
    "import { appendFileSync } from 'node:fs';\n" +
      "process.on('exit', () => appendFileSync(process.env.ZOO_TEST_RSS_FILE, `${process.resourceUsage().maxRSS}\\n`));\n",
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let runs = 0;
// Each run's state in the temp folder: the default (./zoo-eval.state.json in the checkout) is shared and locked.
const evalWith = (weights: string, env: Record<string, string> = {}): Promise<ZooRun> =>
  runZoo(['eval', 'rexnet_100', '--weights', weights, '--data', flat, '--threads', '1', '--workers', '1', '--state', join(dir, `run-${++runs}.state.json`)], {
    env,
    timeoutMs: 120_000,
  });

/** The run failed with exit 4 and one line naming the file, no stack trace. */
function expectWeightsError(r: ZooRun, file: string, message: RegExp): void {
  expect(r.code, r.stderr).toBe(4);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toMatch(/RangeError|Maximum call stack/);
  const line = r.stderr.trim().split('\n').at(-1)!;
  expect(line.startsWith(`zoo: ${file}: `), line).toBe(true);
  expect(line).toMatch(message);
}

// ---- zip bombs -----------------------------------------------------------------------------------

/**
 * `bytes` of deflate stream that inflates to about 1032x as many zeros: 1 MiB of zeros deflated
 * with a full flush (self-contained, byte-aligned, not final) repeated, then an empty final block.
 */
function zeroBomb(bytes: number): Buffer {
  const chunk = deflateRawSync(Buffer.alloc(1 << 20), { level: 9, finishFlush: zlib.Z_FULL_FLUSH });
  const parts: Buffer[] = [];
  for (let n = 0; n + chunk.length <= bytes; n += chunk.length) parts.push(chunk);
  parts.push(deflateRawSync(Buffer.alloc(0)));
  return Buffer.concat(parts);
}

/** A torch state dict pickle with one float tensor `w` of `numel` elements over storage '0'. */
function statePickle(numel: number): Buffer {
  const state = new Map([['w', { dtype: 'float32' as const, shape: [numel], data: new Float32Array(numel) }]]);
  return pickle(torchStateDict(state, new Map()));
}

/** Runs `zoo eval --weights file` and returns it with the child's peak RSS in MB. */
async function evalMeasured(file: string): Promise<{ run: ZooRun; peakMB: number }> {
  const rssFile = `${file}.rss`;
  const run = await evalWith(file, { NODE_OPTIONS: `--import=${preload}`, ZOO_TEST_RSS_FILE: rssFile });
  expect(existsSync(rssFile), `no peak RSS recorded: ${run.stderr}`).toBe(true);
  const peaks = readFileSync(rssFile, 'utf8').trim().split('\n').map(Number);
  return { run, peakMB: Math.max(...peaks) / 1024 };
}

describe('zip bombs are refused before inflating (issue 9.7)', () => {
  it('a 4 MB .pth whose deflated storage declares 0xFFFFFFFE bytes: exit 4, peak RSS under 1 GB', async () => {
    const file = join(dir, 'bomb-storage.pth');
    const bomb = zeroBomb(4 << 20);
    const pkl = statePickle(1 << 20); // the pickle says storage 0 holds 4 MiB
    await writeFile(
      file,
      zipArchive([
        { name: 'bomb/data.pkl', data: pkl, method: 'store' },
        { name: 'bomb/data/0', data: Buffer.alloc(0), deflated: bomb, declaredSize: 0xfffffffe },
      ]),
    );
    expect(readFileSync(file).length).toBeGreaterThan(4_000_000);
    const { run, peakMB } = await evalMeasured(file);
    console.log(`storage zip bomb: child peak RSS ${peakMB.toFixed(0)} MB`);
    expect(peakMB).toBeLessThan(1024);
    expectWeightsError(run, file, /bomb\/data\/0 declares 4294967294 bytes, .*zip bomb/);
  }, 180_000);

  it('a 1.5 MB .pth whose deflated data.pkl declares 1.5 GB: exit 4, peak RSS under 1 GB', async () => {
    const file = join(dir, 'bomb-pickle.pth');
    const bomb = zeroBomb(1_500_000);
    await writeFile(file, zipArchive([{ name: 'bomb/data.pkl', data: Buffer.alloc(0), deflated: bomb, declaredSize: 1_500_000_000 }]));
    const { run, peakMB } = await evalMeasured(file);
    console.log(`data.pkl zip bomb: child peak RSS ${peakMB.toFixed(0)} MB`);
    expect(peakMB).toBeLessThan(1024);
    expectWeightsError(run, file, /bomb\/data\.pkl declares 1500000000 bytes, more than a \d+-byte archive may inflate to/);
  }, 180_000);
});

// ---- not regular files -----------------------------------------------------------------------------

describe('--weights must be a regular file (issue 9.8)', () => {
  it('a FIFO nobody writes: one line, exit 4, and the process exits', async () => {
    const fifo = join(dir, 'weights.fifo');
    execFileSync('mkfifo', [fifo]);
    const r = await evalWith(fifo);
    expect(r.signal, 'the run hung and was killed').toBeNull();
    expectWeightsError(r, fifo, /a named pipe \(FIFO\), not a checkpoint file/);
  }, 180_000);

  it('/dev/zero: one line, exit 4, and the process exits', async () => {
    const r = await evalWith('/dev/zero');
    expect(r.signal, 'the run hung and was killed').toBeNull();
    expectWeightsError(r, '/dev/zero', /a character device, not a checkpoint file/);
  }, 180_000);

  it('a directory is said to be one, not "not found"', async () => {
    const folder = join(dir, 'weights-folder');
    await mkdir(folder, { recursive: true });
    const r = await evalWith(folder);
    expectWeightsError(r, folder, /a directory, not a checkpoint file.*pass the checkpoint file inside it/);
    expect(r.stderr).not.toMatch(/not found/);
  }, 180_000);
});

// ---- deep pickles -----------------------------------------------------------------------------------

const DEPTH = 5000;
const PROTO2 = [0x80, 0x02];
const NONE = 0x4e;
const TUPLE1 = 0x85;
const STOP = 0x2e;
/** (((None,),),...) nested DEPTH deep, as pickle opcodes. */
const deepTuple = () => [NONE, ...new Array<number>(DEPTH).fill(TUPLE1)];

function longBinput(i: number): number[] {
  return [0x72, i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff, (i >> 24) & 0xff];
}
function longBinget(i: number): number[] {
  return [0x6a, i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff, (i >> 24) & 0xff];
}

describe('deeply nested pickles (issue 9.13)', () => {
  it('a dict key nested 5,000 deep (.pdparams pickle): one line, exit 4', async () => {
    const file = join(dir, 'deep-key.pdparams');
    // {deep: 1}
    await writeFile(file, Buffer.from([...PROTO2, 0x7d, ...deepTuple(), 0x4b, 1, 0x73, STOP]));
    expectWeightsError(await evalWith(file), file, /containers nested more than \d+ deep/);
  }, 180_000);

  it('a storage persistent id nested 5,000 deep (zip layout): one line, exit 4', async () => {
    const file = join(dir, 'deep-pid.pth');
    // {'w': persistent_load((deep, None, None, None, None))}
    const pkl = Buffer.from([...PROTO2, 0x7d, 0x8c, 1, 0x77, 0x28, ...deepTuple(), NONE, NONE, NONE, NONE, 0x74, 0x51, 0x73, STOP]);
    await writeFile(file, zipArchive([{ name: 'deep/data.pkl', data: pkl, method: 'store' }]));
    expectWeightsError(await evalWith(file), file, /containers nested more than \d+ deep/);
  }, 180_000);

  it('a legacy checkpoint whose protocol number is nested 5,000 deep: one line, exit 4', async () => {
    const file = join(dir, 'deep-legacy.pth');
    await writeFile(file, Buffer.concat([Buffer.from(LEGACY_MAGIC), Buffer.from([...PROTO2, ...deepTuple(), STOP])]));
    expectWeightsError(await evalWith(file), file, /containers nested more than \d+ deep/);
  }, 180_000);

  it('lists nested 5,000 deep by appending after nesting (no count at construction sees it): the message stays bounded', async () => {
    const file = join(dir, 'deep-appends.pdparams');
    const ops: number[] = [...PROTO2];
    for (let i = 0; i < DEPTH; i++) ops.push(0x5d, ...longBinput(i), 0x30); // list i, memoised, popped
    for (let i = 0; i + 1 < DEPTH; i++) ops.push(...longBinget(i), ...longBinget(i + 1), 0x61, 0x30); // list i .append(list i+1)
    ops.push(0x7d, ...longBinget(0), 0x4b, 1, 0x73, STOP); // {list 0: 1}
    await writeFile(file, Buffer.from(ops));
    expectWeightsError(await evalWith(file), file, /no state dict found in the checkpoint \(top-level keys: \[\[\[\.\.\.\]\]\]\)/);
  }, 180_000);
});
