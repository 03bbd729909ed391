/**
 * EfficientNetV2 logits parity for the big variants (m, l, xl, rw_m, torchvision m/l): the WEIGHTS.md
 * recipe checkpoint through recordGraph and onnxruntime must give the reference logits within the
 * golden README tolerance, on both inputs (two chaotic reference rows are judged as described in
 * test/support/efficientnetv2-parity.ts). Run by `npm run parity`; names, shapes and params of these
 * variants are checked in the main suite (test/parity-efficientnetv2.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { architectures } from '../../src/models/efficientnetv2.js';
import { efficientNetV2Parity } from '../support/efficientnetv2-parity.js';

const BIG = [
  'efficientnetv2_rw_m',
  'tf_efficientnetv2_m',
  'torchvision/efficientnet_v2_m',
  'tf_efficientnetv2_l',
  'torchvision/efficientnet_v2_l',
  'tf_efficientnetv2_xl',
];

describe('EfficientNetV2 big variants: logits parity (onnxruntime, recipe weights)', () => {
  it.each(BIG)('%s matches upstream at 224 and 239', async (key) => {
    const arch = architectures.find((a) => a.goldenKey === key);
    if (!arch) throw new Error(`no architecture for ${key}`);
    const results = await efficientNetV2Parity(arch);
    for (const r of results) if (r.noiseFloor !== undefined) console.log(`${r.row}: chaotic, max|diff| ${r.maxDiff.toPrecision(3)}, float32 noise floor ${r.noiseFloor.toPrecision(3)}, bound ${r.bound.toPrecision(3)}`);
    expect(results.filter((r) => r.failure !== null)).toEqual([]);
    expect(results.length).toBe(3);
  });
});
