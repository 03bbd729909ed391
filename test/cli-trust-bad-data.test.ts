/**
 * Bad and incomplete data through the real CLI. A corpus of broken files made here (truncated,
 * corrupt, zero-byte, not an image, a header claiming gigantic dimensions, unreadable permissions)
 * among real val JPEGs: by default the run stops at once with exit 3, one line naming a bad file and
 * the flag that skips it; with --on-error skip it finishes, lists exactly the bad files in the table
 * and the JSON, and marks the result not comparable. Incomplete data (a subset, duplicates) is a
 * loud warning and `complete: false`.
 */
import { copyFile, chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { constants, accessSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/errors.js';
import { makeFlatFolder, makeImageFolder, readPredictions, runZoo, tempDir, VAL_227, val227Files, writeRecipeCheckpoint } from './support/cli.js';
import { evalArgs, readJson } from './support/trust.js';

const N = 16;
let dir: string;
let weights: string;
let names: string[];
let corpus: string;
/** Files whose decode must fail, by kind. */
const bad = new Map<string, string>();
/** The chmod 000 file, and whether this process (root?) can still read it. */
let unreadable: string;
let unreadableIsReadable: boolean;

/** Rewrites the SOF marker's height and width: a 60000 x 60000 JPEG header on a small file. */
function hugeDimensions(jpeg: Buffer): Buffer {
  const b = Buffer.from(jpeg);
  for (let i = 2; i < b.length - 9; i++) {
    if (b[i] === 0xff && b[i + 1]! >= 0xc0 && b[i + 1]! <= 0xc2) {
      b.writeUInt16BE(60000, i + 5);
      b.writeUInt16BE(60000, i + 7);
      return b;
    }
  }
  throw new Error('no SOF marker');
}

/** Garbage over the quantisation/Huffman tables after the first 300 bytes: the decoder rejects the header. */
function corrupt(jpeg: Buffer): Buffer {
  const b = Buffer.from(jpeg);
  let x = 12345;
  for (let i = 300; i < b.length - 200; i += 7) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x & 0xff;
  }
  return b;
}

beforeAll(async () => {
  dir = await tempDir('zoo-trust-bad-');
  weights = await writeRecipeCheckpoint('rexnet_100', dir);
  names = await val227Files(N);
  corpus = await makeFlatFolder(join(dir, 'corpus'), names);
  // Broken copies under real val names (so they have labels), spread over both batches of 8.
  const src = (n: string) => readFile(join(VAL_227, n));
  const kinds: [number, string, (b: Buffer) => Buffer | string][] = [
    [2, 'truncated', (b) => b.subarray(0, Math.floor(b.length / 3))],
    [4, 'corrupt', corrupt],
    [6, 'zero-byte', () => Buffer.alloc(0)],
    [9, 'not an image', () => 'name,label\nthis is a CSV file, not a JPEG\n'],
    [12, 'huge dimensions', hugeDimensions],
  ];
  for (const [i, kind, make] of kinds) {
    await writeFile(join(corpus, names[i]!), make(await src(names[i]!)));
    bad.set(names[i]!, kind);
  }
  unreadable = names[14]!;
  await chmod(join(corpus, unreadable), 0o000);
  try {
    accessSync(join(corpus, unreadable), constants.R_OK);
    unreadableIsReadable = true; // root: permissions do not stop reads
  } catch {
    unreadableIsReadable = false;
    bad.set(unreadable, 'unreadable');
  }
}, 60_000);
afterAll(async () => {
  await chmod(join(corpus, unreadable), 0o644).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

describe('a corpus of broken files', () => {
  it('default --on-error stop: exit 3 at once, one line naming a bad file and --on-error skip', async () => {
    const run = await runZoo(evalArgs(corpus, weights, ['--batch-size', '8']), { timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(ExitCode.DATA);
    const errors = run.stderr.trim().split('\n').filter((l) => !l.startsWith('zoo: warning:'));
    expect(errors, run.stderr).toHaveLength(1);
    const line = errors[0]!;
    // One of the first batch's bad files (the first to fail in that batch), by path.
    const named = [...bad.keys()].filter((n) => line.includes(join(corpus, n)));
    expect(named, line).toHaveLength(1);
    expect(names.indexOf(named[0]!)).toBeLessThan(8);
    expect(line).toMatch(/pass --on-error skip to exclude it/);
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(run.stdout).toBe('');
  }, 60_000);

  it('--on-error skip: finishes, lists exactly the bad files, marks the result not comparable', async () => {
    const json = join(dir, 'skip.json');
    const preds = join(dir, 'skip.csv');
    const run = await runZoo(evalArgs(corpus, weights, ['--batch-size', '8', '--on-error', 'skip', '--json', json, '--predictions', preds]), {
      timeoutMs: 60_000,
    });
    expect(run.code, run.stderr).toBe(ExitCode.OK);
    const result = await readJson(json);
    expect(result.skipped.map((s) => s.file).sort()).toEqual([...bad.keys()].sort());
    const why = Object.fromEntries(result.skipped.map((s) => [s.file, s.error]));
    expect(why[names[2]!]).toMatch(/premature end|truncated/i);
    expect(why[names[6]!]).toMatch(/empty \(0 bytes\)/);
    expect(why[names[9]!]).toMatch(/unsupported image format|not a (JPEG|PNG)/i);
    expect(why[names[12]!]).toMatch(/larger than \d+ pixels.*decompression-bomb/);
    expect(why[names[4]!]).toMatch(/corrupt|huffman|bogus|decode/i);
    if (!unreadableIsReadable) expect(why[unreadable]).toMatch(/EACCES|permission/i);
    expect(result.images).toBe(N - bad.size);
    expect(result).toMatchObject({ comparable: false, complete: false, interrupted: false });
    expect(result.verdict).toMatch(/^done: /);
    // The table lists them and flags the comparison; stderr repeats the warning.
    for (const n of bad.keys()) expect(run.stdout).toContain(`  ${n}: `);
    expect(run.stdout).toMatch(new RegExp(`NOT COMPARABLE with published numbers: ${bad.size} image\\(s\\) were skipped`));
    expect(run.stdout).toMatch(/top-1\s+[\d.]+\s+\[[\d.]+, [\d.]+\]\s+77\.862/); // still compared, flagged
    expect(run.stderr).toMatch(new RegExp(`${bad.size} image\\(s\\) skipped \\(--on-error skip\\): the result is NOT comparable`));
    // Every good image was evaluated, in val order; the chmod 000 one too when running as root.
    const rows = await readPredictions(preds);
    expect(rows.map((r) => r.file)).toEqual(names.filter((n) => !bad.has(n)));
    if (unreadableIsReadable) expect(rows.map((r) => r.file)).toContain(unreadable);
  }, 60_000);
});

describe('stop, then --resume with --on-error skip', () => {
  it('continues after the last good batch and ends equal to a run that skipped from the start', async () => {
    const json = join(dir, 'cont.json');
    const preds = join(dir, 'cont.csv');
    const args = evalArgs(corpus, weights, ['--batch-size', '2', '--json', json, '--predictions', preds]);
    const stopped = await runZoo(args, { timeoutMs: 60_000 });
    expect(stopped.code, stopped.stderr).toBe(ExitCode.DATA);
    // Batch [0, 2) was fine, [2, 4) holds the truncated file: the state keeps the first batch.
    expect(stopped.stderr).toMatch(/add --resume \(after fixing it, or with --on-error skip\) to continue from image 2/);
    const resumed = await runZoo([...args, '--on-error', 'skip', '--resume'], { timeoutMs: 60_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming at image 2 of 16 \(2 evaluated, 0 skipped\)/);
    const direct = await runZoo(evalArgs(corpus, weights, ['--batch-size', '2', '--on-error', 'skip', '--json', join(dir, 'direct.json'), '--predictions', join(dir, 'direct.csv')]), {
      timeoutMs: 60_000,
    });
    expect(direct.code, direct.stderr).toBe(0);
    const [a, b] = [await readJson(json), await readJson(join(dir, 'direct.json'))];
    expect(a.skipped).toEqual(b.skipped);
    expect(a.metrics_state).toEqual(b.metrics_state);
    expect(await readPredictions(preds)).toEqual(await readPredictions(join(dir, 'direct.csv')));
    expect(a).toMatchObject({ resumed: true, comparable: false });
  }, 90_000);
});

describe('incomplete data', () => {
  it('duplicates and a partial val set: loud warnings, complete: false, not comparable', async () => {
    const tree = await makeImageFolder(join(dir, 'tree'), names.slice(0, 6));
    // The same image again under another class folder.
    const other = join(tree, 'n01440764');
    await mkdir(other, { recursive: true });
    await copyFile(join(VAL_227, names[0]!), join(other, names[0]!));
    const json = join(dir, 'dups.json');
    const run = await runZoo(evalArgs(tree, weights, ['--batch-size', '8', '--json', json]), { timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/zoo: warning: DUPLICATES: 1 image names occur more than once \(e\.g\. ILSVRC2012_val_\d+\.JPEG\)/);
    expect(run.stdout).toMatch(/incomplete data: .*INCOMPLETE: found 7 images, fewer than the 50000/);
    expect(run.stderr).not.toMatch(/INCOMPLETE/);
    const result = await readJson(json);
    expect(result.images).toBe(7);
    expect(result.complete).toBe(false);
    expect(result.data.complete).toBe(false);
    expect(result.comparable).toBe(false);
    expect(run.stdout).toMatch(/NOT COMPARABLE with published numbers: duplicate images are counted more than once/);
  }, 60_000);
});
