/**
 * timm's validate.py habits on zoo's command line. People who know timm type its flags; the ones
 * with a zoo meaning are rewritten to zoo's before commander parses (`--checkpoint` is `--weights`,
 * `--input-size 3 224 224` is `--img-size 224`, `--mean 0.5 0.5 0.5` is `--mean 0.5,0.5,0.5`), and
 * the ones without one end the run with one line saying why they do not apply and what zoo does
 * instead (exit 2), never a bare "unknown option". The same table feeds the README's "Coming from
 * timm" section, so the two cannot drift apart.
 */
import { UsageError } from '../errors.js';

/** A timm flag zoo spells differently: `to` replaces the flag (and takes its value as is). */
export const TIMM_RENAMES: Readonly<Record<string, string>> = {
  '--checkpoint': '--weights',
  '--num-samples': '--limit',
  '--data-dir': '--data',
};

/** A timm flag with no zoo meaning, and why. */
export const TIMM_NOT_APPLICABLE: Readonly<Record<string, string>> = {
  '--amp': 'zoo evaluates in float32, the precision published numbers are measured in; there is no mixed precision',
  '--amp-dtype': 'zoo evaluates in float32, the precision published numbers are measured in',
  '--model-dtype': 'zoo evaluates in float32, the precision published numbers are measured in',
  '--channels-last': 'the engine (onnxruntime, tfjs) chooses the memory layout itself',
  '--torchcompile': 'there is no PyTorch here: onnxruntime optimises the graph when the model loads',
  '--torchcompile-mode': 'there is no PyTorch here: onnxruntime optimises the graph when the model loads',
  '--torchscript': 'there is no PyTorch here: onnxruntime optimises the graph when the model loads',
  '--aot-autograd': 'there is no PyTorch here: onnxruntime optimises the graph when the model loads',
  '--fuser': 'there is no PyTorch here: onnxruntime fuses operators itself',
  '--fast-norm': 'there is no PyTorch here: onnxruntime fuses normalisation itself',
  '--log-freq': 'progress is a live bar on a terminal and one line every 10 s in logs; --quiet turns it off',
  '--topk': 'zoo always reports top-1 and top-5; --predictions FILE writes every image\'s top-5',
  '--num-gpu': 'one device per run (--device cuda); split the work with --shard i/n and combine with zoo merge',
  '--no-prefetcher': 'the loader always decodes ahead on worker threads (--workers N)',
  '--pin-mem': 'the loader hands batches to the engine without copies; there is nothing to pin',
  '--use-ema': 'zoo reads the checkpoint\'s model weights; save the EMA weights to a file and pass it with --weights',
  '--test-pool': 'test-time pooling is not implemented: zoo evaluates the architecture as published',
  '--gp': 'the global pool is part of the architecture zoo implements; it cannot be swapped',
  '--num-classes': 'zoo evaluates 1000-class ImageNet classifiers',
  '--in-chans': 'zoo evaluates 3-channel RGB models',
  '--use-train-size': 'zoo evaluates at the tag\'s test size; pass --img-size N for another (zoo info MODEL shows the train size)',
  '--split': 'zoo evaluates the validation split: point --data at it',
  '--dataset-download': 'zoo never downloads data: point --data at a local copy or .tar',
  '--input-key': 'zoo reads image folders and tar archives, not keyed datasets',
  '--input-img-mode': 'zoo decodes every image to RGB, as timm does for 3-channel models',
  '--target-key': 'zoo reads image folders and tar archives, not keyed datasets',
  '--dataset-trust-remote-code': 'zoo runs no code from data sets',
  '--tf-preprocessing': 'zoo reproduces timm\'s PIL preprocessing only',
  '--reparam': 'the architectures zoo implements need no reparameterisation',
  '--model-kwargs': 'zoo builds each architecture as published; there are no constructor arguments',
  '--retry': 'a batch that does not fit fails once with its size; pass a smaller --batch-size',
  '--seed': 'evaluation has no randomness: the same inputs give the same numbers',
  '--metrics-avg': 'zoo reports top-1/top-5 (and per-class accuracy in --json); precision/recall/F1 are not computed',
  '--naflex-loader': 'NaFlex models are not implemented',
  '--naflex-max-seq-len': 'NaFlex models are not implemented',
};

/** timm flags that take a value (so the value is not mistaken for the model or a file). */
const TAKES_VALUE = new Set([
  '--amp-dtype', '--model-dtype', '--torchcompile-mode', '--fuser', '--log-freq', '--topk', '--num-gpu', '--gp', '--num-classes',
  '--in-chans', '--split', '--input-key', '--input-img-mode', '--target-key', '--seed', '--metrics-avg', '--naflex-max-seq-len',
]);

/** timm's nargs='+' flags that zoo reads as one comma-separated value. */
const LISTS = new Set(['--mean', '--std']);

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * argv with timm's spellings turned into zoo's; throws a UsageError for a timm flag with no zoo meaning.
 * `--model NAME` (`-m NAME`) becomes the positional model after the subcommand, `--pretrained` is
 * dropped (pretrained weights are zoo's default).
 */
export function translateTimmFlags(argv: readonly string[]): string[] {
  const head = argv.slice(0, 2);
  const args = argv.slice(2);
  const out: string[] = [];
  let model: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    const eq = a.indexOf('=');
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const inline = a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : undefined;
    if (flag in TIMM_NOT_APPLICABLE) {
      const why = TIMM_NOT_APPLICABLE[flag]!;
      throw new UsageError(`${flag} (timm's validate.py) does not apply to zoo: ${why}`, { fix: 'drop the flag (`zoo eval --help` lists what zoo takes)' });
    }
    if (flag in TIMM_RENAMES) {
      out.push(inline !== undefined ? `${TIMM_RENAMES[flag]}=${inline}` : TIMM_RENAMES[flag]!);
      continue;
    }
    if (flag === '--pretrained') continue;
    if (flag === '--model' || flag === '-m') {
      model = inline ?? args[++i];
      if (model === undefined) throw new UsageError(`${flag} needs a model name`, { fix: 'e.g. zoo eval rexnet_100 --data ./val' });
      continue;
    }
    if (flag === '--input-size') {
      const values = inline !== undefined ? inline.split(/[\s,]+/) : args.slice(i + 1, i + 4);
      if (inline === undefined) i += values.length;
      out.push(...inputSizeToImgSize(values));
      continue;
    }
    if (LISTS.has(flag) && inline === undefined && i + 1 < args.length && NUMBER.test(args[i + 1]!)) {
      // --mean 0.5 0.5 0.5 (timm) -> --mean 0.5,0.5,0.5; --mean 0.5,0.5,0.5 (or -0.2 in it) passes as it is.
      const values: string[] = [];
      while (i + 1 < args.length && NUMBER.test(args[i + 1]!) && values.length < 3) values.push(args[++i]!);
      out.push(flag, values.join(','));
      continue;
    }
    out.push(a);
    if (TAKES_VALUE.has(flag) && inline === undefined) i++;
  }
  if (model !== undefined) {
    // The subcommand is the first argument that is not an option.
    const sub = out.findIndex((a) => !a.startsWith('-'));
    out.splice(sub < 0 ? out.length : sub + 1, 0, model);
  }
  return [...head, ...out];
}

/** `--input-size C H W` (timm) as zoo's `--img-size N`: zoo's models take square RGB inputs. */
function inputSizeToImgSize(values: readonly string[]): string[] {
  const nums = values.map(Number);
  if (values.length !== 3 || nums.some((n) => !Number.isSafeInteger(n) || n < 1)) {
    throw new UsageError(`--input-size expects three integers C H W, got '${values.join(' ')}'`, { fix: 'e.g. --input-size 3 224 224, or --img-size 224' });
  }
  const [c, h, w] = nums as [number, number, number];
  if (c !== 3 || h !== w) {
    throw new UsageError(`--input-size ${c} ${h} ${w}: zoo evaluates square 3-channel inputs`, { fix: `pass --input-size 3 ${h} ${h}, or --img-size ${h}` });
  }
  return ['--img-size', String(h)];
}
