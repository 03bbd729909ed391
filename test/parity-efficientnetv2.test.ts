/**
 * EfficientNetV2 parity, small variants: every architecture's state_dict names and shapes equal the
 * upstream golden keys, the parameter count equals the reference's, and for the small variants the
 * logits of the WEIGHTS.md recipe checkpoint, written as .safetensors and run by `zoo logits
 * --weights` as a process, equal the reference logits (see test/support/efficientnetv2-parity.ts for
 * the one chaotic reference row among them).
 * The big variants (m, l, xl, rw_m, torchvision m/l) run in test/parity-big/efficientnetv2-big.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { architectures } from '../src/models/efficientnetv2.js';
import { recordGraph } from '../src/models/record.js';
import { WeightsError } from '../src/errors.js';
import { efficientNetV2Parity } from './support/efficientnetv2-parity.js';
import { goldenManifest, readKeys, recipeCheckpoint } from './support/golden.js';
import { PARITY_KEYS } from './support/parity-keys.js';

const manifest = goldenManifest();

function arch(key: string) {
  const a = architectures.find((x) => x.goldenKey === key);
  if (!a) throw new Error(`no architecture for ${key}`);
  return a;
}

describe('EfficientNetV2 architectures', () => {
  it('cover every efficientnetv2 golden key', () => {
    const golden = Object.keys(manifest).filter((k) => /efficientnet/.test(k)).sort();
    expect(architectures.map((a) => a.goldenKey).sort()).toEqual(golden);
  });

  it.each(architectures.map((a) => a.goldenKey!))('%s: names, shapes and params equal upstream', (key) => {
    const g = recordGraph(arch(key).forward, { size: [224, 224] });
    const ours = [...g.constants].map(([name, t]) => `${name} ${t.shape.join('x')}`).sort();
    const ref = readKeys(key)
      .filter((r) => r.kind !== 'skip')
      .map((r) => `${r.name} ${r.shape.join('x')}`)
      .sort();
    expect(ours).toEqual(ref);
    expect(g.params).toBe(manifest[key]!.params);
  });

  it('names every tensor that does not fit when given the wrong checkpoint', () => {
    const ck = recipeCheckpoint('tf_efficientnetv2_b0');
    expect(() => recordGraph(arch('tf_efficientnetv2_b1').forward, { size: [224, 224], weights: ck })).toThrow(WeightsError);
    expect(() => recordGraph(arch('tf_efficientnetv2_b1').forward, { size: [224, 224], weights: ck })).toThrow(
      /blocks\.0\.1\.conv\.weight missing/,
    );
  });
});

const SMALL = PARITY_KEYS['test/parity-efficientnetv2.test.ts'];

describe('EfficientNetV2 logits parity (zoo logits --weights recipe .safetensors, onnxruntime)', () => {
  it.each(SMALL)('%s matches upstream at 224 and 239', async (key) => {
    const results = await efficientNetV2Parity(arch(key));
    expect(results.filter((r) => r.failure !== null)).toEqual([]);
    expect(results.map((r) => r.row)).toEqual([`${key} a_224 0`, `${key} a_224 1`, `${key} b_239 0`]);
  });
});
