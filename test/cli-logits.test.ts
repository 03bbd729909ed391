/**
 * Model parity through the real path: a .safetensors checkpoint in upstream (timm) naming built
 * from golden/WEIGHTS.md, passed with --weights to `zoo logits` as a process, its .npy output
 * compared with the reference logits (golden/README.md tolerance). Also `zoo export`.
 */
import { existsSync } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '../src/data/npy.js';
import { GOLDEN_INPUTS } from './support/golden.js';
import { logitsParity, runZoo, tempDir, writeRecipeCheckpoint } from './support/cli.js';

let dir: string;
beforeAll(async () => {
  dir = await tempDir('zoo-cli-logits-');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('zoo logits', () => {
  for (const input of GOLDEN_INPUTS) {
    it(`rexnet_100 matches the reference logits on ${input}`, async () => {
      const { mismatch, run } = await logitsParity('rexnet_100', input, { dir });
      expect(mismatch).toBeNull();
      expect(run.stderr).toBe('');
    });
  }

  it('accepts the arch.tag form and the official naming of the same network', async () => {
    const { mismatch } = await logitsParity('official/rexnetv1_1.0x', 'a_224', { dir, model: 'rexnetv1_1.0x.clova_in1k' });
    expect(mismatch).toBeNull();
  });

  it('refuses a non-NCHW input with a one-line data error', async () => {
    const weights = await writeRecipeCheckpoint('rexnet_100', dir);
    const x = join(dir, 'flat.npy');
    await writeFile(x, encodeNpy({ shape: [2, 10], data: new Float32Array(20) }));
    const run = await runZoo(['logits', 'rexnet_100', '--weights', weights, '--input', x, '--output', join(dir, 'o.npy')]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^zoo: .*flat\.npy: input has shape \(2, 10\) \(expected a float32 NCHW array/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('names the differing tensors when the weights belong to another architecture', async () => {
    const weights = await writeRecipeCheckpoint('rexnet_130', dir);
    const run = await runZoo(['logits', 'rexnet_100', '--weights', weights, '--input', join(dir, 'a_224.npy'), '--output', join(dir, 'o.npy')]);
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/^zoo: .*rexnet_130\.recipe\.safetensors: weights do not fit this architecture: \d+ tensor\(s\) differ .*stem\.conv\.weight/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('zoo export', () => {
  it('writes an ONNX model with the weights, at the requested size', async () => {
    const weights = await writeRecipeCheckpoint('rexnet_100', dir);
    const out = join(dir, 'rexnet_100.onnx');
    const run = await runZoo(['export', 'rexnet_100', '--weights', weights, '--output', out, '--img-size', '192']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/wrote .*rexnet_100\.onnx .*input \[N, 3, 192, 192\], 4,796,873 params/);
    // 4.8M float32 weights (BN folded away) plus graph: a few MB, and an ONNX protobuf (field 1: ir_version).
    const s = await stat(out);
    expect(s.size).toBeGreaterThan(4_796_873 * 4 * 0.9);
    expect((await readFile(out))[0]).toBe(0x08);
    expect(existsSync(`${out}.tmp-${process.pid}`)).toBe(false);
  });
});
