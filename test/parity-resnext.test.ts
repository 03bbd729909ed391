/**
 * ResNeXt-50 32x4d against timm's logits: recipe checkpoint in timm naming -> recorded graph ->
 * onnxruntime -> golden/README.md tolerance, at 224 and at the odd 239 size (which exercises the
 * stride-2 padding arithmetic). The ResNeXt-101s run the same check in parity-big/.
 */
import { describe, expect, it } from 'vitest';
import { WeightsError } from '../src/errors.js';
import { onnxruntimeEngine } from '../src/engines/onnxruntime/index.js';
import type { Architecture } from '../src/models/arch.js';
import { recordGraph } from '../src/models/record.js';
import { architectures } from '../src/models/resnext.js';
import { compareLogits, goldenManifest, readGolden, readKeys, recipeCheckpoint } from './support/golden.js';

const byName = (name: string): Architecture => architectures.find((a) => a.name === name)!;

/** Every input of the manifest for `arch`, through onnxruntime on CPU; returns failures by input. */
async function parityFailures(arch: Architecture): Promise<Record<string, string>> {
  const key = arch.goldenKey!;
  const weights = recipeCheckpoint(key);
  const failures: Record<string, string> = {};
  for (const [input, out] of Object.entries(goldenManifest()[key]!.outputs)) {
    const golden = readGolden(key, input);
    const [, , h, w] = golden.input.shape as [number, number, number, number];
    const graph = recordGraph(arch.forward, { size: [h, w], weights, ...(arch.ignoreUnused ? { ignoreUnused: arch.ignoreUnused } : {}) });
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

describe('resnext architectures', () => {
  it('declare the four variants with the timm tensor names, shapes and parameter counts', () => {
    const manifest = goldenManifest();
    expect(architectures.map((a) => a.name)).toEqual(['resnext50_32x4d', 'resnext101_32x4d', 'resnext101_32x8d', 'resnext101_64x4d']);
    for (const arch of architectures) {
      const graph = recordGraph(arch.forward, { size: [224, 224] });
      expect(graph.params, arch.name).toBe(manifest[arch.goldenKey!]!.params);
      // Every learnable/statistic tensor of the upstream state_dict is one the model asks for.
      const want = readKeys(arch.goldenKey!).filter((r) => r.kind !== 'skip');
      expect([...graph.constants.keys()].sort(), arch.name).toEqual(want.map((r) => r.name).sort());
      for (const row of want) expect(graph.constants.get(row.name)!.shape, row.name).toEqual(row.shape);
    }
  });

  it('refuses a checkpoint of another width, naming the tensors that differ', () => {
    const weights = recipeCheckpoint('resnext50_32x4d');
    const wrong = recordGraph.bind(null, byName('resnext101_32x4d').forward, { size: [224, 224], weights });
    expect(wrong).toThrow(WeightsError);
    expect(wrong).toThrow(/layer3\.6\.conv1\.weight missing/);
  });

  it('resnext50_32x4d matches timm at 224 and 239', async () => {
    expect(await parityFailures(byName('resnext50_32x4d'))).toEqual({});
  });
});
