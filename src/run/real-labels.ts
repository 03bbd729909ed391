/** `--real-labels [file]`: the ImageNet-ReaL label lists a run also scores against, and its result block. */
import { loadRealLabels } from '../data/imagenet.js';
import { DataError, ExitCode } from '../errors.js';
import type { MetricsAccumulator, RealAccuracy, RealLabels } from '../metrics/accumulator.js';
import { compareFigures } from '../metrics/compare.js';
import type { EvalConfig } from '../models/eval-config.js';
import { primaryPublished, type PretrainedTag } from '../models/registry.js';
import { round4 } from '../util/round.js';
import { comparedFigures, type RealResult } from './result.js';
import { LIST_MAX_BYTES, readInputText } from '../io/input.js';

/** The lists and where they came from (the run's identity records the source). */
export interface RealLabelSet {
  labels: RealLabels;
  source: string;
}

function parseRealLabels(file: string, text: string): RealLabels {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new DataError('--real-labels is not JSON', { file, expected: 'real.json: a list, per val image in order, of its ReaL class indices' });
  }
  if (!Array.isArray(v) || !v.every((l) => Array.isArray(l) && l.every((c) => Number.isInteger(c) && c >= 0 && c < 1000))) {
    throw new DataError('--real-labels does not hold lists of class indices', {
      file,
      expected: 'real.json: [[label, ...], ...] with class indices 0..999, one list per val image in order',
    });
  }
  return v as RealLabels;
}

/** `true`: the bundled real.json; a path: that file; undefined: no ReaL figures. */
export async function readRealLabels(choice: string | true | undefined): Promise<RealLabelSet | null> {
  if (choice === undefined) return null;
  if (choice === true) return { labels: loadRealLabels(), source: 'bundled real.json (Beyer et al. 2020)' };
  const text = await readInputText(choice, { what: '--real-labels', maxBytes: LIST_MAX_BYTES, exitCode: ExitCode.DATA });
  return { labels: parseRealLabels(choice, text), source: choice };
}

/** The result's `real` block: the measured ReaL figures beside the published ones at this size. */
export function realResult(
  metrics: MetricsAccumulator,
  real: RealLabelSet | null,
  tag: Pick<PretrainedTag, 'published'>,
  cfg: EvalConfig,
  subset: boolean,
): RealResult | null {
  const ra = metrics.realAccuracy();
  if (!ra || !real) return null;
  const p = primaryPublished(tag, cfg, 'imagenet-real');
  return realBlock(real.source, ra, p ? { source: p.source, top1: p.top1, top5: p.top5 } : null, subset);
}

/**
 * The `real` block from the ReaL counts, with the 95% interval and the published comparison the
 * val rows get (src/metrics/compare.ts: on a subset the interval decides consistency). Eval and
 * merge both build it here.
 */
export function realBlock(
  source: string,
  ra: RealAccuracy,
  published: { source: string; top1: number; top5: number | null } | null,
  subset: boolean,
): RealResult {
  const { intervals, verdicts } = comparedFigures(compareFigures(ra, published, subset));
  return {
    source,
    images: ra.images,
    top1: round4(ra.top1),
    top5: round4(ra.top5),
    top1_correct: ra.top1Correct,
    top5_correct: ra.top5Correct,
    no_label: ra.skipped,
    unmatched: ra.unmatched,
    ...intervals,
    published: published ? { source: published.source, top1: published.top1, top5: published.top5, ...verdicts } : null,
  };
}
