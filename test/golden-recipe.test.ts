import { describe, expect, it } from 'vitest';
import { fnv1a32, recipeCheckpoint, recipeUniform } from './support/golden.js';

// The test vectors of shared/golden/WEIGHTS.md: if these fail, every parity test is meaningless.
describe('closed-form weight recipe', () => {
  it('hashes and draws as WEIGHTS.md says', () => {
    expect(fnv1a32('stem.conv.weight')).toBe(0xad01f31a);
    expect([...recipeUniform('stem.conv.weight', 3)]).toEqual([0.06089417217299342, -0.5413556061685085, -0.2998070609755814]);
  });

  it('builds the rexnet_100 checkpoint with the documented values', () => {
    const ck = recipeCheckpoint('rexnet_100');
    const w = ck.get('stem.conv.weight')!.data as Float32Array;
    expect([...w.slice(0, 4)]).toEqual([0.028705788776278496, -0.2551974654197693, -0.14133040606975555, 0.3130587637424469]);
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(3.71978057, 5);
    expect([...(ck.get('stem.bn.weight')!.data as Float32Array).slice(0, 4)]).toEqual([
      0.9725058674812317, 1.1342238187789917, 1.1521624326705933, 1.1809718608856201,
    ]);
    expect([...(ck.get('head.fc.bias')!.data as Float32Array).slice(0, 4)]).toEqual([
      0.0754120871424675, 0.042326074093580246, 0.0553056076169014, -0.029926197603344917,
    ]);
  });

  it('builds CondenseNetV2 index tensors', () => {
    const ck = recipeCheckpoint('official/cdnv2_a');
    const sel = ck.get('features.denseblock_1.denselayer_1.sfr.index')!.data as Float32Array;
    expect(sel.reduce((a, b) => a + b, 0)).toBe(63);
    const idx = [...(ck.get('features.denseblock_1.denselayer_1.conv_1.index')!.data as BigInt64Array)].map(Number);
    expect(idx.slice(0, 4)).toEqual([14, 6, 13, 7]);
    expect(idx.reduce((a, b) => a + b, 0)).toBe(141);
  });
});
