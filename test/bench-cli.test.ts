/**
 * `zoo bench` through the built CLI with tiny counts: every stage runs and the --json has the
 * documented shape (no timing assertions: figures depend on the machine and its load). The
 * reference runner is exercised where its interpreter (/usr/bin/python3, or $ZOO_PYTHON) imports
 * torch, torchvision and PIL; elsewhere (CI, a fresh machine) the bench must skip it with a note,
 * which the last test checks everywhere with an interpreter that cannot import them.
 */
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchResult } from '../src/bench/run.js';
import { camelKeys } from '../src/io/json-keys.js';
import { camelCaseKeyPaths } from './support/json-keys.js';
import { SHARED } from './support/golden.js';
import { runZoo } from './support/cli.js';

// 496-pixel images: the resize shrinks them, so the fast (libvips) path is really taken.
const VAL_496 = join(SHARED, 'samples', 'val-496');

/** The interpreter the bench uses (src/bench/reference.ts), and whether it has the reference's packages. */
const PYTHON = process.env.ZOO_PYTHON || '/usr/bin/python3';
const HAS_REFERENCE = spawnSync(PYTHON, ['-c', 'import torch, torchvision, PIL'], { stdio: 'ignore' }).status === 0;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zoo-bench-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const positiveRate = (r: { imagesPerSecond: number; images: number; seconds: number } | undefined) => {
  expect(r).toBeDefined();
  expect(r!.imagesPerSecond).toBeGreaterThan(0);
  expect(r!.images).toBeGreaterThan(0);
  expect(r!.seconds).toBeGreaterThan(0);
};

describe('zoo bench', () => {
  it('runs every stage with tiny counts and writes the JSON shape', async () => {
    const json = join(dir, 'bench.json');
    const run = await runZoo(
      ['bench', 'rexnet_100', '--data', VAL_496, '--count', '6', '--images', '48', '--seconds', '0.05', '--batches', '1,2',
        '--batch-size', '8', '--engines', 'onnxruntime', '--threads', '1', '--workers', '2', '--json', json],
      { timeoutMs: 150_000 },
    );
    expect(run.stderr).not.toMatch(/internal error/);
    expect(run.code).toBe(0);
    const raw: unknown = JSON.parse(await readFile(json, 'utf8'));
    // The file's names are snake_case at every depth (issue 10.13); the checks below read the code's names.
    expect(camelCaseKeyPaths(raw)).toEqual([]);
    const r = camelKeys<BenchResult>(raw);
    expect(r.tag).toBe('rexnet_100.nav_in1k');
    expect(r.data.files).toBe(100);
    positiveRate(r.decode);
    positiveRate(r.preprocess);
    expect(r.decode!.imagesPerCpuSecond).toBeGreaterThan(0);
    positiveRate(r.fast);
    // The crop-cache row: the warm loader read every crop (a real count from its workers), both rates measured.
    expect(r.cropCache?.decodedWhenWarm).toBe(0);
    expect(r.cropCache!.warm).toBeGreaterThan(0);
    expect(r.cropCache!.decoding).toBeGreaterThan(0);
    // The fast path is an approximation of the exact crop, not something else entirely.
    expect(r.fast!.difference.images).toBeGreaterThan(0);
    expect(r.fast!.difference.meanAbs).toBeGreaterThan(0);
    expect(r.fast!.difference.meanAbs).toBeLessThan(3);
    // With the libjpeg-turbo addon in use the one-core stages and the loader are timed through sharp too.
    const decoders = r.decoder.name === 'libjpeg-turbo' ? ['libjpeg-turbo', 'sharp'] : ['sharp'];
    expect(r.loader!.map((l) => [l.workers, l.decoder])).toEqual(decoders.flatMap((d) => [[1, d], [2, d]]));
    for (const l of r.loader!) positiveRate(l);
    // Each loader row has its CPU per image too, read against the one-core stage's (the figure that holds under load).
    for (const l of r.loader!) expect(l.imagesPerCpuSecond).toBeGreaterThan(0);
    expect(run.stdout).toMatch(/loader, 2 worker\(s\), exact.* \/ \d+\.\d\dx of 1 core/);
    if (decoders.length === 2) {
      positiveRate(r.decodeSharp);
      positiveRate(r.preprocessSharp);
      expect(run.stdout).toMatch(/decode \+ exact preprocess \(1 core, sharp\)/);
    }
    expect(run.stdout).toContain(`JPEG decoder: ${r.decoder.name}`);
    expect(r.inference!.map((x) => [x.engine, x.batch])).toEqual([['onnxruntime', 1], ['onnxruntime', 2]]);
    for (const x of r.inference!) positiveRate(x);
    positiveRate(r.endToEnd);
    expect(r.endToEnd!.images).toBe(48);
    expect(r.endToEnd!.efficiency).toBeGreaterThan(0);
    // The same graph as an ONNX model file, through zoo eval x.onnx's reader and adapters (issue 11).
    expect(r.endToEnd!.modelFile!.imagesPerSecond).toBeGreaterThan(0);
    expect(r.endToEnd!.modelFile!.ratio).toBeGreaterThan(0);
    expect(r.memory!.exitCode).toBe(0);
    expect(r.memory!.images).toBe(48);
    expect(r.memory!.peakRssMB).toBeGreaterThan(50);
    expect(r.startup!.exitCode).toBe(0);
    expect(r.startup!.seconds).toBeGreaterThan(0);
    expect(run.stdout).toMatch(/decode \+ exact preprocess \(1 core/);
    expect(run.stdout).toMatch(/End to end/);
    if (HAS_REFERENCE) {
      expect(r.reference!.skipped).toBeUndefined();
      positiveRate(r.reference!.decode);
      positiveRate(r.reference!.preprocess);
      expect(r.reference!.inference!.map((x) => x.batch)).toEqual([1, 2]);
      expect(r.ratios.decode).toBeGreaterThan(0);
      expect(r.ratios.preprocess).toBeGreaterThan(0);
      if (decoders.length === 2) expect(r.ratios.preprocessSharp).toBeGreaterThan(0);
      // Per CPU-second too (the figures to read on a loaded machine), from both sides' process CPU time.
      expect(r.ratiosPerCpu.decode).toBeGreaterThan(0);
      expect(r.ratiosPerCpu.preprocess).toBeGreaterThan(0);
      expect(r.reference!.decode!.imagesPerCpuSecond).toBeGreaterThan(0);
      expect(r.ratios.inference!.onnxruntime).toBeGreaterThan(0);
      expect(run.stdout).toMatch(/zoo\/ref/);
    } else {
      expect(r.reference!.skipped).toBeTruthy();
      expect(run.stdout).toMatch(/reference skipped/);
    }
  }, 160_000);

  it('needs --data (the tool ships no images) and says so in one line, exit 2', async () => {
    const run = await runZoo(['bench', 'rexnet_100', '--stages', 'decode', '--no-reference']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/zoo bench needs images.*--data DIR/);
  }, 60_000);

  it('takes several --data folders, in order (repeated or comma-separated, the model name never swallowed)', async () => {
    const json = join(dir, 'two.json');
    const run = await runZoo(['bench', '--data', VAL_496, '--data', VAL_496, 'rexnet_100', '--count', '3', '--stages', 'decode', '--no-reference', '--json', json]);
    expect(run.code).toBe(0);
    const r = camelKeys<BenchResult>(JSON.parse(await readFile(json, 'utf8')));
    const one = (await readdir(VAL_496)).filter((n) => /\.jpe?g$/i.test(n)).length;
    expect(r.data.files).toBe(2 * one);
  }, 60_000);

  it('runs only the stages asked for, without the reference', async () => {
    const json = join(dir, 'decode.json');
    const run = await runZoo(['bench', 'rexnet_100', '--data', VAL_496, '--count', '3', '--stages', 'decode,reference', '--no-reference', '--json', json]);
    expect(run.code).toBe(0);
    const r = camelKeys<BenchResult>(JSON.parse(await readFile(json, 'utf8')));
    positiveRate(r.decode);
    expect(r.preprocess).toBeUndefined();
    expect(r.inference).toBeUndefined();
    expect(r.reference).toBeUndefined();
    expect(run.stdout).toMatch(/reference not run/);
  }, 60_000);

  it('skips the reference with a note, exit 0, when its interpreter cannot import torch', async () => {
    // Debian's python3 without site-packages (-S): a real interpreter whose `import PIL` fails.
    const python = join(dir, 'python-without-packages');
    await writeFile(python, '#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n');
    await chmod(python, 0o755);
    const json = join(dir, 'no-torch.json');
    const run = await runZoo(['bench', 'rexnet_100', '--data', VAL_496, '--count', '3', '--stages', 'decode,reference', '--json', json], {
      env: { ZOO_PYTHON: python },
    });
    expect(run.stderr).not.toMatch(/internal error/);
    expect(run.code).toBe(0);
    const r = camelKeys<BenchResult>(JSON.parse(await readFile(json, 'utf8')));
    positiveRate(r.decode);
    // Without /usr/bin/python3 at all the wrapper itself fails (exit 127): skipped all the same.
    expect(r.reference!.skipped).toMatch(/^reference packages missing: ModuleNotFoundError: No module named|^reference runner failed \(exit 127\)/);
    expect(r.reference!.decode).toBeUndefined();
    expect(r.ratios.decode).toBeUndefined();
    expect(run.stdout).toMatch(/reference skipped: reference packages missing|reference skipped: reference runner failed/);
    expect(run.stderr).toContain(`${python} bench/reference.py`);
  }, 60_000);

  it('sweep stage: one zoo eval over 2 ReXNet tags vs 2 single runs, same images, the ratio and peak RSS printed', async () => {
    const json = join(dir, 'sweep.json');
    const run = await runZoo(
      ['bench', 'rexnet_100', '--data', VAL_496, '--stages', 'sweep', '--sweep-models', '2', '--sweep-images', '4', '--batch-size', '4', '--threads', '1', '--workers', '1', '--json', json],
      { timeoutMs: 60_000 },
    );
    expect(run.stderr).not.toMatch(/internal error/);
    expect(run.code).toBe(0);
    const r = camelKeys<BenchResult>(JSON.parse(await readFile(json, 'utf8')));
    // Two single runs and the sweep, all real child evals that finished (random weights: accuracy is not the point).
    expect(r.sweep!.models).toEqual(['rexnet_100.nav_in1k', 'rexnet_130.nav_in1k']);
    expect(r.sweep!.exitCodes).toEqual([0, 0, 0]);
    expect(r.sweep!.images).toBe(4);
    expect(r.sweep!.ratio).toBeCloseTo(r.sweep!.singlesSeconds / r.sweep!.sweepSeconds, 6);
    expect(r.decode).toBeUndefined();
    expect(run.stdout).toMatch(/singles \/ sweep, wall \(goal >= 1\.3x\)\s+\d+\.\d\dx/);
    expect(run.stdout).toMatch(/sweep peak RSS \(MB; goal < 1536\)\s+\d+/);
    expect(run.stdout).toMatch(/largest single-run peak RSS \(MB; rexnet_1[03]0\.nav_in1k\)\s+\d+/);
    // CPU seconds as the kernel accounts them: the sweep's and the singles', both real.
    expect(r.sweep!.sweepCpuSeconds).toBeGreaterThan(0);
    expect(r.sweep!.cpuRatio).toBeCloseTo(r.sweep!.singlesCpuSeconds! / r.sweep!.sweepCpuSeconds!, 6);
    expect(run.stdout).toMatch(/singles \/ sweep, CPU seconds\s+\d+\.\d\dx/);
    expect(run.stdout).toMatch(/^Batch 8; load average \(1 min\) \d+\.\d at the start, \d+\.\d at the end\.$/m);
    expect(run.stdout).toMatch(/^GPU projection: .* singles \/ sweep ~ \d+\.\d\dx$/m);
  }, 90_000);

  it('refuses an unknown stage with a usage error', async () => {
    const run = await runZoo(['bench', 'rexnet_100', '--stages', 'decode,warp']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/'warp' is not one of/);
  });
});
