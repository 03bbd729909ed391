/**
 * The wasm backend's heap is capped at 4 GiB. A batch that does not fit must come back as an
 * EngineError naming the fix (smaller --batch-size), not a raw WebAssembly abort. Its own file:
 * the aborted wasm module is unusable for the rest of the process.
 */
import { describe, expect, it } from 'vitest';
import { EngineError, ExitCode } from '../src/errors.js';
import { tfjsEngine } from '../src/engines/tfjs/index.js';
import type { Ops } from '../src/models/ops.js';
import { recordGraph } from '../src/models/record.js';

describe('tfjs wasm out of memory', () => {
  it('a batch too large for the 4 GiB heap is an EngineError with the fix', async () => {
    // 1x1 conv to 64 channels at 512x512: 64 MiB per image per activation; 24 images and two live
    // activations need ~3 GiB + the add's output > 4 GiB.
    const forward = (ops: Ops) => {
      const y = ops.conv(ops.input, 'c', { out: 64, kernel: 1 });
      return ops.add(ops.add(y, y), y);
    };
    const weights = new Map([['c.weight', { dtype: 'float32' as const, shape: [64, 3, 1, 1], data: new Float32Array(192).fill(0.1) }]]);
    const graph = recordGraph(forward, { size: [512, 512], weights });
    const model = await tfjsEngine.load(graph, { device: 'cpu' });
    expect(model.backend).toBe('tfjs wasm');
    const n = 24;
    const err: unknown = await model.run(new Float32Array(n * 3 * 512 * 512), n).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).exitCode).toBe(ExitCode.ENGINE);
    expect((err as EngineError).message).toMatch(/ran out of memory running a batch of 24/);
    expect((err as EngineError).fix).toMatch(/smaller --batch-size/);
  }, 60_000);
});
