/**
 * A built-in model (family code + checkpoint) as a model source (src/models/source.ts; a model file
 * is the other kind, src/models/file/source.ts).
 *
 * Loading a built-in model: weights file (--weights, the cache, or a download), tensors, recorded
 * graph, engine. The pieces are exported for `zoo logits` and `zoo export`, which need them alone.
 */
import type { Device, EngineName } from '../engines/engine.js';
import { getEngine } from '../engines/index.js';
import { WeightsError } from '../errors.js';
import { applyOverrides, type ConfigOverrides } from '../models/eval-config.js';
import type { ConfigSources } from '../models/file/config.js';
import type { HostTensor } from '../models/graph.js';
import { recordGraph, type RecordedGraph } from '../models/record.js';
import { requireArchitecture, type PretrainedTag, type ResolvedModel } from '../models/registry.js';
import { requireCheckpointFile } from '../models/weights/file.js';
import { fromPaddle, isPaddleCheckpoint } from '../models/weights/paddle.js';
import type { LoadedSource, ModelSource } from '../models/source.js';

/** Where a download reports its bytes (the CLI draws a bar; tests and the bench pass nothing). */
export interface DownloadWatcher {
  onProgress(received: number, total: number | undefined): void;
  done(): void;
}

/** How a tag's weights file is found. */
export interface WeightsOptions {
  /** A local checkpoint that replaces the tag's download. */
  weights?: string;
  offline?: boolean;
  /** Called once per download, with the tag name; omitted: downloads are silent. */
  watchDownload?: (name: string) => DownloadWatcher;
  /** Lines the user must hear whatever --quiet says (waiting for another download's lock). */
  onNotice?: (line: string) => void;
}

/** Where and how the engine runs. */
export interface EngineOptions {
  engine: EngineName;
  device: Device;
  threads?: number;
}

/** Where each value of a built-in tag's config came from: an override flag, else the catalogue. */
export function builtinConfigSources(tag: PretrainedTag, f: ConfigOverrides): ConfigSources {
  const cat = `catalogue ${tag.name}`;
  return {
    input_size: f.imgSize !== undefined ? '--img-size' : cat,
    interpolation: f.interpolation !== undefined ? '--interpolation' : cat,
    crop_pct: f.cropPct !== undefined ? '--crop-pct' : cat,
    crop_mode: f.cropMode !== undefined ? '--crop-mode' : cat,
    mean: f.mean !== undefined ? '--mean' : cat,
    std: f.std !== undefined ? '--std' : cat,
    ...(f.cropBorderPixels ? { crop_border_pixels: '--crop-border-pixels' } : {}),
  };
}

/** A built-in family with a catalogued tag's (or the user's) weights, as a model source. */
export function builtinSource(model: ResolvedModel, overrides: ConfigOverrides, opts: WeightsOptions & EngineOptions): ModelSource {
  const cfg = applyOverrides(model.tag.evalConfig, overrides);
  return {
    kind: 'builtin',
    tag: model.tag,
    cfg,
    configSources: builtinConfigSources(model.tag, overrides),
    modelFile: null,
    ...(opts.weights !== undefined ? { weightsFile: opts.weights } : {}),
    load: () => loadModel(model, [cfg.inputSize[1], cfg.inputSize[2]], opts),
    close: async () => undefined,
  };
}

/** The local weights file for a run: --weights as given, else the tag's cached or downloaded file. */
export async function weightsFile(tag: PretrainedTag, opts: WeightsOptions): Promise<string> {
  if (opts.weights) {
    await requireCheckpointFile(opts.weights);
    return opts.weights;
  }
  const w = tag.weights;
  if (w.kind === 'manual') {
    throw new WeightsError(`${tag.name} has no automatic download`, { fix: w.instructions });
  }
  const { fetchWeights } = await import('../models/weights/hub.js');
  const offline = opts.offline ?? false;
  // Waiting for another download, or a cached file set aside: said even with --quiet (a wait must not look like a hang).
  const onNotice = opts.onNotice ?? (() => undefined);
  if (!opts.watchDownload) return fetchWeights(w, { offline, onNotice });
  const watcher = opts.watchDownload(tag.name);
  try {
    return await fetchWeights(w, { offline, onNotice, onProgress: (r, t) => watcher.onProgress(r, t) });
  } finally {
    watcher.done();
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
export async function readWeights(tag: PretrainedTag, opts: WeightsOptions): Promise<{ file: string; tensors: Map<string, HostTensor> }> {
  const file = await weightsFile(tag, opts);
  try {
    return { file, tensors: await readCheckpoint(file) };
  } catch (e) {
    const w = tag.weights;
    if (opts.weights || opts.offline || !(e instanceof WeightsError) || w.kind === 'manual' || w.kind === 'embedded') throw e;
    const { discardCached } = await import('../models/weights/hub.js');
    await discardCached(w, `it does not parse: ${e.message}`, opts.onNotice ?? (() => undefined));
    const again = await weightsFile(tag, opts);
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

export async function loadModel(model: ResolvedModel, size: readonly [number, number], opts: WeightsOptions & EngineOptions): Promise<LoadedSource> {
  requireArchitecture(model);
  const { file, tensors } = await readWeights(model.tag, opts);
  const graph = buildGraph(model, size, tensors, file);
  const engine = await getEngine(opts.engine);
  const loaded = await engine.load(graph, { device: opts.device, ...(opts.threads ? { threads: opts.threads } : {}) });
  if (loaded.engine === 'tfjs') {
    const { takeTfjsNote } = await import('../engines/tfjs/index.js');
    const note = takeTfjsNote(loaded);
    if (note) return { file, params: graph.params, macs: graph.macs, model: loaded, notes: [note] };
  }
  return { file, params: graph.params, macs: graph.macs, model: loaded, notes: [] };
}
