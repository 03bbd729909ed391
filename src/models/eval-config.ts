/** timm's pretrained eval config, the fields that decide preprocessing. */
export type Interpolation = 'bicubic' | 'bilinear';
/** center: resize short side to floor(size / crop_pct), centre crop; squash: resize both sides. */
export type CropMode = 'center' | 'squash';

export interface EvalConfig {
  /** [C, H, W] of the model input. */
  readonly inputSize: readonly [number, number, number];
  readonly interpolation: Interpolation;
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
  readonly cropPct: number;
  readonly cropMode: CropMode;
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
  };
}
