/**
 * ReXNet model parity: for every ReXNet key of shared/golden/models, the WEIGHTS.md recipe
 * checkpoint in upstream naming, written as .safetensors and run by `zoo logits --weights` as a
 * process, gives the reference logits (golden/README.md tolerance) on both golden inputs. The same
 * checkpoint is recorded in-process at each input size for the names, shapes and parameter count.
 */
import { describe, expect, it } from 'vitest';
import { WeightsError } from '../src/errors.js';
import type { Architecture } from '../src/models/arch.js';
import { architectures } from '../src/models/rexnet.js';
import { recordGraph } from '../src/models/record.js';
import { keyParity } from './support/cli.js';
import { GOLDEN_INPUTS, goldenManifest, readGolden, recipeCheckpoint } from './support/golden.js';
import { PARITY_KEYS } from './support/parity-keys.js';

const manifest = goldenManifest();
const keys = PARITY_KEYS['test/parity-rexnet.test.ts'];

function archFor(key: string): Architecture {
  const a = architectures.find((x) => x.goldenKey === key);
  if (!a) throw new Error(`no ReXNet architecture has goldenKey ${key}`);
  return a;
}

describe('ReXNet parity with the upstream implementations', () => {
  it('covers every ReXNet key of the golden manifest (timm, official v1, official lite)', () => {
    expect(keys).toContain('rexnet_100');
    expect(keys).toContain('official/rexnetv1_1.0x');
    expect(keys).toContain('official/rexnet_lite_2.0x');
    expect(keys.length).toBe(12);
    expect([...keys].sort()).toEqual(Object.keys(manifest).filter((k) => /rexnet/.test(k)).sort());
  });

  for (const key of keys) {
    it(key, async () => {
      const arch = archFor(key);
      const weights = recipeCheckpoint(key);
      const entry = manifest[key]!;
      for (const input of GOLDEN_INPUTS) {
        const [, , h, w] = readGolden(key, input).input.shape as [number, number, number, number];
        const graph = recordGraph(arch.forward, { size: [h, w], weights, weightsFile: key });
        expect(graph.params, `${key} ${input}`).toBe(entry.params);
      }
      expect(await keyParity(key, { weights })).toEqual({ inputs: [...GOLDEN_INPUTS], failures: {} });
    });
  }

  it('refuses a checkpoint of another width, naming the tensors that differ', () => {
    const rexnet100 = archFor('rexnet_100');
    let err: unknown;
    try {
      recordGraph(rexnet100.forward, { size: [224, 224], weights: recipeCheckpoint('rexnet_130'), weightsFile: 'rexnet_130.safetensors' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WeightsError);
    const e = err as WeightsError;
    expect(e.file).toBe('rexnet_130.safetensors');
    // rexnet_130's stem has 42 channels where rexnet_100's has 32.
    expect(e.message).toContain('stem.conv.weight shape 42x3x3x3, model needs 32x3x3x3');
    expect(e.message).toMatch(/\d+ tensor\(s\) differ/);
  });

  it('refuses a checkpoint in another naming (official weights into the timm model)', () => {
    const record = () =>
      recordGraph(archFor('rexnet_100').forward, { size: [224, 224], weights: recipeCheckpoint('official/rexnetv1_1.0x') });
    expect(record).toThrow(WeightsError);
    // Every timm tensor is missing and every official one is unexpected (351 + 351 + the rest).
    expect(record).toThrow(/stem\.conv\.weight missing \(model needs 32x3x3x3\).*\(351 missing\)|\(351 missing\).*stem\.conv\.weight missing/);
  });

  it('official v1 widths without golden logits have the same structure as timm (same params)', () => {
    for (const width of ['1.3', '1.5', '2.0', '3.0']) {
      const official = architectures.find((a) => a.name === `rexnetv1_${width}x`)!;
      const timm = architectures.find((a) => a.name === `rexnet_${Math.round(Number(width) * 100)}`)!;
      const p = (a: Architecture) => recordGraph(a.forward, { size: [224, 224] }).params;
      expect(p(official), width).toBe(p(timm));
    }
  });
});
