/**
 * timm's eval transform for an EvalConfig, byte- and bit-exact (timm/data/transforms_factory.py,
 * transforms_imagenet_eval):
 *   [TrimBorder(crop_border_pixels)]                   when crop_border_pixels > 0, in every mode
 *   center: Resize(floor(size / crop_pct)) (short side) -> CenterCrop(size)
 *   squash: Resize(floor(size / crop_pct)) (both sides) -> CenterCrop(size)
 *   border: ResizeKeepRatio(floor(size / crop_pct), longest=1) -> CenterCropOrPad(size, fill=mean)
 *   -> ToTensor -> Normalize(mean, std)
 * with torchvision 0.14's size and offset arithmetic on PIL images.
 */
import { DataError, UsageError } from '../errors.js';
import { borderFill, borderPixels, type EvalConfig } from '../models/eval-config.js';
import { decodeRgb, type RgbImage } from './decode.js';
import { resizeRgb, type Rect } from './resize.js';
import { roundHalfEven } from '../util/round.js';

export interface ResizePlan {
  /** Size of the resized image (before the crop). */
  resizeW: number;
  resizeH: number;
  /** The part of the resized image the centre crop keeps, clipped to it. */
  keep: Rect;
  /** Where `keep` lands in the crop (non-zero only when the crop is larger than the image: padding). */
  padLeft: number;
  padTop: number;
  cropW: number;
  cropH: number;
  /** The RGB colour of that padding: 0 (torchvision CenterCrop), or the mean's for crop mode border. */
  fill: readonly [number, number, number];
}

const BLACK = [0, 0, 0] as const;

/**
 * timm's TrimBorder(n) on a w x h image: the rectangle left after cutting n pixels off every side.
 * timm then fails on the empty image (no resize takes it); so does zoo, as a bad image (one line).
 */
export function trimRect(w: number, h: number, n: number): Rect {
  // TrimBorder: top = left = n, top = min(top, h), left = min(left, h) [sic: h]; height = max(0, h - 2n),
  // width = max(0, w - 2n). The min()s only matter when nothing is left, which is refused here.
  const width = Math.max(0, w - 2 * n);
  const height = Math.max(0, h - 2 * n);
  if (width === 0 || height === 0) {
    throw new DataError(`a ${w}x${h} image has nothing left after trimming ${n} pixels off each side (crop_border_pixels)`, {
      expected: `an image larger than ${2 * n}x${2 * n}`,
      fix: 'pass a smaller --crop-border-pixels, or --on-error skip to leave such images out',
    });
  }
  return { left: n, top: n, width, height };
}

/** The image TrimBorder leaves (the same object when `n` is 0). */
export function trimBorder(img: RgbImage, n: number): RgbImage {
  if (n <= 0) return img;
  const r = trimRect(img.width, img.height, n);
  const out = new Uint8Array(r.width * r.height * 3);
  const rowBytes = r.width * 3;
  for (let y = 0; y < r.height; y++) {
    const s = ((r.top + y) * img.width + r.left) * 3;
    out.set(img.data.subarray(s, s + rowBytes), y * rowBytes);
  }
  return { width: r.width, height: r.height, data: out };
}

/**
 * Work out timm/torchvision's resize and crop geometry for an image of w x h (after TrimBorder, when
 * the config trims: see trimRect).
 */
export function planResize(w: number, h: number, cfg: EvalConfig): ResizePlan {
  const [, cropH, cropW] = cfg.inputSize;
  let resizeW: number;
  let resizeH: number;
  if (cfg.cropMode === 'center' && cropH !== cropW) {
    // timm uses its own ResizeKeepRatio there, which zoo does not reproduce: refuse rather than differ.
    throw new UsageError(`crop mode 'center' with a non-square input size ${cropH}x${cropW} is not supported`, {
      expected: 'a square input size, or crop mode squash or border',
      fix: 'pass --crop-mode squash or a square --img-size',
    });
  }
  if (cfg.cropMode === 'squash') {
    resizeW = Math.floor(cropW / cfg.cropPct);
    resizeH = Math.floor(cropH / cfg.cropPct);
  } else if (cfg.cropMode === 'border') {
    // ResizeKeepRatio(scale_size, longest=1.0).get_params: ratio = max(ratio_h, ratio_w) * longest +
    // min(ratio_h, ratio_w) * (1 - longest); size = [round(x * 1.0 / ratio) for x in (h, w)] (Python round).
    const targetH = Math.floor(cropH / cfg.cropPct);
    const targetW = Math.floor(cropW / cfg.cropPct);
    const ratioH = h / targetH;
    const ratioW = w / targetW;
    const longest = 1.0;
    const ratio = Math.max(ratioH, ratioW) * longest + Math.min(ratioH, ratioW) * (1.0 - longest);
    resizeH = roundHalfEven((h * 1.0) / ratio);
    resizeW = roundHalfEven((w * 1.0) / ratio);
    if (resizeH < 1 || resizeW < 1) {
      // Pillow refuses a 0-pixel resize, so timm fails on this image too.
      throw new DataError(`a ${w}x${h} image is too thin for crop mode border: it scales to ${resizeW}x${resizeH}`, {
        expected: `an aspect ratio that keeps both sides at least 1 pixel when the long side fits ${targetW}x${targetH}`,
        fix: 'use --crop-mode center, or --on-error skip to leave such images out',
      });
    }
  } else {
    const size = Math.floor(cropH / cfg.cropPct);
    // torchvision _compute_resized_output_size: int(size * long / short).
    if (w <= h) {
      resizeW = size;
      resizeH = Math.trunc((size * h) / w);
    } else {
      resizeH = size;
      resizeW = Math.trunc((size * w) / h);
    }
    if (w === h) resizeW = resizeH = size;
  }
  // torchvision CenterCrop and timm center_crop_or_pad: pad (ltrb: floor half, ceil half) on the
  // sides the crop is larger than the image, then crop at int(round((padded - crop) / 2)).
  const padLeft = cropW > resizeW ? Math.floor((cropW - resizeW) / 2) : 0;
  const padTop = cropH > resizeH ? Math.floor((cropH - resizeH) / 2) : 0;
  const padRight = cropW > resizeW ? Math.floor((cropW - resizeW + 1) / 2) : 0;
  const padBottom = cropH > resizeH ? Math.floor((cropH - resizeH + 1) / 2) : 0;
  const paddedW = resizeW + padLeft + padRight;
  const paddedH = resizeH + padTop + padBottom;
  const cropLeft = roundHalfEven((paddedW - cropW) / 2.0);
  const cropTop = roundHalfEven((paddedH - cropH) / 2.0);
  // In padded coordinates the crop is [cropLeft, cropLeft + cropW); the image occupies [padLeft, padLeft + resizeW).
  const x0 = Math.max(cropLeft, padLeft);
  const x1 = Math.min(cropLeft + cropW, padLeft + resizeW);
  const y0 = Math.max(cropTop, padTop);
  const y1 = Math.min(cropTop + cropH, padTop + resizeH);
  return {
    resizeW,
    resizeH,
    keep: { left: x0 - padLeft, top: y0 - padTop, width: x1 - x0, height: y1 - y0 },
    padLeft: x0 - cropLeft,
    padTop: y0 - cropTop,
    cropW,
    cropH,
    fill: cfg.cropMode === 'border' ? borderFill(cfg.mean) : BLACK,
  };
}

/** The kept part of the resized image placed in the crop, the rest filled with the plan's padding colour. */
export function padToCrop(kept: RgbImage, plan: ResizePlan): RgbImage {
  if (kept.width === plan.cropW && kept.height === plan.cropH) return kept;
  const out = new Uint8Array(plan.cropW * plan.cropH * 3);
  const [r, g, b] = plan.fill;
  if (r !== 0 || g !== 0 || b !== 0) {
    for (let i = 0; i < out.length; i += 3) {
      out[i] = r;
      out[i + 1] = g;
      out[i + 2] = b;
    }
  }
  const rowBytes = kept.width * 3;
  for (let y = 0; y < kept.height; y++) {
    const dst = ((plan.padTop + y) * plan.cropW + plan.padLeft) * 3;
    out.set(kept.data.subarray(y * rowBytes, (y + 1) * rowBytes), dst);
  }
  return { width: plan.cropW, height: plan.cropH, data: out };
}

/** Trim, resize and centre-crop (or pad) to the model's input size: the uint8 image ToTensor would receive. */
export function cropResize(img: RgbImage, cfg: EvalConfig): RgbImage {
  const src = trimBorder(img, borderPixels(cfg));
  const plan = planResize(src.width, src.height, cfg);
  return padToCrop(resizeRgb(src, plan.resizeW, plan.resizeH, cfg.interpolation, plan.keep), plan);
}

// Per-config tables: value v of channel c maps to (v - mean255[c]) / std255[c] in float32, where
// mean255 = float32(mean * 255) and std255 = float32(std * 255). That is what timm's validate.py
// computes: its default PrefetchLoader takes the uint8 crop, casts to float32 and applies
// sub_(mean*255).div_(std*255) with float32 tensors (ToTensor/Normalize would round differently
// in the last bit). Float64 arithmetic rounded once to float32 is exact for each single op.
const lutCache = new Map<string, Float32Array>();

export function normalizeTable(cfg: EvalConfig): Float32Array {
  const key = `${cfg.mean.join(',')}|${cfg.std.join(',')}`;
  let lut = lutCache.get(key);
  if (!lut) {
    lut = new Float32Array(3 * 256);
    for (let c = 0; c < 3; c++) {
      const m = Math.fround(cfg.mean[c]! * 255);
      const s = Math.fround(cfg.std[c]! * 255);
      for (let v = 0; v < 256; v++) {
        lut[c * 256 + v] = Math.fround(Math.fround(v - m) / s);
      }
    }
    lutCache.set(key, lut);
  }
  return lut;
}

/** Write `crop` as CHW float32, normalised as validate.py's prefetcher does, into out[offset ...]. */
export function normalizeInto(crop: RgbImage, cfg: EvalConfig, out: Float32Array, offset: number): void {
  const lut = normalizeTable(cfg);
  const plane = crop.width * crop.height;
  if (offset < 0 || offset + 3 * plane > out.length) {
    throw new RangeError(`normalizeInto: ${3 * plane} values at ${offset} do not fit in ${out.length}`);
  }
  const src = crop.data;
  const o0 = offset;
  const o1 = offset + plane;
  const o2 = offset + 2 * plane;
  for (let i = 0, s = 0; i < plane; i++, s += 3) {
    out[o0 + i] = lut[src[s]!]!;
    out[o1 + i] = lut[256 + src[s + 1]!]!;
    out[o2 + i] = lut[512 + src[s + 2]!]!;
  }
}

/** Decode, resize, crop and normalise one file: a (3, H, W) float32 array. */
export async function preprocessFile(file: string, cfg: EvalConfig): Promise<Float32Array> {
  const crop = cropResize(await decodeRgb(file), cfg);
  const out = new Float32Array(3 * crop.width * crop.height);
  normalizeInto(crop, cfg, out, 0);
  return out;
}
