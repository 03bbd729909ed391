/**
 * Issues 2 and 3 ask for model parity of every golden key through the real path (`zoo logits` on a
 * recipe .safetensors). The parity files take their keys from test/support/parity-keys.ts by their own
 * path; this checks those lists cover shared/golden/models/manifest.json exactly, each key once, that
 * each listed file exists and reads its list, and which inputs the manifest gives each key (the
 * parity helpers run every one of them).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/cli.js';
import { GOLDEN_INPUTS, goldenManifest } from './support/golden.js';
import { PARITY_KEYS, type ParityFile } from './support/parity-keys.js';

const manifest = goldenManifest();
const files = Object.keys(PARITY_KEYS) as ParityFile[];

describe('golden parity coverage', () => {
  it('the parity files together run every manifest key, each in exactly one file', () => {
    const listed = files.flatMap((f) => [...PARITY_KEYS[f]]);
    expect(new Set(listed).size, 'a key listed twice').toBe(listed.length);
    expect([...listed].sort()).toEqual(Object.keys(manifest).sort());
    expect(listed.length).toBe(33);
  });

  it.each(files)('%s exists and takes its keys from PARITY_KEYS by its own path', (file) => {
    const source = readFileSync(join(ROOT, file), 'utf8');
    expect(source).toContain(`PARITY_KEYS['${file}']`);
  });

  it('only the big models run outside the main suite (npm run parity)', () => {
    const big = files.filter((f) => f.startsWith('test/parity-big/')).flatMap((f) => [...PARITY_KEYS[f]]);
    expect(big.sort()).toEqual(
      ['efficientnetv2_rw_m', 'resnext101_32x4d', 'resnext101_32x8d', 'resnext101_64x4d', 'tf_efficientnetv2_l', 'tf_efficientnetv2_m', 'tf_efficientnetv2_xl', 'torchvision/efficientnet_v2_l', 'torchvision/efficientnet_v2_m'],
    );
  });

  it('every key has both golden inputs, except CondenseNetV2 (a_224 only: its head pools a fixed 7x7)', () => {
    for (const [key, entry] of Object.entries(manifest)) {
      const want = key.startsWith('official/cdnv2_') ? ['a_224'] : [...GOLDEN_INPUTS];
      expect(Object.keys(entry.outputs), key).toEqual(want);
    }
  });
});
