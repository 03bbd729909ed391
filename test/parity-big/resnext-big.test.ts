/**
 * The ResNeXt-101s (32x4d, 32x8d, 64x4d) against timm's logits at 224 and 239: recipe checkpoint in
 * timm naming, written as .safetensors -> `zoo logits --weights` as a process -> golden/README.md
 * tolerance. Separate from the main suite for time (each builds up to 89M recipe weights); run by
 * `npm run parity`. Their names, shapes and parameter counts are checked in test/parity-resnext.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { keyParity } from '../support/cli.js';
import { GOLDEN_INPUTS } from '../support/golden.js';
import { PARITY_KEYS } from '../support/parity-keys.js';

describe('resnext101 parity', () => {
  for (const key of PARITY_KEYS['test/parity-big/resnext-big.test.ts']) {
    it(`${key} matches timm at 224 and 239 through zoo logits`, async () => {
      expect(await keyParity(key, { timeoutMs: 540_000 })).toEqual({ inputs: [...GOLDEN_INPUTS], failures: {} });
    });
  }
});
