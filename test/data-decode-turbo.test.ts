/**
 * The libjpeg-turbo addon against the sharp path, decoder against decoder in one process: the same
 * pixels for every sample image (edge cases included) and for variants made here, with sharp's
 * encoder and with a small encoder of our own (test/support/jpeg-writer.ts: restart intervals,
 * sampling factors and RGB-coded files sharp cannot write); and the same DataError, word for word,
 * for damaged files. (The golden crops are checked through decodeRgb by preprocess-parity.test.ts,
 * which runs the addon when it is built and sharp under ZOO_DECODER=sharp; CI runs both.) Skipped
 * when the addon is not built: CI builds it with `node native/build.mjs --strict`, so there it runs.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeRgbWith, MAX_PIXELS, type RgbImage } from '../src/data/decode.js';
import { ADDON_PATH } from '../src/data/jpeg-turbo.js';
import { DataError } from '../src/errors.js';
import { SHARED } from './support/fixtures.js';
import { encodeJpeg, type JpegWriterOptions } from './support/jpeg-writer.js';
import { mulberry32 } from './support/random.js';

const SAMPLES = join(SHARED, 'samples');
const built = existsSync(ADDON_PATH);

function sameImage(a: RgbImage, b: RgbImage): string | undefined {
  if (a.width !== b.width || a.height !== b.height) return `${a.width}x${a.height} vs ${b.width}x${b.height}`;
  if (a.data.length !== b.data.length) return `${a.data.length} vs ${b.data.length} bytes`;
  let count = 0;
  let max = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i]! - b.data[i]!);
    if (d > 0) count++;
    if (d > max) max = d;
  }
  return count === 0 ? undefined : `${count} bytes differ, max ${max}`;
}

/** What a decoder makes of the bytes: the pixels, or the DataError's one line. */
async function outcome(decoder: 'libjpeg-turbo' | 'sharp', bytes: Uint8Array, name: string): Promise<RgbImage | string> {
  return decodeRgbWith(decoder, bytes, name).then(
    (img) => img,
    (e: unknown) => (e instanceof DataError ? e.oneLine() : `not a DataError: ${String(e)}`),
  );
}

async function compare(bytes: Uint8Array, name: string): Promise<string | undefined> {
  const [turbo, viaSharp] = [await outcome('libjpeg-turbo', bytes, name), await outcome('sharp', bytes, name)];
  if (typeof turbo === 'string' || typeof viaSharp === 'string') {
    return turbo === viaSharp ? undefined : `${name}: turbo ${typeof turbo === 'string' ? turbo : 'decoded'} / sharp ${typeof viaSharp === 'string' ? viaSharp : 'decoded'}`;
  }
  const diff = sameImage(turbo, viaSharp);
  return diff && `${name}: ${diff}`;
}

describe.skipIf(!built)('libjpeg-turbo addon vs sharp', () => {
  it('every sample image (edge/, val-originals/, val-496/) decodes to the same bytes', async () => {
    const files = ['edge', 'val-originals', 'val-496'].flatMap((d) => readdirSync(join(SAMPLES, d)).map((f) => join(SAMPLES, d, f)));
    expect(files.length).toBeGreaterThan(100);
    const mismatches: string[] = [];
    for (const file of files) {
      const m = await compare(readFileSync(file), file);
      if (m) mismatches.push(m);
    }
    expect(mismatches).toEqual([]);
  });

  it('re-encoded variants (quality, subsampling, progressive, gray, CMYK, odd sizes) decode to the same bytes', async () => {
    const rand = mulberry32(15);
    const sources = ['val-originals/ILSVRC2012_val_00000010.JPEG', 'edge/wide.JPEG', 'edge/subsampling444.JPEG'].map((f) => join(SAMPLES, f));
    const mismatches: string[] = [];
    let variants = 0;
    for (let i = 0; i < 24; i++) {
      const source = sources[i % sources.length]!;
      // Odd sizes exercise partial MCUs and the last row/column of fancy upsampling.
      const width = 1 + Math.floor(rand() * 97);
      const height = 1 + Math.floor(rand() * 83);
      const quality = 5 + Math.floor(rand() * 96);
      const chromaSubsampling = rand() < 0.5 ? '4:2:0' : '4:4:4';
      const progressive = rand() < 0.4;
      const colour = rand();
      let pipeline = sharp(source).resize(width, height, { fit: 'fill' });
      if (colour < 0.15) pipeline = pipeline.toColourspace('b-w');
      else if (colour < 0.3) pipeline = pipeline.toColourspace('cmyk');
      const bytes = await pipeline.jpeg({ quality, chromaSubsampling, progressive, optimiseCoding: rand() < 0.5 }).toBuffer();
      const name = `variant ${i} (${width}x${height} q${quality} ${chromaSubsampling}${progressive ? ' progressive' : ''}${colour < 0.15 ? ' gray' : colour < 0.3 ? ' cmyk' : ''})`;
      const m = await compare(bytes, name);
      if (m) mismatches.push(m);
      variants++;
    }
    expect(variants).toBe(24);
    expect(mismatches).toEqual([]);
  });

  it('variants sharp cannot encode (restart intervals, 4:2:2, 4:4:0, 4:1:1, 3x1 and other factors, RGB-coded, gray) decode to the same bytes', async () => {
    const rand = mulberry32(1505);
    const source = join(SAMPLES, 'val-originals', 'ILSVRC2012_val_00000666.JPEG');
    const samplings: [number, number][] = [[1, 1], [2, 1], [2, 2], [1, 2], [4, 1], [1, 4], [3, 1], [4, 2], [2, 3]];
    const colours: JpegWriterOptions['colour'][] = ['ycc', 'ycc', 'ycc', 'rgb', 'gray'];
    const mismatches: string[] = [];
    const restarts = new Set<number>();
    for (let i = 0; i < 18; i++) {
      const width = 1 + Math.floor(rand() * 70);
      const height = 1 + Math.floor(rand() * 60);
      const { data } = await sharp(source).resize(width, height, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const rgb = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      // Fine tables (all ones) now and then: large coefficients, long Huffman values.
      const fine = rand() < 0.2;
      const table = () => Uint8Array.from({ length: 64 }, () => (fine ? 1 : 1 + Math.floor(rand() * 16)));
      const opts: JpegWriterOptions = {
        colour: colours[i % colours.length]!,
        sampling: samplings[i % samplings.length]!,
        restartInterval: i % 3 === 0 ? 0 : 1 + Math.floor(rand() * 4),
        quant: [table(), table()],
      };
      restarts.add(opts.restartInterval);
      const bytes = encodeJpeg(rgb, width, height, opts);
      const name = `made ${i} (${width}x${height} ${opts.colour} ${opts.sampling.join('x')} restart ${opts.restartInterval}${fine ? ' q1' : ''})`;
      const turbo = await outcome('libjpeg-turbo', bytes, name);
      // The encoder's own check: the file decodes, to roughly the source (lossy, so not exactly).
      if (typeof turbo === 'string') {
        mismatches.push(`${name}: ${turbo}`);
        continue;
      }
      let err = 0;
      for (let p = 0; p < width * height; p++) {
        const [r, g, b] = [rgb[p * 3]!, rgb[p * 3 + 1]!, rgb[p * 3 + 2]!];
        const want = opts.colour === 'gray' ? [0.299 * r + 0.587 * g + 0.114 * b, 0, 0] : [r, g, b];
        for (let c = 0; c < (opts.colour === 'gray' ? 1 : 3); c++) err += Math.abs(turbo.data[p * 3 + c]! - want[c]!);
      }
      const meanError = err / (width * height * (opts.colour === 'gray' ? 1 : 3));
      if (meanError > 20) mismatches.push(`${name}: mean error ${meanError.toFixed(1)} from the source`);
      // Restart markers change the stream, not the coefficients: the pixels equal the same encoding without them.
      if (opts.restartInterval > 0) {
        const plain = await outcome('libjpeg-turbo', encodeJpeg(rgb, width, height, { ...opts, restartInterval: 0 }), `${name} without restarts`);
        if (typeof plain === 'string' || sameImage(plain, turbo)) mismatches.push(`${name}: differs from the same encoding without restart markers`);
      }
      const m = await compare(bytes, name);
      if (m) mismatches.push(m);
    }
    expect(mismatches).toEqual([]);
    expect(restarts.size).toBeGreaterThan(2);
  });

  it('damaged files fail (or decode) the same way: cut, flipped bytes, no EOI, bad markers, pixel bombs', async () => {
    const whole = readFileSync(join(SAMPLES, 'val-originals', 'ILSVRC2012_val_00030010.JPEG'));
    const cases: [string, Uint8Array][] = [
      ['half.JPEG', whole.subarray(0, whole.length >> 1)],
      ['header-only.JPEG', whole.subarray(0, 400)],
      ['soi-only.JPEG', Uint8Array.from([0xff, 0xd8, 0xff])],
      ['no-eoi.JPEG', whole.subarray(0, whole.length - 2)],
      ['cut-then-eoi.JPEG', Buffer.concat([whole.subarray(0, whole.length >> 1), Buffer.from([0xff, 0xd9])])],
    ];
    // Flipped bytes, in the tables (libjpeg errors, warnings first) and in the entropy-coded data
    // (stray markers and corrupt Huffman codes, which libjpeg skips with a warning).
    const rand = mulberry32(1515);
    for (let k = 0; k < 16; k++) {
      const bytes = Buffer.from(whole);
      const at = k < 4 ? 4 + Math.floor(rand() * 600) : 600 + Math.floor(rand() * (bytes.length - 700));
      bytes[at] = bytes[at]! ^ 0xff;
      if (k % 2 === 0) bytes[at + 1] = 0xff;
      cases.push([`flipped-${at}.JPEG`, bytes]);
    }
    // A real JPEG whose frame header claims 20000 x 9000 px: refused before decoding.
    const bomb = Uint8Array.from(whole);
    let sof = 2;
    while (!(bomb[sof + 1]! >= 0xc0 && bomb[sof + 1]! <= 0xc2)) sof += 2 + ((bomb[sof + 2]! << 8) | bomb[sof + 3]!);
    bomb.set([9000 >> 8, 9000 & 255, 20000 >> 8, 20000 & 255], sof + 5);
    expect(20000 * 9000).toBeGreaterThan(MAX_PIXELS);
    cases.push(['bomb.JPEG', bomb]);

    const mismatches: string[] = [];
    const failures: string[] = [];
    for (const [name, bytes] of cases) {
      const m = await compare(bytes, name);
      if (m) mismatches.push(m);
      const o = await outcome('libjpeg-turbo', bytes, name);
      if (typeof o === 'string') failures.push(o);
    }
    expect(mismatches).toEqual([]);
    // The cases do exercise failures of each kind, not only decodable files.
    expect(failures.some((f) => f.includes('truncated JPEG'))).toBe(true);
    expect(failures.some((f) => f.includes('decompression-bomb'))).toBe(true);
    expect(failures.some((f) => f.includes('Input buffer has corrupt header: VipsJpeg:'))).toBe(true);
  });
});
