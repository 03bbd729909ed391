import { roundHalfEven } from '../util/round.js';

/** timm's pretrained eval config, the fields that decide preprocessing. */
export type Interpolation = 'bicubic' | 'bilinear';
/**
 * center: resize the short side to floor(size / crop_pct), centre crop; squash: resize both sides;
 * border: fit the long side in floor(size / crop_pct), then centre crop or pad with the mean colour.
 */
export type CropMode = 'center' | 'squash' | 'border';

export interface EvalConfig {
  /** [C, H, W] of the model input. */
  readonly inputSize: readonly [number, number, number];
  readonly interpolation: Interpolation;
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
  readonly cropPct: number;
  readonly cropMode: CropMode;
  /**
   * timm's crop_border_pixels: pixels cut off every side of the decoded image before anything else
   * (TrimBorder). Absent or 0: none (kept absent then, so configs and states without it compare equal).
   */
  readonly cropBorderPixels?: number;
}

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;
export const INCEPTION_MEAN = [0.5, 0.5, 0.5] as const;
export const INCEPTION_STD = [0.5, 0.5, 0.5] as const;

/** The user's overrides of a tag's eval config (--img-size, --crop-pct, ...); absent: the tag's value. */
export interface ConfigOverrides {
  imgSize?: number;
  cropPct?: number;
  cropMode?: CropMode;
  cropBorderPixels?: number;
  interpolation?: Interpolation;
  mean?: [number, number, number];
  std?: [number, number, number];
}

/** The tag's eval config with the user's overrides applied. */
export function applyOverrides(cfg: EvalConfig, f: ConfigOverrides): EvalConfig {
  return {
    inputSize: f.imgSize ? [cfg.inputSize[0], f.imgSize, f.imgSize] : cfg.inputSize,
    interpolation: f.interpolation ?? cfg.interpolation,
    mean: f.mean ?? cfg.mean,
    std: f.std ?? cfg.std,
    cropPct: f.cropPct ?? cfg.cropPct,
    cropMode: f.cropMode ?? cfg.cropMode,
    ...withBorderPixels(f.cropBorderPixels ?? cfg.cropBorderPixels),
  };
}

/** `{ cropBorderPixels: n }` when n trims anything, else nothing: 0 and absent are the same config. */
export function withBorderPixels(n: number | undefined): { cropBorderPixels?: number } {
  return n ? { cropBorderPixels: n } : {};
}

/**
 * The padding colour of crop mode border: timm's `fill = [round(255 * v) for v in mean]` (Python
 * rounding), clipped to 0..255 as Pillow clips a fill colour.
 */
export function borderFill(mean: readonly [number, number, number]): readonly [number, number, number] {
  const c = (v: number) => Math.min(255, Math.max(0, roundHalfEven(255 * v)));
  return [c(mean[0]), c(mean[1]), c(mean[2])];
}

/** The pixels timm's TrimBorder cuts off every side under `cfg` (0: none). */
export function borderPixels(cfg: Pick<EvalConfig, 'cropBorderPixels'>): number {
  return cfg.cropBorderPixels ?? 0;
}
