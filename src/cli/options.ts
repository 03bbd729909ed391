/**
 * Option value parsers shared by the commands. Bad values throw commander's InvalidArgumentError,
 * which main() reports as one line with ExitCode.USAGE.
 */
import { availableParallelism } from 'node:os';
import { InvalidArgumentError, Option } from 'commander';
import type { Device, EngineName } from '../engines/engine.js';
import { borderFill, type ConfigOverrides, type EvalConfig } from '../models/eval-config.js';
import type { EngineOptions, WeightsOptions } from '../run/model-source.js';
import { downloadProgress } from './download-progress.js';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  }
  return n;
}

/**
 * Upper bounds of the size options: past them a run only allocates (a 100000-px input, a
 * billion-image batch, thousands of threads) and ends with an allocation error. Thread pools are
 * bounded by the cores there are; batches and workers are further cut to the images of the run.
 */
export const LIMITS = {
  /** Pixels per side: the largest timm eval size is 800 (efficientnet_l2); 2048 leaves room. */
  imgSize: 2048,
  /** Images per engine call: 4096 x 3 x 224 x 224 float32 is 2.5 GB per loader buffer already. */
  batchSize: 4096,
  /** Threads per core for --workers and --threads: more only queue on the same cores. */
  threadsPerCore: 4,
  /** Smallest --crop-pct: the resize before the crop is the input size / crop_pct (10x at 0.1). */
  cropPct: 0.1,
} as const;

/**
 * `--data` (eval, bench): repeatable, and comma-separated paths; never variadic, so a model name
 * after it is not swallowed. Accumulates over repeats.
 */
export function dataPaths(value: string, previous: string[] | undefined): string[] {
  const paths = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (paths.length === 0) throw new InvalidArgumentError('expected a folder or archive');
  return [...(previous ?? []), ...paths];
}

/** --workers and --threads: 4 per core at most (8 on a 2-core machine). */
export function maxThreads(): number {
  return LIMITS.threadsPerCore * availableParallelism();
}

/** A positive integer at most `max()`; the error names the limit and why. */
export function boundedInt(max: () => number, why: string): (value: string) => number {
  return (value: string) => {
    const n = positiveInt(value);
    const m = max();
    if (n > m) throw new InvalidArgumentError(`${n} is above the limit of ${m} (${why})`);
    return n;
  };
}

/** --workers and --threads. */
export const threadCount = boundedInt(maxThreads, `${LIMITS.threadsPerCore} per core, ${availableParallelism()} cores here`);
/** --batch-size (eval further cuts it to the images of the run). */
export const batchSize = boundedInt(() => LIMITS.batchSize, 'larger batches only allocate');
/** --img-size. */
export const imgSize = boundedInt(() => LIMITS.imgSize, 'pixels per side');

/** --crop-border-pixels: 0 or more, at most half the largest input size (more leaves no image). */
export function borderPixelCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected pixels, an integer >= 0, got '${value}'`);
  if (n > LIMITS.imgSize) throw new InvalidArgumentError(`${n} is above the limit of ${LIMITS.imgSize} (pixels trimmed off each side)`);
  return n;
}

export function cropPct(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < LIMITS.cropPct || n > 1) {
    throw new InvalidArgumentError(`expected a number in [${LIMITS.cropPct}, 1], got '${value}' (the image is resized to the input size / crop_pct before the crop)`);
  }
  return n;
}

/** --std: three positive numbers (a zero or negative std gives NaN or flipped inputs). */
export function positiveTriple(value: string): [number, number, number] {
  const t = triple(value);
  if (t.some((v) => !(v > 0))) throw new InvalidArgumentError(`expected three positive numbers, got '${value}' (the input is divided by std)`);
  return t;
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
    new Option('--threads <n>', `CPU threads for the engine (default: all cores; at most ${maxThreads()})`).argParser(threadCount),
  ];
}

/** The preprocessing flags are the eval-config overrides (commander leaves flags not given absent). */
export type PreprocessFlags = ConfigOverrides;

export function preprocessOptions(): Option[] {
  return [
    new Option('--img-size <n>', `input size (square), overriding the tag's eval size (at most ${LIMITS.imgSize})`).argParser(imgSize),
    new Option('--crop-pct <f>', "center-crop fraction, overriding the tag's").argParser(cropPct),
    new Option(
      '--crop-mode <mode>',
      'center: resize the short side then crop; squash: resize both sides; border: fit the long side, then crop or pad with the mean colour (timm)',
    ).choices(['center', 'squash', 'border']),
    new Option('--crop-border-pixels <n>', `trim n pixels off every side of each image before resizing (timm's crop_border_pixels; default 0)`).argParser(borderPixelCount),
    new Option('--interpolation <filter>', 'resize filter (Pillow)').choices(['bicubic', 'bilinear']),
    new Option('--mean <r,g,b>', 'normalisation mean').argParser(triple),
    new Option('--std <r,g,b>', 'normalisation std (positive)').argParser(positiveTriple),
  ];
}

export function describeConfig(cfg: EvalConfig): string {
  const [, h, w] = cfg.inputSize;
  const scaled = `${Math.floor(h / cfg.cropPct)}x${Math.floor(w / cfg.cropPct)}`;
  const resize =
    cfg.cropMode === 'squash'
      ? `squash to ${scaled}, crop ${h}x${w}`
      : cfg.cropMode === 'border'
        ? `fit in ${scaled}, crop or pad ${h}x${w} with ${borderFill(cfg.mean).join(',')}`
        : `resize ${Math.floor(Math.min(h, w) / cfg.cropPct)}, crop ${h}x${w}`;
  const trim = cfg.cropBorderPixels ? `trim ${cfg.cropBorderPixels} px, ` : '';
  return `${h}x${w}, ${cfg.interpolation}, crop_pct ${cfg.cropPct} (${cfg.cropMode}: ${trim}${resize}), mean ${cfg.mean.join(',')}, std ${cfg.std.join(',')}`;
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

/** The engine flags as the run layer takes them. */
export function engineChoice(f: EngineFlags): EngineOptions {
  return { engine: f.engine, device: f.device, ...(f.threads ? { threads: f.threads } : {}) };
}

/** --weights/--offline/--quiet as the run layer takes them: downloads draw progress unless quiet. */
export function weightsOptions(f: { weights?: string; offline?: boolean; quiet?: boolean }): WeightsOptions {
  return {
    ...(f.weights !== undefined ? { weights: f.weights } : {}),
    offline: f.offline ?? false,
    // Waiting for another download, or a cached file set aside: said even with --quiet (a wait must not look like a hang).
    onNotice: (line: string) => process.stderr.write(`${line}\n`),
    ...(f.quiet ? {} : { watchDownload: (name: string) => downloadProgress(name) }),
  };
}
