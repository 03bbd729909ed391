/**
 * Issue 10, "Fidelity" (item 1), as real processes on the embedded model and the built-in sample:
 * a run whose eval config was overridden is compared only with a published row at that config;
 * with none, the result says so and is not comparable, and `--expect-top1 published` is a usage
 * error naming the configs that have published numbers.
 */
import { describe, expect, it } from 'vitest';
import type { EvalResult } from '../src/run/result.js';
import { runZoo } from './support/cli.js';

const EVAL = ['eval', 'mobilenetv2-12-int8', '--data', 'sample', '--limit', '4', '-q', '--threads', '1'];

describe('the published row follows the effective eval config (item 1)', () => {
  it('at the tag config: compared with its row', async () => {
    const run = await runZoo([...EVAL, '--json', '-']);
    expect(run.code, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout) as EvalResult;
    expect(r.published?.crop_pct).toBe(0.875);
    expect(r.not_comparable_because).toEqual([]);
  }, 60_000);

  it('overridden (--crop-pct 1.0): no row compares, the table and JSON say so, comparable: false', async () => {
    const run = await runZoo([...EVAL, '--crop-pct', '1.0', '--json', '-']);
    expect(run.code, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout) as EvalResult;
    expect(r.published).toBeNull();
    expect(r.comparable).toBe(false);
    expect(r.not_comparable_because.join(' ')).toMatch(/no published number at this eval config \(published: --img-size 224 --crop-pct 0\.875 --interpolation bilinear\)/);
    expect(run.stderr).toMatch(/^published: none at this eval config, so not comparable \(published: --img-size 224 --crop-pct 0\.875/m);
  }, 60_000);

  it('--expect-top1 published with overrides is a usage error naming the published configs', async () => {
    const run = await runZoo([...EVAL, '--interpolation', 'bicubic', '--expect-top1', 'published']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/--expect-top1 published: .* no published top-1 at this eval config .*--img-size 224 --crop-pct 0\.875 --interpolation bilinear/);
  }, 60_000);
});

describe('the header line and the config in the table (item 2)', () => {
  it('one stderr line says model, weights (path, SHA-256 prefix), config with sources, engine, threads, batch, data; --quiet drops it', async () => {
    const args = ['eval', 'mobilenetv2-12-int8', '--data', 'sample', '--limit', '4', '-b', '4', '--threads', '1', '--crop-pct', '1.0'];
    const run = await runZoo(args);
    expect(run.code, run.stderr).toBe(0);
    const headers = run.stderr.split('\n').filter((l) => l.startsWith('zoo: mobilenetv2-12-int8.onnx_model_zoo | weights '));
    expect(headers).toHaveLength(1);
    expect(headers[0]).toMatch(/\| weights \S+model\.onnx \(sha256 [0-9a-f]{12}\) \| input_size 224, .*\(catalogue mobilenetv2-12-int8\.onnx_model_zoo\); crop_pct 1 \(--crop-pct\) \| onnxruntime \S+ on cpu, 1 thread, batch 4, \d+ workers \| data \S+ \(flat, 4 of 106 images\)$/);
    expect(run.stdout).toMatch(/^config: .*crop_pct 1 \(--crop-pct\)$/m);
    const quiet = await runZoo([...args, '-q']);
    expect(quiet.stderr).not.toMatch(/\| weights /);
  }, 60_000);
});
