/**
 * decodeRgb failure modes (each a DataError naming the file, never a hang) and conversions that the
 * golden crops cover only indirectly; plus the resize sub-rectangle property the loader relies on.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRgb, jpegComponents, MAX_PIXELS } from '../src/data/decode.js';
import { computeCoeffs, resizeRgb } from '../src/data/resize.js';
import { planResize } from '../src/data/preprocess.js';
import { roundHalfEven } from '../src/util/round.js';
import { DataError } from '../src/errors.js';
import { imagenetConfig } from './support/fixtures.js';

const SAMPLES = join(import.meta.dirname, '..', '..', 'shared', 'samples');
const JPEG = join(SAMPLES, 'val-originals', 'ILSVRC2012_val_00000010.JPEG');
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'zoo-decode-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function failure(file: string): Promise<DataError> {
  const e = await decodeRgb(file).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DataError);
  expect((e as DataError).file).toBe(file);
  return e as DataError;
}

describe('decodeRgb failures', () => {
  it('zero-byte, truncated, not an image, missing: DataError naming the file', async () => {
    const bytes = readFileSync(JPEG);
    const cases: [string, Uint8Array | undefined, RegExp][] = [
      ['empty.JPEG', new Uint8Array(0), /empty/],
      ['truncated.JPEG', bytes.subarray(0, 4000), /cannot decode/],
      ['text.JPEG', new TextEncoder().encode('hello, not a picture\n'), /cannot decode/],
      ['garbage.png', bytes.subarray(1000, 9000), /cannot decode/],
      ['missing.JPEG', undefined, /ENOENT/],
    ];
    for (const [name, data, why] of cases) {
      const file = join(tmp, name);
      if (data) writeFileSync(file, data);
      expect((await failure(file)).oneLine()).toMatch(why);
    }
  });

  it("refuses images over Pillow's decompression-bomb limit before decoding them", async () => {
    // A real JPEG whose frame header claims 20000 x 9000 px (180M > 2 * 89,478,485).
    const bytes = Uint8Array.from(readFileSync(JPEG));
    let sof = 2;
    while (!(bytes[sof + 1]! >= 0xc0 && bytes[sof + 1]! <= 0xc2)) sof += 2 + ((bytes[sof + 2]! << 8) | bytes[sof + 3]!);
    bytes.set([9000 >> 8, 9000 & 255, 20000 >> 8, 20000 & 255], sof + 5);
    expect(20000 * 9000).toBeGreaterThan(MAX_PIXELS);
    const file = join(tmp, 'bomb.JPEG');
    writeFileSync(file, bytes);
    expect((await failure(file)).oneLine()).toMatch(/decompression-bomb/);
  });
});

describe('decodeRgb conversions', () => {
  it('gray JPEG becomes three equal channels; EXIF orientation is not applied', async () => {
    const gray = await decodeRgb(join(SAMPLES, 'edge', 'gray.JPEG'));
    for (let i = 0; i < gray.data.length; i += 3) {
      if (gray.data[i] !== gray.data[i + 1] || gray.data[i] !== gray.data[i + 2]) throw new Error(`pixel ${i / 3}`);
    }
    const rotated = await decodeRgb(join(SAMPLES, 'edge', 'exif_orientation6.JPEG'));
    expect([rotated.width, rotated.height]).toEqual([500, 375]);
  });

  it('reads the JPEG component count from the frame header', () => {
    expect(jpegComponents(readFileSync(join(SAMPLES, 'edge', 'cmyk.JPEG')))).toBe(4);
    expect(jpegComponents(readFileSync(join(SAMPLES, 'edge', 'gray.JPEG')))).toBe(1);
    expect(jpegComponents(readFileSync(JPEG))).toBe(3);
    expect(jpegComponents(readFileSync(join(SAMPLES, 'edge', 'rgb.png')))).toBe(0);
  });

  it('RGBA PNG: alpha dropped without compositing (Pillow rgba2rgb)', async () => {
    const rgba = await sharp(join(SAMPLES, 'edge', 'rgba.png')).raw().toBuffer({ resolveWithObject: true });
    expect(rgba.info.channels).toBe(4);
    const ours = await decodeRgb(join(SAMPLES, 'edge', 'rgba.png'));
    for (let p = 0; p < ours.width * ours.height; p++) {
      for (let c = 0; c < 3; c++) if (ours.data[p * 3 + c] !== rgba.data[p * 4 + c]) throw new Error(`pixel ${p}`);
    }
  });
});

describe('resize geometry', () => {
  it('a sub-rectangle equals the full resize cropped, for both filters, up- and downscaling', async () => {
    const img = await decodeRgb(JPEG);
    for (const filter of ['bicubic', 'bilinear'] as const) {
      for (const [w, h] of [
        [341, 256],
        [700, 523],
        [500, 120],
        [97, 375],
      ] as const) {
        const full = resizeRgb(img, w, h, filter);
        const r = { left: Math.floor(w / 5), top: Math.floor(h / 7), width: Math.floor(w / 2), height: Math.floor(h / 3) };
        const part = resizeRgb(img, w, h, filter, r);
        for (let y = 0; y < r.height; y++) {
          const a = full.data.subarray(((r.top + y) * w + r.left) * 3, ((r.top + y) * w + r.left + r.width) * 3);
          const b = part.data.subarray(y * r.width * 3, (y + 1) * r.width * 3);
          expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true);
        }
      }
    }
  });

  it('coefficients of each output sum to 1.0 in 22-bit fixed point, within rounding', () => {
    const c = computeCoeffs(500, 341, 'bicubic');
    for (let i = 0; i < 341; i++) {
      let s = 0;
      for (let t = 0; t < c.count[i]!; t++) s += c.k[i * c.ksize + t]!;
      expect(Math.abs(s - (1 << 22))).toBeLessThanOrEqual(c.count[i]!);
    }
  });

  it('torchvision sizes and half-to-even centre offsets', () => {
    const cfg = imagenetConfig(224);
    expect([roundHalfEven(16.5), roundHalfEven(17.5), roundHalfEven(3), roundHalfEven(2.5)]).toEqual([16, 18, 3, 2]);
    // 500x333: short side 256, long int(256*500/333) = 384; crop offsets round((384-224)/2)=80, round((256-224)/2)=16.
    const p = planResize(500, 333, cfg);
    expect([p.resizeW, p.resizeH, p.keep.left, p.keep.top]).toEqual([384, 256, 80, 16]);
    // Crop larger than the image (crop_pct > 1): torchvision pads with zeros, image centred.
    const q = planResize(100, 100, { ...cfg, cropPct: 1.2 });
    expect([q.resizeW, q.keep.width, q.padLeft, q.padTop]).toEqual([186, 186, 19, 19]);
  });
});
