/**
 * timm's crop_mode 'border' and crop_border_pixels (TrimBorder), byte for byte: zoo's uint8 crop
 * of sample images (portrait, landscape, tiny, gray, CMYK, a 1200x150 strip) under several configs
 * (bicubic/bilinear, crop_pct 0.875..1.0, square and non-square sizes, trims in every crop mode)
 * equals the PNG that test/reference/border_crop.py made with Pillow 9.4 following timm's
 * transforms_imagenet_eval. That script first reproduces shared/golden/preprocess's centre crops
 * (made with timm + torchvision 0.14) byte for byte, so PIL is a valid reference for the steps it
 * writes out. Both JPEG decoders run: the libjpeg-turbo addon (when built) and sharp.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeRgbWith, type RgbImage } from '../src/data/decode.js';
import { ADDON_PATH } from '../src/data/jpeg-turbo.js';
import { fastCrop } from '../src/data/pipeline.js';
import { cropResize, planResize, trimRect } from '../src/data/preprocess.js';
import { cropKeyConfig } from '../src/data/crop-cache.js';
import { DataError } from '../src/errors.js';
import { borderFill, IMAGENET_MEAN, IMAGENET_STD, type EvalConfig } from '../src/models/eval-config.js';
import { SHARED } from './support/fixtures.js';
import { readRefPng, refEvalConfig, type TimmRefConfig } from './support/preprocess-ref.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'border-crop');

interface Manifest {
  configs: Record<string, TimmRefConfig>;
  crops: { image: string; config: string; reference: string; size: [number, number] }[];
}

const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as Manifest;

function differs(a: RgbImage, b: RgbImage): string | undefined {
  if (a.width !== b.width || a.height !== b.height) return `${a.width}x${a.height} vs ${b.width}x${b.height}`;
  let count = 0;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) count++;
  return count === 0 ? undefined : `${count} bytes differ`;
}

const decoders = existsSync(ADDON_PATH) ? (['libjpeg-turbo', 'sharp'] as const) : (['sharp'] as const);

describe('crop mode border and crop_border_pixels equal timm (Pillow 9.4 reference)', () => {
  it('covers every config of the reference on several images', () => {
    expect(new Set(manifest.crops.map((c) => c.config)).size).toBe(Object.keys(manifest.configs).length);
    expect(manifest.crops.length).toBeGreaterThanOrEqual(25);
  });

  for (const decoder of decoders) {
    it(`every reference crop, byte for byte (${decoder} decoder)`, async () => {
      const bad: string[] = [];
      const decoded = new Map<string, RgbImage>();
      for (const c of manifest.crops) {
        let img = decoded.get(c.image);
        if (!img) decoded.set(c.image, (img = await decodeRgbWith(decoder, readFileSync(join(SHARED, 'samples', c.image)), c.image)));
        const why = differs(cropResize(img, refEvalConfig(manifest.configs[c.config]!)), await readRefPng(join(FIXTURES, c.reference)));
        if (why) bad.push(`${c.image} ${c.config}: ${why}`);
      }
      expect(bad).toEqual([]);
    });
  }

  it('the fast resize pads with the same mean colour and trims as the exact path does', async () => {
    const c = manifest.crops.find((x) => x.image.startsWith('val-originals') && x.config === 'border-224-bicubic-0.875')!;
    const cfg = refEvalConfig(manifest.configs[c.config]!);
    const file = join(SHARED, 'samples', c.image);
    const fast = await fastCrop(file, cfg);
    const plan = planResize(375, 500, cfg);
    expect(plan.padLeft).toBeGreaterThan(0); // a portrait in a square: columns of padding
    expect([...fast.data.subarray(0, 3)]).toEqual([124, 116, 104]);
    const trimmed = refEvalConfig(manifest.configs['border-64x96-bicubic-0.875-trim3']!);
    const exact = cropResize(await decodeRgbWith('sharp', readFileSync(file), c.image), trimmed);
    expect(differs(await fastCrop(file, trimmed), exact)).toBeUndefined();
  });

  it("the padding colour is timm's round(255 * mean), Python rounding, clipped as Pillow clips a fill", () => {
    expect(borderFill(IMAGENET_MEAN)).toEqual([124, 116, 104]);
    expect(borderFill([0.5, 0.5, 0.5])).toEqual([128, 128, 128]); // 127.5 -> 128 (even)
    expect(borderFill([2, -0.1, 0.4980392156862745])).toEqual([255, 0, 127]);
  });

  it('the crop cache keys border crops by their padding colour and trimmed crops by the trim; other keys are unchanged', () => {
    const center: EvalConfig = { inputSize: [3, 224, 224], interpolation: 'bicubic', mean: IMAGENET_MEAN, std: IMAGENET_STD, cropPct: 0.875, cropMode: 'center' };
    expect(cropKeyConfig(center, 'exact')).toBe('size=224x224 crop_pct=0.875 crop_mode=center interpolation=bicubic resize=exact');
    expect(cropKeyConfig({ ...center, mean: [0.5, 0.5, 0.5] }, 'exact')).toBe(cropKeyConfig(center, 'exact'));
    const border: EvalConfig = { ...center, cropMode: 'border' };
    expect(cropKeyConfig(border, 'exact')).toBe('size=224x224 crop_pct=0.875 crop_mode=border interpolation=bicubic resize=exact fill=124,116,104');
    expect(cropKeyConfig({ ...border, mean: [0.5, 0.5, 0.5] }, 'exact')).not.toBe(cropKeyConfig(border, 'exact'));
    expect(cropKeyConfig({ ...center, cropBorderPixels: 3 }, 'exact')).toBe(`${cropKeyConfig(center, 'exact')} crop_border_pixels=3`);
  });

  it('an image the trim or the border fit leaves empty is a bad image, in one line', () => {
    expect(() => trimRect(10, 4, 2)).toThrow(DataError);
    expect(() => trimRect(10, 4, 2)).toThrow('a 10x4 image has nothing left after trimming 2 pixels off each side');
    expect(trimRect(10, 5, 2)).toEqual({ left: 2, top: 2, width: 6, height: 1 });
    const border: EvalConfig = { inputSize: [3, 224, 224], interpolation: 'bicubic', mean: IMAGENET_MEAN, std: IMAGENET_STD, cropPct: 1, cropMode: 'border' };
    expect(() => planResize(2000, 1, border)).toThrow(/too thin for crop mode border: it scales to 224x0/);
  });
});
