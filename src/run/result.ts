/**
 * The result of an eval run: the JSON object (timm's validate.py field names first, then ours), its
 * CSV row, and the per-image predictions CSV.
 */
import type { Device, EngineName } from '../engines/engine.js';
import type { MetricsAccumulator, MetricsState } from '../metrics/accumulator.js';
import { percent, type Comparison } from '../metrics/compare.js';
import type { TopKAccumulator } from '../metrics/topk.js';
import type { CheckResult } from './checks.js';
import type { RunIdentity, SkippedImage } from './state.js';
import type { EvalConfig } from '../models/eval-config.js';
import type { ConfigSources } from '../models/file/config.js';
import type { ModelFileSummary, SourceTag } from '../models/source.js';
import { pct } from '../util/format.js';
import { csvField } from '../util/csv.js';
import { round4 as r4 } from '../util/round.js';
import { ZOO_VERSION } from '../version.js';
import { camelKeys, snakeKeys } from '../io/json-keys.js';

export interface EvalResult {
  // timm validate.py's results row
  model: string;
  top1: number;
  top1_err: number;
  top5: number;
  top5_err: number;
  param_count: number;
  /** Multiply-accumulates per image at the eval size, in billions; null when unknown (model files). Older results lack it. */
  gmacs?: number | null;
  img_size: number;
  crop_pct: number;
  interpolation: string;
  // ours
  /** The test set (imagenet, imagenet-a, sketch, ...): the `dataset` column of published.csv and of results files. */
  dataset: string;
  tag: string;
  arch: string;
  images: number;
  top1_correct: number;
  top5_correct: number;
  subset: boolean;
  /** Every image of the full val set, with no data warnings. */
  complete: boolean;
  top1_interval: [number, number];
  top5_interval: [number, number];
  published: {
    source: string;
    dataset: string;
    img_size: number;
    crop_pct: number;
    top1: number;
    top5: number | null;
    top1_diff: number;
    top5_diff: number | null;
    consistent_top1: boolean | null;
    consistent_top5: boolean | null;
  } | null;
  eval_config: EvalConfig;
  /** Where each eval_config value came from: a flag, the catalogue, a config.json, --config-of, the model's input shape. */
  config_sources?: ConfigSources | null;
  /** A model file's signature and the adapters applied (null for built-in models). */
  model_file?: ModelFileSummary | null;
  weights: string;
  engine: EngineName;
  backend: string;
  device: Device;
  batch_size: number;
  workers: number;
  limit: number | null;
  data: DataSummary;
  images_per_sec: number;
  wall_s: number;
  /**
   * Whether the numbers may be set beside published ones: false when images were skipped
   * (--on-error skip) or the run was interrupted. The comparison is still shown, flagged.
   */
  comparable: boolean;
  /** Why not comparable (empty when comparable). */
  not_comparable_because: string[];
  /** Stopped by SIGINT/SIGTERM: a partial result; `zoo eval ... --resume` continues it. */
  interrupted: boolean;
  /** Continued from a state file at least once. */
  resumed: boolean;
  /** The deterministic subset evaluated (flags as given) and its size. */
  selection: Selection;
  /** Images excluded by --on-error skip, with why. */
  skipped: { file: string; error: string }[];
  /** ImageNet-ReaL figures (--real-labels), over the images that have a ReaL list. */
  real: RealResult | null;
  /** Per-class accuracy, classes with at least one image. */
  per_class: { class: number; name: string; images: number; top1: number; top5: number }[];
  /** The most frequent top-1 errors, true -> predicted. */
  most_confused: { true: number; true_name: string; predicted: number; predicted_name: string; count: number }[];
  /** Regression checks (--expect-top1/--expect-top5/--baseline), null when none asked. */
  checks: { passed: boolean; results: CheckResult[] } | null;
  /** One line: what the run concluded (the same line goes to stderr when a check fails). */
  verdict: string;
  /** What `zoo merge` needs: the run's identity and its additive metric counts. */
  identity: RunIdentity;
  metrics_state: MetricsState;
  /** The zoo that measured it, and when the result was made (ISO 8601, UTC). Older results lack them. */
  zoo_version?: string;
  date?: string;
}

export interface DataSummary {
  /** The data folder or archive; with several --data paths, all of them (absolute, sorted), and `parts`. */
  root: string | string[];
  /** Each of several --data paths: where, its layout and source, the images found there. */
  parts?: { root: string; layout: string; source: string; found: number }[];
  layout: string;
  /** `folder`, or an archive read in place: `tar`, `zip`, `tar.gz` (through a spooled tar). */
  source: string;
  /** The test set (test-sets.ts name): --dataset, or detected. */
  name: string;
  /** What people call it (ImageNet-A, ...). */
  title: string;
  /** How the set was detected when --dataset was not given; null otherwise. */
  detected: string | null;
  /** The outputs predictions may take. */
  label_space: string;
  /** Images found under --data (before any subset). */
  found: number;
  /** Every image of the ground truth present, no unknown classes, no duplicates. */
  complete: boolean;
  /** Val images of the ground truth absent from --data. */
  missing: number;
  warnings: string[];
}

export interface Selection {
  per_class: number | null;
  limit: number | null;
  /** `i/n`, or null. */
  shard: string | null;
  /** Images selected by the flags (evaluated + skipped, when the run completes). */
  images: number;
  /** A string equal for runs over the same images (for --baseline). */
  key: string;
}

export interface RealResult {
  source: string;
  images: number;
  top1: number;
  top5: number;
  top1_correct: number;
  top5_correct: number;
  /** Images with an empty ReaL list (left out, as timm does). */
  no_label: number;
  /** Images whose name is not a val file name (not counted). */
  unmatched: number;
  /** 95% Wilson intervals over `images`, as for the val figures. Older results lack them. */
  top1_interval?: [number, number];
  top5_interval?: [number, number];
  /** The published ReaL row at this config; the diffs and verdicts are absent in older results. */
  published: {
    source: string;
    top1: number;
    top5: number | null;
    top1_diff?: number;
    top5_diff?: number | null;
    consistent_top1?: boolean | null;
    consistent_top5?: boolean | null;
  } | null;
}

export interface ResultInputs {
  model: SourceTag;
  cfg: EvalConfig;
  configSources: ConfigSources;
  modelFile: ModelFileSummary | null;
  acc: TopKAccumulator;
  comparison: Comparison;
  params: number;
  /** Multiply-accumulates per image, when the model graph is known. */
  macs?: number | null;
  weightsFile: string;
  engine: EngineName;
  backend: string;
  device: Device;
  batchSize: number;
  workers: number;
  dataset: DataSummary;
  limit: number | null;
  wallSeconds: number;
  imagesPerSecond: number;
  metrics: MetricsAccumulator;
  classNames: readonly string[];
  interrupted: boolean;
  resumed: boolean;
  selection: Selection;
  skipped: readonly SkippedImage[];
  /** Reasons beyond skipped images and interruption (e.g. duplicate images counted twice). */
  notComparable: readonly string[];
  real: RealResult | null;
  checks: { passed: boolean; results: CheckResult[] } | null;
  identity: RunIdentity;
}

/**
 * A result's measured top-1/top-5 (val or ReaL) for a table: from its counts, since `top1`/`top5`
 * are already round(x, 4) and printing them to 3 decimals would round twice (86.79245 -> 86.7925
 * -> 86.793, where timm and the progress line say 86.792; util/round.ts); the rounded figures
 * only where a result read from a file lacks the counts.
 */
export function measuredAccuracy(r: Pick<EvalResult, 'images' | 'top1' | 'top5'> & { top1_correct?: number; top5_correct?: number }): { top1: number; top5: number } {
  const exact = (hits: number | undefined, rounded: number) => (typeof hits === 'number' && r.images > 0 ? percent(hits, r.images) : rounded);
  return { top1: exact(r.top1_correct, r.top1), top5: exact(r.top5_correct, r.top5) };
}

/**
 * The rounded figures of a comparison with published numbers, any row (val, ReaL): the 95%
 * intervals, and the diffs and verdicts that go inside the `published` block.
 */
export function comparedFigures(c: Pick<Comparison, 'top1' | 'top5'>): {
  intervals: Pick<EvalResult, 'top1_interval' | 'top5_interval'>;
  verdicts: Pick<NonNullable<EvalResult['published']>, 'top1_diff' | 'top5_diff' | 'consistent_top1' | 'consistent_top5'>;
} {
  return {
    intervals: {
      top1_interval: [r4(c.top1.interval.low), r4(c.top1.interval.high)],
      top5_interval: [r4(c.top5.interval.low), r4(c.top5.interval.high)],
    },
    verdicts: {
      top1_diff: r4(c.top1.delta ?? 0),
      top5_diff: c.top5.delta === null ? null : r4(c.top5.delta),
      consistent_top1: c.top1.consistent,
      consistent_top5: c.top5.consistent,
    },
  };
}

/** The interval and published-comparison fields of a result, shared by eval and merge. */
export function comparisonFields(c: Comparison): Pick<EvalResult, 'top1_interval' | 'top5_interval' | 'published'> {
  const ref = c.reference;
  const { intervals, verdicts } = comparedFigures(c);
  return {
    ...intervals,
    published: ref
      ? { source: ref.source, dataset: ref.dataset, img_size: ref.imgSize, crop_pct: ref.cropPct, top1: ref.top1, top5: ref.top5, ...verdicts }
      : null,
  };
}

export function buildResult(i: ResultInputs): EvalResult {
  const { acc, comparison: c } = i;
  return {
    model: i.model.name,
    top1: r4(acc.top1),
    top1_err: r4(100 - acc.top1),
    top5: r4(acc.top5),
    top5_err: r4(100 - acc.top5),
    param_count: Math.round(i.params / 1e4) / 100,
    gmacs: i.macs ? Math.round(i.macs / 1e6) / 1e3 : null,
    img_size: i.cfg.inputSize[1],
    crop_pct: i.cfg.cropPct,
    interpolation: i.cfg.interpolation,
    dataset: i.dataset.name,
    tag: i.model.tag,
    arch: i.model.arch,
    images: acc.count,
    top1_correct: acc.top1Correct,
    top5_correct: acc.top5Correct,
    subset: c.subset,
    complete: i.dataset.complete && !c.subset && i.skipped.length === 0 && !i.interrupted,
    ...comparisonFields(c),
    eval_config: i.cfg,
    config_sources: i.configSources,
    model_file: i.modelFile,
    weights: i.weightsFile,
    engine: i.engine,
    backend: i.backend,
    device: i.device,
    batch_size: i.batchSize,
    workers: i.workers,
    limit: i.limit,
    data: i.dataset,
    images_per_sec: Math.round(i.imagesPerSecond * 100) / 100,
    wall_s: Math.round(i.wallSeconds * 1000) / 1000,
    comparable: notComparable(i).length === 0,
    not_comparable_because: notComparable(i),
    interrupted: i.interrupted,
    resumed: i.resumed,
    selection: i.selection,
    skipped: i.skipped.map((s) => ({ file: s.file, error: s.error })),
    real: i.real,
    per_class: i.metrics
      .perClass()
      .filter((c) => c.images > 0)
      .map((c) => ({ class: c.class, name: i.classNames[c.class] ?? String(c.class), images: c.images, top1: r4(c.top1), top5: r4(c.top5) })),
    most_confused: i.metrics.mostConfused(20).map((p) => ({
      true: p.true,
      true_name: i.classNames[p.true] ?? String(p.true),
      predicted: p.predicted,
      predicted_name: i.classNames[p.predicted] ?? String(p.predicted),
      count: p.count,
    })),
    checks: i.checks,
    verdict: verdictLine(i),
    identity: i.identity,
    metrics_state: i.metrics.toState(),
    zoo_version: ZOO_VERSION,
    date: new Date().toISOString(),
  };
}

function notComparable(i: ResultInputs): string[] {
  const why: string[] = [];
  if (i.interrupted) why.push('the run was interrupted (partial result)');
  if (i.skipped.length > 0) why.push(`${i.skipped.length} image(s) were skipped (--on-error skip)`);
  return [...why, ...i.notComparable];
}

function verdictLine(i: ResultInputs): string {
  if (i.interrupted) return `interrupted after ${i.acc.count} images: partial result, resume with --resume`;
  if (i.checks) {
    const failed = i.checks.results.filter((c) => !c.passed);
    return failed.length === 0 ? `pass: ${i.checks.results.map((c) => c.verdict).join('; ')}` : `regression: ${failed.map((c) => c.verdict).join('; ')}`;
  }
  return `done: top-1 ${pct(i.acc.top1)}%, top-5 ${pct(i.acc.top5)}% on ${i.acc.count} images`;
}

/** timm's results columns first, then ours, one row. */
export const CSV_COLUMNS = [
  'model', 'top1', 'top1_err', 'top5', 'top5_err', 'param_count', 'img_size', 'crop_pct', 'interpolation',
  'dataset', 'tag', 'arch', 'images', 'top1_correct', 'top5_correct', 'real_top1', 'real_top5', 'subset', 'complete',
  'comparable', 'interrupted', 'skipped', 'per_class', 'limit', 'shard', 'passed', 'engine', 'device', 'images_per_sec', 'wall_s',
] as const;

export function resultCsv(r: EvalResult): string {
  const row: Record<(typeof CSV_COLUMNS)[number], string | number | boolean | null> = {
    model: r.model, top1: r.top1, top1_err: r.top1_err, top5: r.top5, top5_err: r.top5_err, param_count: r.param_count,
    img_size: r.img_size, crop_pct: r.crop_pct, interpolation: r.interpolation,
    dataset: r.dataset, tag: r.tag, arch: r.arch, images: r.images, top1_correct: r.top1_correct, top5_correct: r.top5_correct,
    real_top1: r.real ? r4(r.real.top1) : null, real_top5: r.real ? r4(r.real.top5) : null,
    subset: r.subset, complete: r.complete, comparable: r.comparable, interrupted: r.interrupted,
    skipped: r.skipped.length, per_class: r.selection.per_class, limit: r.selection.limit, shard: r.selection.shard,
    passed: r.checks ? r.checks.passed : null, engine: r.engine, device: r.device, images_per_sec: r.images_per_sec, wall_s: r.wall_s,
  };
  const cell = (v: string | number | boolean | null) => (v === null ? '' : csvField(String(v)));
  return `${CSV_COLUMNS.join(',')}\n${CSV_COLUMNS.map((c) => cell(row[c])).join(',')}\n`;
}

/**
 * A result (or any JSON a command writes for users) as the file holds it: snake_case names at
 * every depth (src/io/json-keys.ts), indented, newline-terminated.
 */
export function jsonText(value: unknown): string {
  return JSON.stringify(snakeKeys(value), null, 2) + '\n';
}

/**
 * A parsed result file with the blocks the code computes with (eval_config, config_sources,
 * metrics_state, identity.eval_config) under the code's camelCase names. Reads files written with
 * snake_case names and, for one release, those written before (camelCase): see README "JSON files".
 * Anything that is not an object comes back unchanged for the caller's checks to refuse.
 */
export function resultFromFile(v: unknown): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
  const r = { ...(v as Record<string, unknown>) };
  for (const k of ['eval_config', 'config_sources', 'metrics_state'] as const) if (k in r) r[k] = camelKeys(r[k]);
  const id = r.identity;
  if (typeof id === 'object' && id !== null && !Array.isArray(id) && 'eval_config' in id) {
    r.identity = { ...id, eval_config: camelKeys((id as Record<string, unknown>).eval_config) };
  }
  return r;
}

/**
 * `file,label,top1,top2,top3,top4,top5,margin`, one row per evaluated image in evaluation order;
 * `names[i]` names the accumulator's i-th image.
 */
export function* predictionsCsv(acc: TopKAccumulator, names: readonly string[]): Iterable<string> {
  yield 'file,label,top1,top2,top3,top4,top5,margin\n';
  let chunk = '';
  for (const p of acc.predictions()) {
    chunk += `${csvField(names[p.index] ?? String(p.index))},${p.label},${p.top5.join(',')},${p.margin.toPrecision(6)}\n`;
    if (chunk.length > 1 << 16) {
      yield chunk;
      chunk = '';
    }
  }
  yield chunk;
}
