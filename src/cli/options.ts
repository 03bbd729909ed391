/**
 * Option value parsers shared by the commands. Bad values throw commander's InvalidArgumentError,
 * which main() reports as one line with ExitCode.USAGE.
 */
import { InvalidArgumentError, Option } from 'commander';
import type { Device, EngineName } from '../engines/engine.js';
import type { CropMode, EvalConfig, Interpolation } from '../models/eval-config.js';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  }
  return n;
}

export function cropPct(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 1) throw new InvalidArgumentError(`expected a number in (0, 1], got '${value}'`);
  return n;
}

/** `0.5,0.5,0.5`, `0.5 0.5 0.5`, or one number for all three channels. */
export function triple(value: string): [number, number, number] {
  const parts = value.split(/[\s,]+/).filter((s) => s.length > 0).map(Number);
  if (parts.length === 1) parts.push(parts[0]!, parts[0]!);
  if (parts.length !== 3 || parts.some((n) => !Number.isFinite(n))) {
    throw new InvalidArgumentError(`expected three numbers like 0.485,0.456,0.406, got '${value}'`);
  }
  return parts as [number, number, number];
}

export interface EngineFlags {
  engine: EngineName;
  device: Device;
  threads?: number;
}

export function engineOptions(): Option[] {
  return [
    new Option('--engine <name>', 'inference engine').choices(['onnxruntime', 'tfjs']).default('onnxruntime'),
    new Option('--device <device>', 'where the model runs').choices(['cpu', 'cuda']).default('cpu'),
    new Option('--threads <n>', 'CPU threads for the engine (default: all cores)').argParser(positiveInt),
  ];
}

export interface PreprocessFlags {
  imgSize?: number;
  cropPct?: number;
  cropMode?: CropMode;
  interpolation?: Interpolation;
  mean?: [number, number, number];
  std?: [number, number, number];
}

export function preprocessOptions(): Option[] {
  return [
    new Option('--img-size <n>', "input size (square), overriding the tag's eval size").argParser(positiveInt),
    new Option('--crop-pct <f>', "center-crop fraction, overriding the tag's").argParser(cropPct),
    new Option('--crop-mode <mode>', 'center: resize the short side then crop; squash: resize both sides').choices([
      'center',
      'squash',
    ]),
    new Option('--interpolation <filter>', 'resize filter (Pillow)').choices(['bicubic', 'bilinear']),
    new Option('--mean <r,g,b>', 'normalisation mean').argParser(triple),
    new Option('--std <r,g,b>', 'normalisation std').argParser(triple),
  ];
}

/** The tag's eval config with the user's overrides applied. */
export function applyOverrides(cfg: EvalConfig, f: PreprocessFlags): EvalConfig {
  return {
    inputSize: f.imgSize ? [cfg.inputSize[0], f.imgSize, f.imgSize] : cfg.inputSize,
    interpolation: f.interpolation ?? cfg.interpolation,
    mean: f.mean ?? cfg.mean,
    std: f.std ?? cfg.std,
    cropPct: f.cropPct ?? cfg.cropPct,
    cropMode: f.cropMode ?? cfg.cropMode,
  };
}

export function describeConfig(cfg: EvalConfig): string {
  const [, h, w] = cfg.inputSize;
  const resize = cfg.cropMode === 'squash' ? `squash to ${Math.floor(h / cfg.cropPct)}x${Math.floor(w / cfg.cropPct)}` : `resize ${Math.floor(Math.min(h, w) / cfg.cropPct)}`;
  return `${h}x${w}, ${cfg.interpolation}, crop_pct ${cfg.cropPct} (${cfg.cropMode}: ${resize}, crop ${h}x${w}), mean ${cfg.mean.join(',')}, std ${cfg.std.join(',')}`;
}

/** `--expect-top1/--expect-top5`: `published` (the tag's published number) or points in [0, 100]. */
export function expectation(value: string): 'published' | number {
  const t = value.trim().toLowerCase();
  if (t === 'published') return 'published';
  const n = Number(t.replace(/%$/, ''));
  if (t === '' || !Number.isFinite(n) || n < 0 || n > 100) {
    throw new InvalidArgumentError(`expected 'published' or an accuracy in percent (0..100), got '${value}'`);
  }
  // timm and most papers print accuracy in percent; a fraction here is almost surely a slip that
  // would make the gate pass whatever the model does.
  if (n > 0 && n <= 1 && !t.endsWith('%')) {
    throw new InvalidArgumentError(`'${value}' is read as percent, expected 0..100: did you mean ${Number((n * 100).toFixed(4))}? (write ${value}% if you meant ${value} percent)`);
  }
  return n;
}

/** `--tolerance`: non-negative percentage points. */
export function tolerance(value: string): number {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100) {
    throw new InvalidArgumentError(`expected percentage points >= 0 (e.g. 0.1), got '${value}'`);
  }
  return n;
}

/** `--image-timeout`: seconds, > 0. */
export function positiveSeconds(value: string): number {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected seconds > 0, got '${value}'`);
  return n;
}

/** Flags for model files (`zoo eval x.onnx`): where the config comes from, which output, which classes. */
export function modelFileOptions(): Option[] {
  return [
    new Option('--config-of <arch.tag>', "model files: borrow a catalogued tag's eval config (after flags and a config.json beside the model)"),
    new Option('--class-map <file>', 'model files: the ImageNet class of each model output, one WordNet id, class index or class name per line'),
    new Option('--labels-of <file>', "model files: the model's own labels file (one class name per output, e.g. a Keras/TF.js labels.txt)"),
    new Option('--output <name>', 'model files with several outputs: the one holding the class scores'),
  ];
}
