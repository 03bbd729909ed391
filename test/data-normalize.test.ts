import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normalizeTable } from '../src/data/preprocess.js';
import type { EvalConfig } from '../src/models/eval-config.js';

// fixtures/normalize-torch.json was computed by PyTorch 1.13 with timm's PrefetchLoader arithmetic
// (uint8 -> float32, sub_(mean*255), div_(std*255)), which is what validate.py feeds the model.
const ref = JSON.parse(readFileSync(new URL('../fixtures/normalize-torch.json', import.meta.url), 'utf8')) as Record<
  string,
  { mean: [number, number, number]; std: [number, number, number]; table: number[][] }
>;

describe('normalisation matches timm validate.py to the bit', () => {
  for (const [name, r] of Object.entries(ref)) {
    it(name, () => {
      const cfg: EvalConfig = { inputSize: [3, 224, 224], interpolation: 'bicubic', mean: r.mean, std: r.std, cropPct: 0.875, cropMode: 'center' };
      const lut = normalizeTable(cfg);
      for (let c = 0; c < 3; c++) expect([...lut.subarray(c * 256, c * 256 + 256)]).toEqual(r.table[c]);
    });
  }
});
