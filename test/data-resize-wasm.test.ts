/**
 * The WebAssembly SIMD resize equals the JavaScript port byte for byte (which preprocess-parity.test.ts
 * ties to Pillow): a seeded property test over image sizes from 1x1 to 4000x3000, up- and downscaling,
 * both filters, skipped passes and random kept regions; plus real JPEGs through the whole crop, and the
 * committed .wasm against a fresh build of its source.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeRgb, type RgbImage } from '../src/data/decode.js';
import { planResize } from '../src/data/preprocess.js';
import { resizeBackend, resizeRgbJs, resizeRgbWasm, type Rect, type ResampleFilter } from '../src/data/resize.js';
import { wasmResampler, wasmUnavailableReason } from '../src/data/resize-wasm.js';
import type { EvalConfig } from '../src/models/eval-config.js';
// @ts-expect-error: a plain .mjs build script, no type declarations
import { assemble } from '../wasm/build.mjs';
import { mulberry32 } from './support/random.js';

const ROOT = join(import.meta.dirname, '..');
const SAMPLES = join(ROOT, '..', 'shared', 'samples');

function randomImage(rand: () => number, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  const kind = rand();
  if (kind < 0.5) {
    // Noise: every tap pattern, and bicubic overshoot that hits both ends of the clamp.
    for (let i = 0; i < data.length; i++) data[i] = (rand() * 256) | 0;
  } else if (kind < 0.75) {
    // Hard 0/255 edges: the largest over- and undershoot.
    const cell = 1 + ((rand() * 5) | 0);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const v = ((((x / cell) | 0) + ((y / cell) | 0)) & 1) * 255;
        data.set([v, 255 - v, v], (y * width + x) * 3);
      }
  } else {
    // Smooth gradients, as in photographs.
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) data.set([(x * 7) & 255, (y * 5) & 255, ((x + y) * 3) & 255], (y * width + x) * 3);
  }
  return { width, height, data };
}

function randomRegion(rand: () => number, outW: number, outH: number): Rect {
  if (rand() < 0.3) return { left: 0, top: 0, width: outW, height: outH };
  const width = 1 + Math.floor(rand() * outW);
  const height = 1 + Math.floor(rand() * outH);
  return {
    left: Math.floor(rand() * (outW - width + 1)),
    top: Math.floor(rand() * (outH - height + 1)),
    width,
    height,
  };
}

function sideFor(rand: () => number, inSize: number): number {
  const r = rand();
  if (r < 0.15) return inSize; // pass skipped
  if (r < 0.3) return 1 + Math.floor(rand() * 4); // extreme shrink
  if (r < 0.65) return Math.max(1, Math.floor(inSize * (0.05 + rand() * 0.95))); // downscale
  return inSize + 1 + Math.floor(rand() * Math.min(3 * inSize, 700)); // upscale
}

function expectSame(img: RgbImage, outW: number, outH: number, filter: ResampleFilter, region: Rect): void {
  const js = resizeRgbJs(img, outW, outH, filter, region);
  const wasm = resizeRgbWasm(img, outW, outH, filter, region);
  const what = `${img.width}x${img.height} -> ${outW}x${outH} ${filter} ${JSON.stringify(region)}`;
  expect([wasm.width, wasm.height], what).toEqual([js.width, js.height]);
  // Buffer.compare: one fast check, and the first differing byte only when it fails.
  if (Buffer.compare(Buffer.from(wasm.data), Buffer.from(js.data)) !== 0) {
    const i = wasm.data.findIndex((v, k) => v !== js.data[k]);
    expect.fail(`${what}: byte ${i} is ${wasm.data[i]}, JavaScript ${js.data[i]}`);
  }
}

describe('WebAssembly SIMD resize', () => {
  it('is available here and used by resizeRgb', () => {
    expect(wasmUnavailableReason).toBeNull();
    expect(wasmResampler).not.toBeNull();
    expect(resizeBackend).toBe(process.env['ZOO_RESIZE_JS'] === '1' ? 'js' : 'wasm-simd');
  });

  it('equals the JavaScript resize on 600 random small and medium cases', () => {
    const rand = mulberry32(20240606);
    for (let n = 0; n < 600; n++) {
      const maxSide = n < 200 ? 8 : n < 400 ? 64 : 700;
      const w = 1 + Math.floor(rand() * maxSide);
      const h = 1 + Math.floor(rand() * maxSide);
      const img = randomImage(rand, w, h);
      const outW = sideFor(rand, w);
      const outH = sideFor(rand, h);
      const filter: ResampleFilter = rand() < 0.5 ? 'bicubic' : 'bilinear';
      expectSame(img, outW, outH, filter, randomRegion(rand, outW, outH));
    }
  });

  it('equals the JavaScript resize on 4000x3000-like images, down to eval sizes and up', () => {
    const rand = mulberry32(7);
    const big = { width: 4000, height: 3000, data: new Uint8Array(4000 * 3000 * 3) };
    for (let i = 0; i < big.data.length; i++) big.data[i] = (rand() * 256) | 0; // noise
    for (const filter of ['bicubic', 'bilinear'] as const) {
      expectSame(big, 341, 256, filter, { left: 58, top: 16, width: 224, height: 224 });
      expectSame(big, 4000, 300, filter, randomRegion(rand, 4000, 300));
    }
    const tall = randomImage(rand, 1500, 3999);
    expectSame(tall, 256, 682, 'bicubic', { left: 16, top: 229, width: 224, height: 224 });
    expectSame(tall, 1501, 5000, 'bilinear', { left: 700, top: 2000, width: 300, height: 200 });
  });

  it('equals the JavaScript resize on the eval crops of real JPEGs, for several configs', async () => {
    const files = [
      join(SAMPLES, 'val-originals', 'ILSVRC2012_val_00000010.JPEG'),
      join(SAMPLES, 'val-originals', 'ILSVRC2012_val_00006666.JPEG'),
      join(SAMPLES, 'val-496', 'ILSVRC2012_val_00000001.JPEG'),
      join(SAMPLES, 'edge', 'huge_4000x3000.JPEG'),
      join(SAMPLES, 'edge', 'gray.JPEG'),
    ];
    const cfgs: EvalConfig[] = [
      { inputSize: [3, 224, 224], interpolation: 'bicubic', mean: [0, 0, 0], std: [1, 1, 1], cropPct: 0.875, cropMode: 'center' },
      { inputSize: [3, 384, 384], interpolation: 'bicubic', mean: [0, 0, 0], std: [1, 1, 1], cropPct: 1.0, cropMode: 'center' },
      { inputSize: [3, 288, 288], interpolation: 'bilinear', mean: [0, 0, 0], std: [1, 1, 1], cropPct: 0.95, cropMode: 'squash' },
    ];
    for (const file of files) {
      const img = await decodeRgb(file);
      for (const cfg of cfgs) {
        const plan = planResize(img.width, img.height, cfg);
        expectSame(img, plan.resizeW, plan.resizeH, cfg.interpolation, plan.keep);
      }
    }
  });

  it('reuses its memory: repeated resizes of one size do not grow it', () => {
    const img = randomImage(mulberry32(3), 500, 375);
    const region = { left: 58, top: 16, width: 224, height: 224 };
    resizeRgbWasm(img, 341, 256, 'bicubic', region);
    const after1 = wasmResampler!.memoryBytes;
    for (let i = 0; i < 20; i++) resizeRgbWasm(img, 341, 256, 'bicubic', region);
    expect(wasmResampler!.memoryBytes).toBe(after1);
  });

  it('rejects a region outside the output, as the JavaScript path does', () => {
    const img = randomImage(mulberry32(1), 10, 10);
    expect(() => resizeRgbWasm(img, 5, 5, 'bicubic', { left: 1, top: 0, width: 5, height: 5 })).toThrow(RangeError);
  });

  it('the committed wasm/resize.wasm is what wasm/resize.wat assembles to', async () => {
    const committed = new Uint8Array(readFileSync(join(ROOT, 'wasm', 'resize.wasm')));
    const fresh = (await assemble()) as Uint8Array;
    expect(Buffer.compare(Buffer.from(fresh), Buffer.from(committed)), 'run npm run build:wasm').toBe(0);
  });
});
