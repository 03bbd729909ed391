/**
 * Link 1 of the parity chain: for every image and timm config in shared/golden/preprocess, our uint8
 * crop (sharp decode + Pillow-port resize + torchvision centre crop) equals the reference PNG that
 * Pillow 9.4 + torchvision 0.14 produced, byte for byte.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeRgb } from '../src/data/decode.js';
import { cropResize } from '../src/data/preprocess.js';
import { SHARED } from './support/fixtures.js';
import { readRefPng, refEvalConfig, type TimmRefConfig } from './support/preprocess-ref.js';

const GOLDEN = join(SHARED, 'golden', 'preprocess');

interface Manifest {
  configs: Record<string, TimmRefConfig>;
  images: Record<string, Record<string, { reference: string; size: [number, number] }>>;
}

const manifest = JSON.parse(readFileSync(join(GOLDEN, 'manifest.json'), 'utf8')) as Manifest;

function diffStats(a: Uint8Array, b: Uint8Array): { max: number; count: number } {
  let max = 0;
  let count = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d > 0) count++;
    if (d > max) max = d;
  }
  return { max, count };
}

const groups = ['val-originals', 'val-496', 'edge'] as const;

describe('preprocess parity with Pillow + torchvision', () => {
  for (const group of groups) {
    const images = Object.keys(manifest.images).filter((k) => k.startsWith(`${group}/`));
    it(`${group}: ${images.length} images x ${Object.keys(manifest.configs).length} configs are byte-identical`, async () => {
      expect(images.length).toBeGreaterThan(0);
      const mismatches: string[] = [];
      let compared = 0;
      for (const image of images) {
        const decoded = await decodeRgb(join(SHARED, 'samples', image));
        for (const [tag, ref] of Object.entries(manifest.images[image]!)) {
          const crop = cropResize(decoded, refEvalConfig(manifest.configs[tag]!));
          const want = await readRefPng(join(GOLDEN, ref.reference));
          expect([crop.width, crop.height]).toEqual([want.width, want.height]);
          const { max, count } = diffStats(crop.data, want.data);
          if (count > 0) mismatches.push(`${image} ${tag}: ${count} bytes differ, max ${max}`);
          compared++;
        }
      }
      expect(compared).toBeGreaterThan(0);
      expect(mismatches).toEqual([]);
    });
  }
});
