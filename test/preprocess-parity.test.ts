/**
 * Link 1 of the parity chain: for every image and timm config in shared/golden/preprocess, our uint8
 * crop (sharp decode + Pillow-port resize + torchvision centre crop) equals the reference PNG that
 * Pillow 9.4 + torchvision 0.14 produced, byte for byte.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeRgb, type RgbImage } from '../src/data/decode.js';
import { cropResize } from '../src/data/preprocess.js';
import type { EvalConfig } from '../src/models/eval-config.js';

const SHARED = join(import.meta.dirname, '..', '..', 'shared');
const GOLDEN = join(SHARED, 'golden', 'preprocess');

interface ManifestConfig {
  input_size: [number, number, number];
  interpolation: 'bicubic' | 'bilinear';
  mean: [number, number, number];
  std: [number, number, number];
  crop_pct: number;
  crop_mode: 'center' | 'squash';
}
interface Manifest {
  configs: Record<string, ManifestConfig>;
  images: Record<string, Record<string, { reference: string; size: [number, number] }>>;
}

const manifest = JSON.parse(readFileSync(join(GOLDEN, 'manifest.json'), 'utf8')) as Manifest;

function toEvalConfig(c: ManifestConfig): EvalConfig {
  return {
    inputSize: c.input_size,
    interpolation: c.interpolation,
    mean: c.mean,
    std: c.std,
    cropPct: c.crop_pct,
    cropMode: c.crop_mode,
  };
}

async function readReference(file: string): Promise<RgbImage> {
  // The reference PNGs carry no ICC profile; take their pixels as stored.
  const { data, info } = await sharp(join(GOLDEN, file), { ignoreIcc: true }).raw().toBuffer({ resolveWithObject: true });
  expect(info.channels).toBe(3);
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

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
          const crop = cropResize(decoded, toEvalConfig(manifest.configs[tag]!));
          const want = await readReference(ref.reference);
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
