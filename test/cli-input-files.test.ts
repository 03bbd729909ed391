/**
 * Input files a user names (issue 9: never hang): a FIFO blocked the read forever (Node cannot exit
 * while a read is stuck), /dev/zero was read without end, a folder gave an errno. Each is refused
 * with one line naming the file and the fix and the input's documented exit code, through the real
 * CLI, with the embedded model and the built-in `sample` data (no weights to write). Without the fix
 * a FIFO run is killed at the timeout (code null), so these fail.
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runZoo, tempDir } from './support/cli.js';
import { LIST_MAX_BYTES } from '../src/io/input.js';

const MODEL = 'mobilenetv2-12-int8';
const MODEL_FILE = join(ROOT, 'assets', 'models', MODEL, 'model.onnx');
let dir: string;
let fifo: string;
let folder: string;

beforeAll(async () => {
  dir = await tempDir('zoo-input-files-');
  fifo = join(dir, 'pipe');
  const made = spawnSync('mkfifo', [fifo]);
  expect(made.status, String(made.stderr)).toBe(0);
  folder = join(dir, 'folder');
  await mkdir(folder);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const KIND = { fifo: /is a named pipe \(FIFO\), not a regular file; save the content to a regular file/, zero: /is a character device, not a regular file/, folder: /is a directory, not a regular file; name a file, not a folder/ };
type Kind = keyof typeof KIND;
const pathOf = (k: Kind) => (k === 'fifo' ? fifo : k === 'zero' ? '/dev/zero' : folder);

// [name, args for the input path, exit code, what the line calls it]
const CASES: [string, (p: string) => string[], number, string][] = [
  ['--baseline', (p) => ['eval', MODEL, '--data', 'sample', '--baseline', p], 2, '--baseline'],
  ['--baseline-predictions', (p) => ['eval', MODEL, '--data', 'sample', '--baseline-predictions', p], 2, '--baseline-predictions'],
  ['--labels', (p) => ['eval', MODEL, '--data', 'sample', '--labels', p], 3, '--labels'],
  ['--valid-labels', (p) => ['eval', MODEL, '--data', 'sample', '--valid-labels', p], 3, '--valid-labels'],
  ['--real-labels', (p) => ['eval', MODEL, '--data', 'sample', '--real-labels', p], 3, '--real-labels'],
  ['--class-map', (p) => ['eval', MODEL_FILE, '--data', 'sample', '--class-map', p], 3, '--class-map'],
  ['--models-file', (p) => ['eval', '--models-file', p, '--data', 'sample'], 2, '--models-file'],
  ['zoo merge', (p) => ['merge', p], 2, 'the result'],
  ['zoo compare', (p) => ['compare', p, p], 2, 'the baseline'],
  ['zoo report', (p) => ['report', p, '-o', join(dir, 'page.html')], 2, 'the result'],
];

describe('input files that are not regular files are refused, never read', () => {
  for (const [name, args, code, what] of CASES) {
    for (const kind of ['fifo', 'zero', 'folder'] as const) {
      // The one command per input that costs a process each; /dev/zero and a folder only for a few.
      if (kind !== 'fifo' && !['--baseline', '--labels', 'zoo merge'].includes(name)) continue;
      it(`${name} ${kind}`, async () => {
        const p = pathOf(kind);
        const run = await runZoo(args(p), { timeoutMs: 90_000 });
        expect(run.signal, `${name} ${kind} did not exit: ${run.stderr}`).toBeNull();
        expect(run.code, run.stderr).toBe(code);
        const lines = run.stderr.trim().split('\n');
        expect(lines.at(-1)).toContain(`zoo: ${p}: ${what} `);
        expect(lines.at(-1)).toMatch(KIND[kind]);
        expect(run.stderr).not.toMatch(/\n\s+at /); // no stack
      }, 120_000);
    }
  }

  it('a config.json beside a model file that is a FIFO: exit 4, one line', async () => {
    const m = join(dir, 'model');
    await mkdir(m);
    await copyFile(MODEL_FILE, join(m, 'model.onnx'));
    expect(spawnSync('mkfifo', [join(m, 'config.json')]).status).toBe(0);
    const run = await runZoo(['eval', join(m, 'model.onnx'), '--data', 'sample', '--limit', '2'], { timeoutMs: 90_000 });
    expect(run.signal, run.stderr).toBeNull();
    expect(run.code, run.stderr).toBe(4);
    expect(run.stderr.trim().split('\n').at(-1)).toMatch(/config\.json: config\.json is a named pipe \(FIFO\), not a regular file/);
  }, 120_000);

  it('a file larger than the bound is refused before it is read', async () => {
    const big = join(dir, 'valid.txt');
    await writeFile(big, '1\n');
    await truncate(big, LIST_MAX_BYTES + 1); // sparse: nothing is written
    const run = await runZoo(['eval', MODEL, '--data', 'sample', '--valid-labels', big], { timeoutMs: 90_000 });
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr.trim()).toBe(`zoo: ${big}: --valid-labels is ${LIST_MAX_BYTES + 1} bytes, more than the ${LIST_MAX_BYTES} such a file can hold; name the right file`);
  }, 120_000);
});
