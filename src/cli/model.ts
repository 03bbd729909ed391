/**
 * From a resolved model to something that runs: weights file (--weights, the cache, or a
 * download), tensors, recorded graph, engine. Shared by eval, logits and export.
 */
import type { Device, EngineName, LoadedModel } from '../engines/engine.js';
import { getEngine } from '../engines/index.js';
import { WeightsError } from '../errors.js';
import type { HostTensor } from '../models/graph.js';
import { recordGraph, type RecordedGraph } from '../models/record.js';
import { requireArchitecture, type PretrainedTag, type ResolvedModel } from '../models/registry.js';
import { requireCheckpointFile } from '../models/weights/file.js';
import { fromPaddle, isPaddleCheckpoint } from '../models/weights/paddle.js';
import type { WeightsSource } from '../models/weights/source.js';
import type { ConfigSources } from '../models/file/config.js';
import type { LoadedSource, ModelSource } from '../models/source.js';
import { applyOverrides, type PreprocessFlags } from './options.js';

export interface WeightsFlags {
  weights?: string;
  offline?: boolean;
  quiet?: boolean;
}

export function describeSource(w: WeightsSource): string {
  switch (w.kind) {
    case 'hf':
      return `Hugging Face ${w.repo} ${w.file}`;
    case 'url':
      return w.url;
    case 'embedded':
      return `shipped with zoo: ${w.path}`;
    case 'manual':
      return `manual download: ${w.instructions}${w.url ? ` (${w.url})` : ''}`;
  }
}

/** Waiting for another download, or a cached file set aside: said even with --quiet (a wait must not look like a hang). */
const onNotice = (line: string): void => void process.stderr.write(`${line}\n`);

/** The local weights file for a run: --weights as given, else the tag's cached or downloaded file. */
export async function weightsFile(tag: PretrainedTag, flags: WeightsFlags): Promise<string> {
  if (flags.weights) {
    await requireCheckpointFile(flags.weights);
    return flags.weights;
  }
  const w = tag.weights;
  if (w.kind === 'manual') {
    throw new WeightsError(`${tag.name} has no automatic download`, { fix: w.instructions });
  }
  const { fetchWeights } = await import('../models/weights/hub.js');
  const offline = flags.offline ?? false;
  if (flags.quiet) return fetchWeights(w, { offline, onNotice });
  // A bar on a TTY, plain lines on a pipe or CI log (download-progress.ts decides).
  const { downloadProgress } = await import('./download-progress.js');
  const progress = downloadProgress(tag.name);
  try {
    return await fetchWeights(w, { offline, onNotice, onProgress: progress.onProgress });
  } finally {
    progress.done();
  }
}

export async function readCheckpoint(file: string): Promise<Map<string, HostTensor>> {
  const { loadCheckpoint } = await import('../models/weights/index.js');
  return loadCheckpoint(file);
}

/**
 * The run's weights file and its tensors. A cached download that passed the cache's cheap checks
 * but does not parse is set aside and fetched once more (--weights files are the user's, never touched).
 */
export async function readWeights(tag: PretrainedTag, flags: WeightsFlags): Promise<{ file: string; tensors: Map<string, HostTensor> }> {
  const file = await weightsFile(tag, flags);
  try {
    return { file, tensors: await readCheckpoint(file) };
  } catch (e) {
    const w = tag.weights;
    if (flags.weights || flags.offline || !(e instanceof WeightsError) || w.kind === 'manual' || w.kind === 'embedded') throw e;
    const { discardCached } = await import('../models/weights/hub.js');
    await discardCached(w, `it does not parse: ${e.message}`, onNotice);
    const again = await weightsFile(tag, flags);
    return { file: again, tensors: await readCheckpoint(again) };
  }
}

/**
 * Records the architecture at `size` against the checkpoint (names and shapes checked there).
 * A Paddle checkpoint (.pdparams, `_mean`/`_variance` statistics) is first brought to the
 * upstream PyTorch names and layouts.
 */
export function buildGraph(model: ResolvedModel, size: readonly [number, number], weights?: ReadonlyMap<string, HostTensor>, file?: string): RecordedGraph {
  const arch = requireArchitecture(model);
  const upstream = weights && isPaddleCheckpoint(weights, file) ? fromPaddle(weights, arch, file) : weights;
  return recordGraph(arch.forward, {
    size,
    ...(upstream ? { weights: upstream } : {}),
    ...(file !== undefined ? { weightsFile: file } : {}),
    ...(arch.ignoreUnused ? { ignoreUnused: arch.ignoreUnused } : {}),
  });
}

export interface LoadFlags extends WeightsFlags {
  engine: EngineName;
  device: Device;
  threads?: number;
}

export interface LoadedRun {
  file: string;
  graph: RecordedGraph;
  model: LoadedModel;
  /** Something the user should hear once (tfjs falling back to a slower backend). */
  note?: string;
}

export async function loadModel(model: ResolvedModel, size: readonly [number, number], flags: LoadFlags): Promise<LoadedRun> {
  requireArchitecture(model);
  const { file, tensors } = await readWeights(model.tag, flags);
  const graph = buildGraph(model, size, tensors, file);
  const engine = await getEngine(flags.engine);
  const loaded = await engine.load(graph, { device: flags.device, ...(flags.threads ? { threads: flags.threads } : {}) });
  if (loaded.engine === 'tfjs') {
    const { takeTfjsNote } = await import('../engines/tfjs/index.js');
    const note = takeTfjsNote(loaded);
    if (note) return { file, graph, model: loaded, note };
  }
  return { file, graph, model: loaded };
}

/** Where each value of a built-in tag's config came from: a flag, else the catalogue. */
export function builtinConfigSources(tag: PretrainedTag, f: PreprocessFlags): ConfigSources {
  const cat = `catalogue ${tag.name}`;
  return {
    input_size: f.imgSize !== undefined ? '--img-size' : cat,
    interpolation: f.interpolation !== undefined ? '--interpolation' : cat,
    crop_pct: f.cropPct !== undefined ? '--crop-pct' : cat,
    crop_mode: f.cropMode !== undefined ? '--crop-mode' : cat,
    mean: f.mean !== undefined ? '--mean' : cat,
    std: f.std !== undefined ? '--std' : cat,
  };
}

/** A built-in family + weights as a model source. */
export function builtinSource(model: ResolvedModel, flags: LoadFlags & PreprocessFlags): ModelSource {
  const cfg = applyOverrides(model.tag.evalConfig, flags);
  return {
    kind: 'builtin',
    tag: model.tag,
    cfg,
    configSources: builtinConfigSources(model.tag, flags),
    modelFile: null,
    async load(): Promise<LoadedSource> {
      const run = await loadModel(model, [cfg.inputSize[1], cfg.inputSize[2]], flags);
      return { file: run.file, params: run.graph.params, macs: run.graph.macs, model: run.model, notes: run.note ? [run.note] : [] };
    },
    close: async () => undefined,
  };
}
