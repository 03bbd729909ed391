/**
 * EfficientNetV2 logits parity for the big variants (m, l, xl, rw_m, torchvision m/l): the WEIGHTS.md
 * recipe checkpoint, written as .safetensors and run by `zoo logits --weights` as a process
 * (onnxruntime), must give the reference logits within the
 * golden README tolerance, on both inputs (two chaotic reference rows are judged as described in
 * test/support/efficientnetv2-parity.ts). Run by `npm run parity`; names, shapes and params of these
 * variants are checked in the main suite (test/parity-efficientnetv2.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { architectures } from '../../src/models/efficientnetv2.js';
import { efficientNetV2Parity } from '../support/efficientnetv2-parity.js';
import { PARITY_KEYS } from '../support/parity-keys.js';

const BIG = PARITY_KEYS['test/parity-big/efficientnetv2-big.test.ts'];

describe('EfficientNetV2 big variants: logits parity (zoo logits --weights recipe .safetensors, onnxruntime)', () => {
  it.each(BIG)('%s matches upstream at 224 and 239', async (key) => {
    const arch = architectures.find((a) => a.goldenKey === key);
    if (!arch) throw new Error(`no architecture for ${key}`);
    const results = await efficientNetV2Parity(arch, { timeoutMs: 540_000 });
    for (const r of results) if (r.noiseFloor !== undefined) console.log(`${r.row}: chaotic, max|diff| ${r.maxDiff.toPrecision(3)}, float32 noise floor ${r.noiseFloor.toPrecision(3)}, bound ${r.bound.toPrecision(3)}`);
    expect(results.filter((r) => r.failure !== null)).toEqual([]);
    expect(results.map((r) => r.row)).toEqual([`${key} a_224 0`, `${key} a_224 1`, `${key} b_239 0`]);
  });
});
