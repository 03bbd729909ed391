/**
 * The ResNeXt-101s (32x4d, 32x8d, 64x4d) against timm's logits at 224 and 239: recipe checkpoint in
 * timm naming -> recorded graph -> onnxruntime -> golden/README.md tolerance. Separate from the
 * main suite for time (each builds up to 89M recipe weights); run by `npm run parity`.
 */
import { describe, expect, it } from 'vitest';
import { onnxruntimeEngine } from '../../src/engines/onnxruntime/index.js';
import type { Architecture } from '../../src/models/arch.js';
import { recordGraph } from '../../src/models/record.js';
import { architectures } from '../../src/models/resnext.js';
import { compareLogits, goldenManifest, readGolden, recipeCheckpoint } from '../support/golden.js';

async function parityFailures(arch: Architecture): Promise<Record<string, string>> {
  const key = arch.goldenKey!;
  const weights = recipeCheckpoint(key);
  const failures: Record<string, string> = {};
  for (const [input, out] of Object.entries(goldenManifest()[key]!.outputs)) {
    const golden = readGolden(key, input);
    const [, , h, w] = golden.input.shape as [number, number, number, number];
    const graph = recordGraph(arch.forward, { size: [h, w], weights });
    const model = await onnxruntimeEngine.load(graph, { device: 'cpu' });
    try {
      const logits = await model.run(golden.input.data, golden.input.shape[0]!);
      const why = compareLogits(logits, golden.logits, out.margin_top1_top2);
      if (why !== null) failures[input] = why;
    } finally {
      await model.dispose();
    }
  }
  return failures;
}

describe('resnext101 parity', () => {
  for (const arch of architectures.filter((a) => a.name.startsWith('resnext101_'))) {
    it(`${arch.name} matches timm at 224 and 239`, async () => {
      expect(await parityFailures(arch)).toEqual({});
    });
  }
});
