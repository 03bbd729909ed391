/**
 * CondenseNetV2 A/B/C (converted form, official naming) against the official implementation's
 * logits: recipe checkpoint (with its int64 gather indices and 0/1 SFR select matrices) written as
 * .safetensors -> `zoo logits --weights` as a process -> golden/README.md tolerance. Only 224: the
 * head's 7x7 pool is fixed, so there is no 239 reference. The checks with edited checkpoints (a bad
 * gather index, a flipped select matrix) run in-process.
 */
import { describe, expect, it } from 'vitest';
import { UsageError, WeightsError } from '../src/errors.js';
import { onnxruntimeEngine } from '../src/engines/onnxruntime/index.js';
import type { Architecture } from '../src/models/arch.js';
import { architectures } from '../src/models/condensenetv2.js';
import type { HostTensor } from '../src/models/graph.js';
import { recordGraph } from '../src/models/record.js';
import { keyParity } from './support/cli.js';
import { compareLogits, goldenManifest, readGolden, readKeys, recipeCheckpoint } from './support/golden.js';
import { PARITY_KEYS } from './support/parity-keys.js';

const byName = (name: string): Architecture => architectures.find((a) => a.name === name)!;

async function logits224(arch: Architecture, weights: ReadonlyMap<string, HostTensor>): Promise<Float32Array> {
  const golden = readGolden(arch.goldenKey!, 'a_224');
  const model = await onnxruntimeEngine.load(recordGraph(arch.forward, { size: [224, 224], weights }), { device: 'cpu' });
  try {
    return await model.run(golden.input.data, golden.input.shape[0]!);
  } finally {
    await model.dispose();
  }
}

describe('condensenetv2 architectures', () => {
  it('declare A, B and C with the official tensor names, shapes and parameter counts', () => {
    const manifest = goldenManifest();
    expect(architectures.map((a) => a.name)).toEqual(['cdnv2_a', 'cdnv2_b', 'cdnv2_c']);
    for (const arch of architectures) {
      expect(recordGraph(arch.forward, { size: [224, 224] }).params, arch.name).toBe(manifest[arch.goldenKey!]!.params);
      // Recording with the full upstream state_dict checks every name and shape both ways.
      expect(() => recordGraph(arch.forward, { size: [224, 224], weights: recipeCheckpoint(arch.goldenKey!) })).not.toThrow();
      expect(readKeys(arch.goldenKey!).length, arch.name).toBe(manifest[arch.goldenKey!]!.tensors);
    }
  });

  it('refuses a gather index outside the layer input and an input whose head is not 7x7', () => {
    const weights = new Map(recipeCheckpoint('official/cdnv2_a'));
    const name = 'features.denseblock_2.denselayer_1.conv_1.index';
    const index = weights.get(name)!;
    const bad = BigInt64Array.from(index.data as BigInt64Array);
    bad[3] = 24n;
    weights.set(name, { ...index, data: bad });
    const record = () => recordGraph(byName('cdnv2_a').forward, { size: [224, 224], weights });
    expect(record).toThrow(WeightsError);
    expect(record).toThrow(/conv_1\.index selects channel 24, but the layer has 24 input channels/);
    expect(() => recordGraph(byName('cdnv2_a').forward, { size: [256, 256] })).toThrow(UsageError);
  });

  for (const key of PARITY_KEYS['test/parity-condensenetv2.test.ts']) {
    it(`${key} matches the official converted model at 224 through zoo logits`, async () => {
      expect(await keyParity(key)).toEqual({ inputs: ['a_224'], failures: {} });
    });
  }

  it('uses the SFR select matrix: a checkpoint with one matrix changed gives other logits', async () => {
    const arch = byName('cdnv2_a');
    const weights = new Map(recipeCheckpoint(arch.goldenKey!));
    const name = 'features.denseblock_5.denselayer_8.sfr.index';
    const sel = weights.get(name)!;
    weights.set(name, { ...sel, data: (sel.data as Float32Array).map((v) => 1 - v) });
    const ref = readGolden(arch.goldenKey!, 'a_224').logits;
    expect(compareLogits(await logits224(arch, weights), ref, [0, 0])).not.toBeNull();
  });
});
