/**
 * Image decoding returning exactly the pixels of Pillow's `Image.open(f).convert('RGB')`, which is
 * what timm's dataset feeds its transforms. JPEGs go through the libjpeg-turbo addon (native/, see
 * jpeg-turbo.ts) when it is built, else through sharp; everything else through sharp. Both JPEG
 * paths give the same bytes and the same errors (test/data-decode-turbo.test.ts). With sharp:
 * - no colour management: Pillow ignores embedded ICC profiles, so sharp must too (`ignoreIcc`);
 * - no EXIF auto-rotation (sharp only rotates when asked);
 * - CMYK JPEGs: read as raw CMYK (libvips un-inverts Adobe CMYK as Pillow's "CMYK;I" rawmode does),
 *   then Pillow's `cmyk2rgb` integer arithmetic, not sharp's ICC-based conversion;
 * - gray is replicated to three channels, alpha is dropped without compositing (Pillow's rgba2rgb and
 *   la2rgb), palettes are expanded by the decoder (Pillow's P->RGB is a palette lookup);
 * - 16-bit PNGs come out of libvips as their high byte, as Pillow unpacks 16-bit colour ("RGB;16B");
 *   16-bit *gray* differs: Pillow's I;16 -> RGB clips at 255 instead (not in the val set; not emulated).
 * Every failure, including Pillow's decompression-bomb limit, is a DataError naming the file.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { DataError } from '../errors.js';
import { jpegDecoder, loadTurboAddon, type JpegDecoderName, type TurboAddon } from './jpeg-turbo.js';
import { resizeRgb } from './resize.js';

export interface RgbImage {
  width: number;
  height: number;
  /** RGB interleaved, row-major, width*height*3 bytes. */
  data: Uint8Array;
}

/** Pillow raises DecompressionBombError above twice Image.MAX_IMAGE_PIXELS (89,478,485). */
export const MAX_PIXELS = 2 * 89478485;

// One image at a time per caller: the loader parallelises across worker threads, and libvips' own
// thread pool only adds contention for a single JPEG decode.
sharp.concurrency(1);
// libvips' operation cache keeps decoded images alive; we never decode the same buffer twice.
sharp.cache(false);

export interface JpegFrame {
  width: number;
  height: number;
  /** Nf: 1 gray, 3 YCbCr/RGB, 4 CMYK/YCCK. */
  components: number;
}

/** The frame header (SOFn) of a JPEG, or undefined when the buffer is not a parsable JPEG. */
export function jpegFrame(buf: Uint8Array): JpegFrame | undefined {
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) return undefined;
  let i = 2;
  while (i + 4 <= buf.length) {
    if (buf[i] !== 0xff) return undefined;
    const marker = buf[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    const len = (buf[i + 2]! << 8) | buf[i + 3]!;
    // SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC): P at +4, Y at +5, X at +7, Nf at +9.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 9 >= buf.length) return undefined;
      return { height: (buf[i + 5]! << 8) | buf[i + 6]!, width: (buf[i + 7]! << 8) | buf[i + 8]!, components: buf[i + 9]! };
    }
    if (marker === 0xda || marker === 0xd9) return undefined;
    i += 2 + len;
  }
  return undefined;
}

/** Number of components in a JPEG's frame header, or 0 when the buffer is not a parsable JPEG. */
export function jpegComponents(buf: Uint8Array): number {
  return jpegFrame(buf)?.components ?? 0;
}

function decodeFailed(name: string, why: string): DataError {
  return new DataError(`cannot decode image: ${why}`, {
    file: name,
    expected: 'a readable JPEG or PNG image',
    fix: 'replace or remove the file (a re-download of the val set restores damaged files)',
  });
}

/** Pillow's cmyk2rgb: nk = 255 - K; out = nk - MULDIV255(C, nk). */
function cmykToRgb(src: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let p = 0, s = 0, o = 0; p < pixels; p++, s += 4, o += 3) {
    const nk = 255 - src[s + 3]!;
    for (let c = 0; c < 3; c++) {
      const t = src[s + c]! * nk + 128;
      out[o + c] = nk - (((t >> 8) + t) >> 8);
    }
  }
  return out;
}

/** Convert decoded bands to RGB the way Pillow's convert('RGB') would for the equivalent mode. */
function toRgb(raw: Uint8Array, channels: number, pixels: number): Uint8Array {
  if (channels === 3) return raw;
  const out = new Uint8Array(pixels * 3);
  if (channels <= 2) {
    // Gray (+alpha): replicated, alpha dropped (Pillow's l2rgb / la2rgb).
    for (let p = 0, s = 0, o = 0; p < pixels; p++, s += channels, o += 3) {
      const v = raw[s]!;
      out[o] = v;
      out[o + 1] = v;
      out[o + 2] = v;
    }
  } else {
    // RGBA: alpha dropped without compositing (Pillow's rgba2rgb).
    for (let p = 0, s = 0, o = 0; p < pixels; p++, s += channels, o += 3) {
      out[o] = raw[s]!;
      out[o + 1] = raw[s + 1]!;
      out[o + 2] = raw[s + 2]!;
    }
  }
  return out;
}

async function readInput(input: string | Uint8Array, label: string): Promise<Uint8Array> {
  let buf: Uint8Array;
  if (typeof input === 'string') {
    try {
      buf = await readFile(input);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      throw new DataError(`cannot read image: ${code}`, { file: label, fix: 'check the file exists and is readable' });
    }
  } else {
    buf = input;
  }
  if (buf.length === 0) throw decodeFailed(label, 'the file is empty (0 bytes)');
  return buf;
}

/** A libvips failure as the DataError the user sees. */
/**
 * A JPEG whose data stops before its end-of-image marker (trailing zero padding allowed). Checked
 * by us because libvips' message for the same file varies between runs ("premature end of JPEG
 * image", or "Unknown error" when its per-thread error buffer is not set), and a skipped image's
 * reason must read the same in a resumed run as in an uninterrupted one.
 */
function isTruncatedJpeg(buf: Uint8Array): boolean {
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) return false;
  let end = buf.length;
  while (end > 2 && buf[end - 1] === 0) end--;
  return !(buf[end - 2] === 0xff && buf[end - 1] === 0xd9);
}

function pixelBomb(label: string): DataError {
  return new DataError(`image is larger than ${MAX_PIXELS} pixels (Pillow's decompression-bomb limit)`, {
    file: label,
    expected: 'an image Pillow would open',
    fix: 'remove the file or downscale it',
  });
}

const TRUNCATED = 'truncated JPEG (the data ends before its end-of-image marker)';

function sharpFailure(e: unknown, label: string, buf: Uint8Array): DataError {
  if (e instanceof DataError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (/pixel limit/i.test(msg)) return pixelBomb(label);
  if (isTruncatedJpeg(buf)) return decodeFailed(label, TRUNCATED);
  return decodeFailed(label, msg.split('\n')[0]!.trim());
}

/**
 * A libjpeg failure from the addon as the DataError the sharp path gives for the same file: the
 * truncated reason is ours either way; otherwise the first line of what libvips would have reported
 * ("VipsJpeg: " + libjpeg's first warning or its error, behind sharp's "Input buffer has corrupt
 * header: " when the markers before the first scan are at fault; the addon picks the same text).
 */
function turboFailure(e: unknown, label: string, buf: Uint8Array, phase: 'header' | 'decode'): DataError {
  if (isTruncatedJpeg(buf)) return decodeFailed(label, TRUNCATED);
  const msg = (e instanceof Error ? e.message : String(e)).replace(/^(truncated|corrupt): /, '');
  return decodeFailed(label, `${phase === 'header' ? 'Input buffer has corrupt header: ' : ''}VipsJpeg: ${msg}`);
}

/**
 * The addon's path: the frame size from libjpeg's header parse, the bomb limit checked before any
 * pixel is decoded, then RGB straight into the buffer we return (gray expanded and CMYK converted
 * inside the addon, as Pillow's convert('RGB') does).
 */
function decodeTurbo(addon: TurboAddon, buf: Uint8Array, label: string): RgbImage {
  let width: number;
  let height: number;
  try {
    [width, height] = addon.header(buf);
  } catch (e) {
    throw turboFailure(e, label, buf, 'header');
  }
  if (width * height > MAX_PIXELS) throw pixelBomb(label);
  // Not zero-filled (the addon writes every byte or throws, and then the buffer is dropped): the fill
  // alone is ~5% of a 500x375 decode. Its own ArrayBuffer, never a slice of Buffer's shared pool.
  const raw = Buffer.allocUnsafeSlow(width * height * 3);
  const data = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  try {
    addon.decodeInto(buf, data);
  } catch (e) {
    throw turboFailure(e, label, buf, 'decode');
  }
  return { width, height, data };
}

function isJpeg(buf: Uint8Array): boolean {
  return buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff;
}

const SHARP_INPUT = { ignoreIcc: true, failOn: 'truncated', limitInputPixels: MAX_PIXELS } as const;

/**
 * Decode a file (path) or an encoded buffer to RGB uint8, byte-identical to Pillow's
 * `Image.open(f).convert('RGB')`. `name` is used in errors (defaults to the path).
 */
export async function decodeRgb(input: string | Uint8Array, name?: string): Promise<RgbImage> {
  return decodeRgbWith(undefined, input, name);
}

/**
 * decodeRgb with the JPEG decoder named (`undefined`: the process's choice, see jpeg-turbo.ts), for
 * the tests and the bench that compare the two. Non-JPEG input always goes through sharp.
 */
export async function decodeRgbWith(decoder: JpegDecoderName | undefined, input: string | Uint8Array, name?: string): Promise<RgbImage> {
  const label = name ?? (typeof input === 'string' ? input : '<buffer>');
  const buf = await readInput(input, label);
  if (isJpeg(buf) && decoder !== 'sharp') {
    const turbo = decoder === 'libjpeg-turbo' ? loadTurboAddon() : jpegDecoder().addon;
    if (turbo) return decodeTurbo(turbo, buf, label);
  }
  return decodeSharp(buf, label);
}

async function decodeSharp(buf: Uint8Array, label: string): Promise<RgbImage> {
  // Pillow's JPEG plugin decides CMYK from the frame header; so do we, without a second libvips pass.
  const isCmyk = jpegComponents(buf) === 4;
  try {
    let pipeline = sharp(buf, SHARP_INPUT);
    if (isCmyk) pipeline = pipeline.pipelineColourspace('cmyk').toColourspace('cmyk');
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    const pixels = info.width * info.height;
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (isCmyk) {
      if (info.channels !== 4) throw new Error(`CMYK JPEG decoded to ${info.channels} channels`);
      return { width: info.width, height: info.height, data: cmykToRgb(raw, pixels) };
    }
    return { width: info.width, height: info.height, data: toRgb(raw, info.channels, pixels) };
  } catch (e) {
    throw sharpFailure(e, label, buf);
  }
}

/** Where the fast path resizes to and what it keeps (a ResizePlan's fields). */
export interface FastResizePlan {
  resizeW: number;
  resizeH: number;
  keep: { left: number; top: number; width: number; height: number };
}

/**
 * The opt-in `fast` resize: decode, resize and crop in one libvips pipeline (JPEG shrink-on-load,
 * libvips' own cubic/linear kernels), returning only the kept region as RGB. NOT Pillow-exact: the
 * pixels differ by a few levels (the bench measures by how much); never used unless asked for.
 * `plan` receives the decoded size and returns the geometry. Enlargements go through the exact path.
 */
export async function decodeResizeFast(
  input: string | Uint8Array,
  filter: 'bicubic' | 'bilinear',
  plan: (width: number, height: number) => FastResizePlan,
  name?: string,
): Promise<RgbImage> {
  const label = name ?? (typeof input === 'string' ? input : '<buffer>');
  const buf = await readInput(input, label);
  try {
    let frame: { width: number; height: number } | undefined = jpegFrame(buf);
    if (!frame) {
      const meta = await sharp(buf, SHARP_INPUT).metadata();
      frame = { width: meta.width ?? 0, height: meta.height ?? 0 };
    }
    const p = plan(frame.width, frame.height);
    if (p.resizeW > frame.width || p.resizeH > frame.height) {
      // Enlarging: libvips' upsampler aligns pixels differently from Pillow (several levels off on
      // average), and there is no shrink-on-load to gain; take the exact path.
      return resizeRgb(await decodeRgb(buf, label), p.resizeW, p.resizeH, filter, p.keep);
    }
    const { data, info } = await sharp(buf, { ...SHARP_INPUT, sequentialRead: true })
      .resize(p.resizeW, p.resizeH, { fit: 'fill', kernel: filter === 'bicubic' ? 'cubic' : 'linear' })
      .extract(p.keep)
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return { width: info.width, height: info.height, data: toRgb(raw, info.channels, info.width * info.height) };
  } catch (e) {
    throw sharpFailure(e, label, buf);
  }
}
