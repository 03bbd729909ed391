/**
 * Bad input through the real CLI: every user mistake ends as ONE line `zoo: ...` on stderr, the
 * documented exit code, and no stack trace.
 */
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/errors.js';
import { makeFlatFolder, runZoo, tempDir, VAL_227, val227Files, writeRecipeCheckpoint, type ZooRun } from './support/cli.js';

let dir: string;
let flat: string;
let weights: string;

beforeAll(async () => {
  dir = await tempDir('zoo-cli-errors-');
  flat = await makeFlatFolder(join(dir, 'flat'), await val227Files(4));
  weights = await writeRecipeCheckpoint('rexnet_100', dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** stderr minus the data warnings a small folder earns: exactly one `zoo:` line, no stack. */
function expectOneLineError(run: ZooRun, code: number, pattern: RegExp): void {
  expect(run.code, run.stderr).toBe(code);
  const lines = run.stderr.trim().split('\n').filter((l) => !l.startsWith('zoo: warning:'));
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^zoo: /);
  expect(lines[0]).toMatch(pattern);
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(run.stdout).toBe('');
}

describe('bad input', () => {
  it('missing --data: usage error with an example', async () => {
    const run = await runZoo(['eval', 'rexnet_100', '--weights', weights]);
    expectOneLineError(run, ExitCode.USAGE, /missing --data PATH .*e\.g\. zoo eval rexnet_100 --data/);
  });

  it('a folder with no images: data error', async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty, { recursive: true });
    const run = await runZoo(['eval', 'rexnet_100', '--data', empty, '--weights', weights]);
    expectOneLineError(run, ExitCode.DATA, /empty: no images found/);
  });

  it('a data path that does not exist: data error', async () => {
    const run = await runZoo(['eval', 'rexnet_100', '--data', join(dir, 'nope'), '--weights', weights]);
    expectOneLineError(run, ExitCode.DATA, /nope: data path does not exist/);
  });

  it('an unknown model: usage error naming the nearest models', async () => {
    const run = await runZoo(['eval', 'resnext50_32x4', '--data', flat]);
    expectOneLineError(run, ExitCode.USAGE, /unknown model 'resnext50_32x4'; did you mean resnext50_32x4d\b/);
    const tag = await runZoo(['info', 'rexnet_100.imagenet']);
    expectOneLineError(tag, ExitCode.USAGE, /unknown pretrained tag 'imagenet' for rexnet_100 \(expected one of nav_in1k\)/);
  });

  it('flat files absent from the ground truth: data error naming them', async () => {
    const odd = join(dir, 'odd');
    await makeFlatFolder(odd, await val227Files(2));
    await copyFile(join(VAL_227, (await val227Files(1))[0]!), join(odd, 'holiday_photo.JPEG'));
    const run = await runZoo(['eval', 'rexnet_100', '--data', odd, '--weights', weights]);
    expectOneLineError(run, ExitCode.DATA, /1 image\(s\) have no label in the bundled ILSVRC2012 val ground truth: holiday_photo\.JPEG.*--labels FILE/);
  });

  it('weights of the wrong architecture: weights error naming the tensors that differ', async () => {
    const other = await writeRecipeCheckpoint('resnext50_32x4d', dir);
    const run = await runZoo(['eval', 'rexnet_100', '--data', flat, '--weights', other]);
    expectOneLineError(run, ExitCode.WEIGHTS, /weights do not fit this architecture: \d+ tensor\(s\) differ \(\d+ missing\): stem\.conv\.weight missing.*and \d+ more/);
  });

  it('a missing weights file, a manual-download tag, --offline without a cache: weights errors', async () => {
    const missing = await runZoo(['eval', 'rexnet_100', '--data', flat, '--weights', join(dir, 'none.safetensors')]);
    expectOneLineError(missing, ExitCode.WEIGHTS, /none\.safetensors: weights file not found/);
    const manual = await runZoo(['eval', 'cdnv2_a', '--data', flat]);
    expectOneLineError(manual, ExitCode.WEIGHTS, /cdnv2_a\.official_in1k has no automatic download; download the CondenseNetV2-A checkpoint .*--weights FILE/);
    const offline = await runZoo(['eval', 'rexnet_100', '--data', flat, '--offline'], { env: { ZOO_CACHE: join(dir, 'cache') } });
    expectOneLineError(offline, ExitCode.WEIGHTS, /not in the cache and --offline forbids downloading/);
  });

  it('bad option values and unknown options: usage errors', async () => {
    const bs = await runZoo(['eval', 'rexnet_100', '--data', flat, '--batch-size', '0']);
    expectOneLineError(bs, ExitCode.USAGE, /--batch-size <n>' argument '0' is invalid\. expected a positive integer/);
    const mode = await runZoo(['eval', 'rexnet_100', '--data', flat, '--crop-mode', 'zoom']);
    expectOneLineError(mode, ExitCode.USAGE, /--crop-mode <mode>' argument 'zoom' is invalid\. Allowed choices are center, squash/);
    const unknown = await runZoo(['eval', 'rexnet_100', '--data', flat, '--bogus']);
    expectOneLineError(unknown, ExitCode.USAGE, /unknown option '--bogus'/);
    const cmd = await runZoo(['evl']);
    expectOneLineError(cmd, ExitCode.USAGE, /unknown command 'evl'.*Did you mean eval\?/);
  });

  it('--device cuda where the CUDA provider is absent: engine error with the install command', async () => {
    const run = await runZoo(['eval', 'rexnet_100', '--data', flat, '--weights', weights, '--device', 'cuda']);
    if (run.code === 0) return; // a machine with the CUDA provider installed: nothing to refuse
    expectOneLineError(run, ExitCode.ENGINE, /CUDA/);
  });
});

describe('help', () => {
  it('documents every exit code', async () => {
    const run = await runZoo(['--help']);
    expect(run.code).toBe(0);
    for (const [code, what] of [
      [0, 'success'], [1, 'accuracy regression'], [2, 'usage error'], [3, 'data error'],
      [4, 'weights error'], [5, 'engine error'], [70, 'internal error'], [130, 'interrupted'],
    ] as const) {
      expect(run.stdout).toMatch(new RegExp(`^\\s+${code}\\s+${what}`, 'm'));
    }
    const sub = await runZoo(['eval', '--help']);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toMatch(/--predictions <file>/);
    expect(sub.stdout).toMatch(/Exit codes:/);
  });
});
