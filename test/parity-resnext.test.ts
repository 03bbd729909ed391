/**
 * ResNeXt-50 32x4d against timm's logits: recipe checkpoint in timm naming, written as .safetensors
 * -> `zoo logits --weights` as a process -> golden/README.md tolerance, at 224 and at the odd 239
 * size (which exercises the stride-2 padding arithmetic). The ResNeXt-101s run the same check in
 * parity-big/. Names, shapes and parameter counts of all four are checked here in-process.
 */
import { describe, expect, it } from 'vitest';
import { WeightsError } from '../src/errors.js';
import type { Architecture } from '../src/models/arch.js';
import { recordGraph } from '../src/models/record.js';
import { architectures } from '../src/models/resnext.js';
import { keyParity } from './support/cli.js';
import { GOLDEN_INPUTS, goldenManifest, readKeys, recipeCheckpoint } from './support/golden.js';
import { PARITY_KEYS } from './support/parity-keys.js';

const byName = (name: string): Architecture => architectures.find((a) => a.name === name)!;

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

  for (const key of PARITY_KEYS['test/parity-resnext.test.ts']) {
    it(`${key} matches timm at 224 and 239 through zoo logits`, async () => {
      expect(await keyParity(key)).toEqual({ inputs: [...GOLDEN_INPUTS], failures: {} });
    });
  }
});
