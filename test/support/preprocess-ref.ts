/**
 * The preprocessing references' shared pieces (test/preprocess-parity.test.ts: shared/golden/preprocess;
 * test/preprocess-border.test.ts: test/fixtures/border-crop): a manifest's timm config as zoo's
 * EvalConfig, and a reference PNG's RGB pixels.
 */
import sharp from 'sharp';
import { expect } from 'vitest';
import type { RgbImage } from '../../src/data/decode.js';
import type { EvalConfig } from '../../src/models/eval-config.js';

/** A config as the reference scripts write it (timm's pretrained_cfg names). */
export interface TimmRefConfig {
  input_size: [number, number, number];
  interpolation: 'bicubic' | 'bilinear';
  mean: [number, number, number];
  std: [number, number, number];
  crop_pct: number;
  crop_mode: 'center' | 'squash' | 'border';
  crop_border_pixels?: number;
}

export function refEvalConfig(c: TimmRefConfig): EvalConfig {
  return {
    inputSize: c.input_size,
    interpolation: c.interpolation,
    mean: c.mean,
    std: c.std,
    cropPct: c.crop_pct,
    cropMode: c.crop_mode,
    ...(c.crop_border_pixels ? { cropBorderPixels: c.crop_border_pixels } : {}),
  };
}

/** A reference PNG's pixels as stored (an embedded sRGB profile is not applied), RGB. */
export async function readRefPng(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(file, { ignoreIcc: true }).raw().toBuffer({ resolveWithObject: true });
  expect(info.channels).toBe(3);
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
