/**
 * A model file as a model source: locate it, open it on its engine, choose the image input and the
 * scores output, resolve the eval config (flags > timm config.json > --config-of > the file's fixed
 * input size), and wrap the engine's raw outputs in the output adapter (1,001 with background, class
 * map). Everything a user can get wrong is found here, before a single image is decoded.
 */
import { basename, dirname, extname } from 'node:path';
import { readImagenetClassMap, type ClassMap } from '../../data/class-map.js';
import type { Device, EngineName, LoadedModel } from '../../engines/engine.js';
import type { OpenedModelFile } from '../../engines/model-file.js';
import { UsageError, WeightsError } from '../../errors.js';
import type { EvalConfig } from '../eval-config.js';
import type { LoadedSource, ModelSource, SourceTag } from '../source.js';
import { adaptOutput, describeOutput, planInput, planOutput, SignatureError, type InputPlan, type OutputAdapter } from './adapters.js';
import { layerOf, readTimmConfig, resolveConfig, type ConfigLayer, type PartialConfig } from './config.js';
import { locateModelFile, type ModelFileLocation } from './locate.js';

export interface FileSourceFlags {
  engine: EngineName;
  device: Device;
  threads?: number;
  /** The flags layer of the config (values the user typed). */
  flagConfig: ConfigLayer;
  /** `--config-of arch.tag`, resolved by the caller to its eval config. */
  borrowed?: { name: string; cfg: EvalConfig };
  classMap?: string;
  labelsOf?: string;
  output?: string;
  /** A catalogued model file (the embedded default): its identity, published rows and config. */
  catalogued?: { tag: SourceTag; cfg: EvalConfig };
}

const isImageInput = (s: { type: string; shape: readonly (number | string)[] }) => s.shape.length === 4 && (s.type === 'float32' || s.type === 'float16');

async function openOn(loc: ModelFileLocation, flags: FileSourceFlags): Promise<OpenedModelFile> {
  if (loc.format === 'onnx') {
    if (flags.engine !== 'onnxruntime') {
      throw new UsageError(`--engine ${flags.engine} cannot run an ONNX file`, { file: loc.file, fix: 'omit --engine (ONNX files run on onnxruntime)' });
    }
    const { openOnnxFile } = await import('../../engines/onnxruntime/file.js');
    return openOnnxFile(loc.file, { device: flags.device, ...(flags.threads ? { threads: flags.threads } : {}) });
  }
  const { openTfjsFile } = await import('../../engines/tfjs/file.js');
  return openTfjsFile(loc.file, { device: flags.device, ...(flags.threads ? { threads: flags.threads } : {}) });
}

/** Output elements per image from a declared shape [N, K] / [N, K, 1, 1]; null when dynamic. */
function classesOf(shape: readonly (number | string)[]): number | null {
  if (shape.length < 2) return null;
  let k = 1;
  for (const d of shape.slice(1)) {
    if (typeof d !== 'number' || d < 0) return null;
    k *= d;
  }
  return k;
}

export async function openFileSource(path: string, flags: FileSourceFlags): Promise<ModelSource> {
  const loc = await locateModelFile(path);
  const timm = loc.configFile ? await readTimmConfig(loc.configFile) : null;
  const classMap: ClassMap | null = flags.classMap
    ? await readImagenetClassMap(flags.classMap, '--class-map')
    : flags.labelsOf
      ? await readImagenetClassMap(flags.labelsOf, '--labels-of')
      : null;
  const opened = await openOn(loc, flags);
  try {
    // The image input: exactly one float tensor of rank 4.
    const images = opened.inputs.filter(isImageInput);
    if (images.length !== 1 || opened.inputs.length !== 1) {
      const list = opened.inputs.map((i) => `${i.name} ${i.type} [${i.shape.join(', ')}]`).join(', ');
      throw new WeightsError(
        images.length > 1 ? `the model has ${images.length} image inputs (${list})` : images.length === 0 ? `the model has no image input (${list || 'none'})` : `the model has inputs besides the image (${list})`,
        { file: loc.file, expected: 'one float32/float16 input [N, 3, H, W] or [N, H, W, 3]', fix: 'export the classifier with a single image input' },
      );
    }
    let plan: InputPlan;
    try {
      plan = planInput(images[0]!);
    } catch (e) {
      if (e instanceof SignatureError) throw new WeightsError(e.message, { file: loc.file, fix: 'export the classifier with a [N, 3, H, W] or [N, H, W, 3] image input' });
      throw e;
    }

    // The scores output.
    let outName: string;
    if (flags.output !== undefined) {
      if (!opened.outputs.some((o) => o.name === flags.output)) {
        throw new UsageError(`--output ${flags.output}: the model has no such output`, { file: loc.file, fix: `one of: ${opened.outputs.map((o) => o.name).join(', ')}` });
      }
      outName = flags.output;
    } else if (opened.outputs.length === 1) outName = opened.outputs[0]!.name;
    else {
      throw new UsageError(`the model has ${opened.outputs.length} outputs`, {
        file: loc.file,
        fix: `choose the class scores with --output NAME: ${opened.outputs.map((o) => `${o.name} [${o.shape.join(', ')}]`).join(', ')}`,
      });
    }
    const outSig = opened.outputs.find((o) => o.name === outName)!;
    const classes = classesOf(outSig.shape);
    if (classMap && classes !== null && classMap.classes.length !== classes) {
      throw new WeightsError(`the model has ${classes} outputs but ${classMap.file} maps ${classMap.classes.length}`, {
        file: classMap.file,
        expected: `one line per model output (${classes})`,
        fix: 'give the class map that belongs to this model',
      });
    }
    let adapter = classes === null ? null : planOutput(classes, classMap);
    if (classes !== null && !adapter) throw wrongSize(loc.file, classes);

    // The eval config, first match wins per field.
    const fixed = plan.size;
    const layers: ConfigLayer[] = [flags.flagConfig];
    if (flags.catalogued) layers.push({ ...layerOf(`catalogue ${flags.catalogued.tag.name}`, flags.catalogued.cfg) });
    if (timm) layers.push(timm);
    if (flags.borrowed) layers.push(layerOf(`--config-of ${flags.borrowed.name}`, flags.borrowed.cfg));
    if (fixed) layers.push({ name: 'model input shape', values: { inputSize: [3, fixed[0], fixed[1]] } satisfies PartialConfig });
    const { cfg, sources } = resolveConfig(loc.file, layers);
    if (fixed && (fixed[0] !== cfg.inputSize[1] || fixed[1] !== cfg.inputSize[2])) {
      const from = sources.input_size;
      const err = from.startsWith('--') ? UsageError : WeightsError;
      throw new err(`the model's input is fixed at ${fixed[0]}x${fixed[1]} but ${from} says ${cfg.inputSize[1]}x${cfg.inputSize[2]}`, {
        file: from.startsWith('config.json') && loc.configFile ? loc.configFile : loc.file,
        fix: `evaluate at ${fixed[0]} (--img-size ${fixed[0]}) or re-export the model for ${cfg.inputSize[1]}`,
      });
    }

    const stem = basename(loc.file, extname(loc.file));
    const tag: SourceTag = flags.catalogued?.tag ?? {
      name: loc.file,
      arch: timm?.architecture ?? (stem === 'model' ? basename(dirname(loc.file)) || stem : stem),
      tag: opened.format,
      published: [],
    };
    const inputShape = [3, cfg.inputSize[1], cfg.inputSize[2]] as const;
    let closed = false;
    const source: ModelSource = {
      kind: 'file',
      tag,
      cfg,
      configSources: sources,
      modelFile: {
        file: loc.file,
        format: opened.format,
        input: { name: plan.name, layout: plan.layout, type: plan.type, batch: plan.batch, shape: images[0]!.shape },
        output: { name: outName, classes, adapter: adapter?.kind ?? 'pending', class_map: classMap?.file ?? null, scores: 'not run' },
        config_file: loc.configFile,
      },
      async load(): Promise<LoadedSource> {
        const raw = opened.runner(plan, outName, inputShape);
        const notes: string[] = [];
        // A tfjs fallback backend (wasm for want of tfjs-node) is said once, as for built-in models.
        if (typeof opened.details.note === 'string') notes.push(opened.details.note);
        const said = adapter ? describeOutput(adapter) : null;
        if (said) notes.push(said);
        if (plan.batch !== null) notes.push(`the model's batch is fixed at ${plan.batch}: batches are split${plan.batch > 1 ? ' and padded' : ''} to it`);
        const model: LoadedModel = {
          engine: raw.engine,
          backend: raw.backend,
          device: raw.device,
          threads: raw.threads,
          inputShape: raw.inputShape,
          async run(input: Float32Array, n: number): Promise<Float32Array> {
            const out = await raw.run(input, n);
            const k = out.length / n;
            if (!adapter) {
              // The output size was dynamic in the file: known now, checked once.
              if (classMap && classMap.classes.length !== k) {
                throw new WeightsError(`the model gives ${k} outputs but ${classMap.file} maps ${classMap.classes.length}`, { file: classMap.file, fix: 'give the class map that belongs to this model' });
              }
              adapter = planOutput(k, classMap);
              if (!adapter) throw wrongSize(loc.file, k);
            } else if (k !== adapter.outputs) {
              throw new WeightsError(`the model gave ${k} outputs per image, its signature says ${adapter.outputs}`, { file: loc.file, fix: 'check the output with zoo info' });
            }
            // Logits or probabilities: the ranking is the same, the --predictions margin is not; recorded once.
            if (source.modelFile && source.modelFile.output.scores === 'not run') {
              source.modelFile.output.scores = looksLikeProbabilities(out, n, k) ? 'probabilities' : 'logits';
              source.modelFile.output.adapter = adapter.kind;
            }
            return adaptOutput(adapter, out, n);
          },
          dispose: async () => {
            closed = true;
            await raw.dispose();
          },
        };
        return { file: loc.file, params: opened.params ?? 0, model, notes };
      },
      async close() {
        if (!closed) await opened.dispose();
        closed = true;
      },
    };
    return source;
  } catch (e) {
    await opened.dispose().catch(() => undefined);
    throw e;
  }
}

/** Every row non-negative and summing to 1 (within float16 rounding). */
function looksLikeProbabilities(out: Float32Array, n: number, k: number): boolean {
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const v = out[i * k + j]!;
      if (!(v >= 0)) return false;
      sum += v;
    }
    if (Math.abs(sum - 1) > 1e-2) return false;
  }
  return true;
}

function wrongSize(file: string, k: number): WeightsError {
  return new WeightsError(`the model has ${k} outputs, not ImageNet's 1,000 (or 1,001 with a background class)`, {
    file,
    expected: '1,000 class scores in sorted-WordNet-id order',
    fix: 'pass --class-map FILE (one WordNet id, class index or class name per output) or --labels-of FILE, or --output NAME for another output',
  });
}

export type { OutputAdapter };
