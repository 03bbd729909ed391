/**
 * Golden parity on the tfjs wasm backend: one model of every family, every reference input
 * (CondenseNetV2 has only a_224), recipe checkpoint in upstream naming -> recorded graph -> tfjs
 * -> golden/README.md tolerance. A family whose file has not landed yet fails here by name rather
 * than being skipped.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { tfjsEngine } from '../src/engines/tfjs/index.js';
import { findArchitecture } from '../src/models/architectures.js';
import { recordGraph } from '../src/models/record.js';
import { compareLogits, goldenManifest, readGolden, recipeCheckpoint } from './support/golden.js';

const KEYS = [
  'rexnet_100',
  'official/rexnet_lite_1.0x',
  'resnext50_32x4d',
  'official/cdnv2_a',
  'tf_efficientnetv2_b0',
  'efficientnetv2_rw_t',
  'torchvision/efficientnet_v2_s',
] as const;

const results: string[] = [];
afterAll(() => {
  if (results.length > 0) console.log(results.join('\n'));
});

describe('tfjs (wasm) matches the golden logits', () => {
  for (const key of KEYS) {
    it(key, async () => {
      const arch = findArchitecture(key);
      expect(arch, `no architecture for golden key ${key} (family file not landed?)`).toBeDefined();
      const weights = recipeCheckpoint(key);
      const outputs = goldenManifest()[key]!.outputs;
      const inputs = Object.keys(outputs);
      expect(inputs.length).toBeGreaterThan(0);
      for (const input of inputs) {
        const golden = readGolden(key, input);
        const [n, , h, w] = golden.input.shape as [number, number, number, number];
        const graph = recordGraph(arch!.forward, {
          size: [h, w],
          weights,
          ...(arch!.ignoreUnused ? { ignoreUnused: arch!.ignoreUnused } : {}),
        });
        const model = await tfjsEngine.load(graph, { device: 'cpu' });
        try {
          expect(model.backend).toBe('tfjs wasm');
          const t0 = performance.now();
          const logits = await model.run(golden.input.data, n);
          results.push(`${key} ${input}: ${n} image(s) in ${(performance.now() - t0).toFixed(0)} ms on ${model.backend}`);
          expect(compareLogits(logits, golden.logits, outputs[input]!.margin_top1_top2), `${key} ${input}`).toBeNull();
        } finally {
          await model.dispose();
        }
      }
    }, 120_000);
  }
});
