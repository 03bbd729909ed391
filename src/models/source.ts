/**
 * A model source: what the eval loop needs from a model, whether it is a built-in family with
 * weights (the registry) or a model file (ONNX, TF.js). Both give a name for the table, the published
 * rows to compare with, the resolved eval config with where each value came from, and a loader that
 * returns something that turns float32 NCHW batches into 1,000 ImageNet scores per image.
 */
import type { LoadedModel } from '../engines/engine.js';
import type { ConfigSources } from './file/config.js';
import type { EvalConfig } from './eval-config.js';
import type { PublishedResult } from './registry.js';

/** The identity a result row shows: `model` (arch.tag or the file), `arch`, `tag`, and the published rows. */
export interface SourceTag {
  readonly name: string;
  readonly arch: string;
  readonly tag: string;
  readonly published: readonly PublishedResult[];
}

export interface LoadedSource {
  /** The file whose bytes are the run's identity (checkpoint or model file). */
  file: string;
  /** Parameters (weight elements). */
  params: number;
  /** Multiply-accumulates per image, when the graph is known (built-in models). */
  macs?: number;
  /** Scores [n, 1000] per batch, ImageNet classes in sorted-synset order. */
  model: LoadedModel;
  /** Things the user should hear once (a fallback backend, a dropped background class). */
  notes: string[];
}

/** What a model file is and how it is adapted, for the result JSON (null for built-in models). */
export interface ModelFileSummary {
  file: string;
  format: string;
  input: { name: string; layout: string; type: string; batch: number | null; shape: readonly (number | string)[] };
  /** `scores`: what the first batch showed the outputs to be (rows of non-negative values summing to 1 are probabilities). */
  output: { name: string; classes: number | null; adapter: string; class_map: string | null; scores: 'logits' | 'probabilities' | 'not run' };
  config_file: string | null;
}

export interface ModelSource {
  readonly kind: 'builtin' | 'file';
  readonly tag: SourceTag;
  /** The eval config after flags, and where each value came from. */
  readonly cfg: EvalConfig;
  readonly configSources: ConfigSources;
  readonly modelFile: ModelFileSummary | null;
  /** A local file known before load() whose bytes are the run's identity (hashed while the model loads). */
  readonly weightsFile?: string;
  load(): Promise<LoadedSource>;
  /** Frees what resolving opened (a model file's session) when load() is never called. */
  close(): Promise<void>;
}
