/**
 * `<model>` on the command line to a model source: a catalogued architecture or tag (family code +
 * weights), or a path to a model file or folder. The flags that only make sense for one kind are
 * refused for the other, so a typo never silently changes what is measured.
 */
import { UsageError } from '../errors.js';
import type { ConfigLayer } from '../models/file/config.js';
import { looksLikeModelPath } from '../models/file/locate.js';
import type { EvalConfig } from '../models/eval-config.js';
import { resolveModel, type PretrainedTag, type ResolvedModel } from '../models/registry.js';
import type { ModelSource } from '../models/source.js';
import { builtinSource } from '../run/model-source.js';
import { engineChoice, weightsOptions, type EngineFlags, type PreprocessFlags } from './options.js';

export interface SourceFlags extends EngineFlags, PreprocessFlags {
  weights?: string;
  offline?: boolean;
  quiet?: boolean;
  configOf?: string;
  classMap?: string;
  labelsOf?: string;
  output?: string;
}

/** The values the user typed, as the first config layer. */
export function flagLayer(f: PreprocessFlags): ConfigLayer {
  const values: ConfigLayer['values'] = {
    ...(f.imgSize !== undefined ? { inputSize: [3, f.imgSize, f.imgSize] as const } : {}),
    ...(f.interpolation !== undefined ? { interpolation: f.interpolation } : {}),
    ...(f.cropPct !== undefined ? { cropPct: f.cropPct } : {}),
    ...(f.cropMode !== undefined ? { cropMode: f.cropMode } : {}),
    ...(f.cropBorderPixels !== undefined ? { cropBorderPixels: f.cropBorderPixels } : {}),
    ...(f.mean !== undefined ? { mean: f.mean } : {}),
    ...(f.std !== undefined ? { std: f.std } : {}),
  };
  return {
    name: 'flags',
    values,
    sources: { input_size: '--img-size', interpolation: '--interpolation', crop_pct: '--crop-pct', crop_mode: '--crop-mode', crop_border_pixels: '--crop-border-pixels', mean: '--mean', std: '--std' },
  };
}

/** The catalogued model `spec` names, or null when it names none (it may be a model file). */
export function tryResolve(spec: string): ResolvedModel | null {
  try {
    return resolveModel(spec);
  } catch (e) {
    if (e instanceof UsageError) return null;
    throw e;
  }
}

export async function resolveSource(spec: string, flags: SourceFlags): Promise<ModelSource> {
  const catalogued = tryResolve(spec);
  if (!looksLikeModelPath(spec, catalogued !== null)) {
    const model = catalogued ?? resolveModel(spec); // the unknown-name error with suggestions
    for (const [flag, v] of [['--config-of', flags.configOf], ['--class-map', flags.classMap], ['--labels-of', flags.labelsOf], ['--output', flags.output]] as const) {
      if (v !== undefined) throw new UsageError(`${flag} applies to model files (.onnx, model.json), not to ${model.tag.name}`, { fix: `omit ${flag}` });
    }
    if (model.tag.weights.kind !== 'embedded') return builtinSource(model, flags, { ...weightsOptions(flags), ...engineChoice(flags) });
    if (flags.weights !== undefined) {
      throw new UsageError(`--weights: ${model.tag.name} is a model file shipped with zoo, it holds its own weights`, { fix: 'omit --weights' });
    }
    const { embeddedPath } = await import('../models/weights/embedded.js');
    return openFile(embeddedPath(model.tag.weights), flags, { tag: model.tag, cfg: model.tag.evalConfig });
  }
  if (flags.weights !== undefined) {
    throw new UsageError('--weights applies to built-in architectures; a model file holds its own weights', { file: spec, fix: 'omit --weights' });
  }
  return openFile(spec, flags);
}

async function openFile(path: string, flags: SourceFlags, catalogued?: { tag: PretrainedTag; cfg: EvalConfig }): Promise<ModelSource> {
  if (flags.classMap !== undefined && flags.labelsOf !== undefined) {
    throw new UsageError('--class-map and --labels-of both say which class each output is', { fix: 'give one of them' });
  }
  let borrowed: { name: string; cfg: EvalConfig } | undefined;
  if (flags.configOf !== undefined) {
    const m = resolveModel(flags.configOf);
    borrowed = { name: m.tag.name, cfg: m.tag.evalConfig };
  }
  const { openFileSource } = await import('../models/file/source.js');
  return openFileSource(path, {
    ...(catalogued ? { catalogued } : {}),
    engine: flags.engine,
    device: flags.device,
    ...(flags.threads !== undefined ? { threads: flags.threads } : {}),
    flagConfig: flagLayer(flags),
    ...(borrowed ? { borrowed } : {}),
    ...(flags.classMap !== undefined ? { classMap: flags.classMap } : {}),
    ...(flags.labelsOf !== undefined ? { labelsOf: flags.labelsOf } : {}),
    ...(flags.output !== undefined ? { output: flags.output } : {}),
  });
}
