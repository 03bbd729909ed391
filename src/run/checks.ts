/**
 * Regression checks for CI: `--expect-top1 published|N`, `--expect-top5 published|N`,
 * `--tolerance T` and `--baseline results.json`.
 *
 * A check fails when the measured accuracy is worse than the expectation by more than T points.
 * On a full run that is a plain comparison. On a subset the measured value carries sampling error,
 * so the check is statistical: it fails only when `expected - T` lies ABOVE the 95% Wilson interval
 * of the measurement (an accuracy that high would be implausible given what the subset showed).
 * A 5,000-image job then catches real regressions (the interval is about +-1.2 points at 78%)
 * without failing on chance. The one exception is a baseline measured on exactly the same images
 * (same selection): both numbers are then deterministic and compared directly.
 */
import { DataError, UsageError } from '../errors.js';
import { baselineProblems, describeProblems } from './run-schema.js';
import { percent } from '../metrics/compare.js';
import { wilsonInterval } from '../metrics/interval.js';
import { publishedConfigs, type PretrainedTag } from '../models/registry.js';
import { readInputText, RESULT_MAX_BYTES } from '../io/input.js';
import { pct } from '../util/format.js';

/** `published` or a number of points in [0, 100]. */
export type Expectation = 'published' | number;

export interface CheckInput {
  metric: 'top-1' | 'top-5';
  hits: number;
  images: number;
  /** The run is a subset of val (sampling error applies). */
  subset: boolean;
  /** Where the expected value came from, for the verdict: `published`, `--expect-top1`, `baseline x.json`. */
  source: string;
  expected: number;
  tolerance: number;
  /** The expectation was measured on exactly these images (a baseline of the same selection). */
  sameImages: boolean;
}

export interface CheckResult {
  metric: 'top-1' | 'top-5';
  source: string;
  expected: number;
  tolerance: number;
  measured: number;
  /** The 95% interval when the check is statistical, else null. */
  interval: [number, number] | null;
  /** 'statistical' on a subset, 'exact' otherwise. */
  kind: 'statistical' | 'exact';
  passed: boolean;
  /** One line saying what was compared and why it passed or failed. */
  verdict: string;
}

export function runCheck(c: CheckInput): CheckResult {
  const measured = percent(c.hits, c.images);
  const floor = c.expected - c.tolerance;
  const what = `${c.metric} ${pct(measured)}% on ${c.images} images vs ${c.source} ${pct(c.expected)}% (tolerance ${c.tolerance})`;
  const common = { metric: c.metric, source: c.source, expected: c.expected, tolerance: c.tolerance, measured };
  if (c.subset && !c.sameImages) {
    const i = wilsonInterval(c.hits, c.images);
    const passed = floor <= i.high;
    const iv = `[${pct(i.low)}, ${pct(i.high)}]`;
    return {
      ...common,
      interval: [i.low, i.high],
      kind: 'statistical',
      passed,
      verdict: passed
        ? `${what}: pass (subset: ${pct(floor)} is within or below the 95% interval ${iv})`
        : `${what}: REGRESSION (subset: ${pct(floor)} lies above the 95% interval ${iv})`,
    };
  }
  const passed = measured >= floor - 1e-9;
  return {
    ...common,
    interval: null,
    kind: 'exact',
    passed,
    verdict: passed ? `${what}: pass` : `${what}: REGRESSION (${pct(measured - c.expected)} points)`,
  };
}

/** What a --baseline file must hold: a previous `zoo eval --json` result. */
export interface Baseline {
  file: string;
  model: string;
  top1: number;
  top5: number;
  images: number;
  /** The baseline's selection key (see selectionKey in eval.ts), if it recorded one. */
  selection: string | null;
}

export async function readBaseline(file: string): Promise<Baseline> {
  const text = await readInputText(file, { what: '--baseline', maxBytes: RESULT_MAX_BYTES, fix: 'pass a results file written by zoo eval --json' });
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new UsageError('--baseline is not JSON', { file, expected: 'a results file written by zoo eval --json' });
  }
  const o = v as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || typeof o.top1 !== 'number' || typeof o.top5 !== 'number' || typeof o.images !== 'number') {
    throw new UsageError('--baseline has no top1/top5/images numbers', {
      file,
      expected: 'a results file written by zoo eval --json',
      fix: 'pass the --json output of an earlier run',
    });
  }
  const problems = baselineProblems(o);
  if (problems.length > 0) {
    throw new DataError(`--baseline holds numbers that cannot be (${describeProblems(problems)})`, {
      file,
      fix: 'pass the unedited --json output of an earlier run',
    });
  }
  const sel = o.selection as Record<string, unknown> | undefined;
  // The counts, when present, give the unrounded accuracy (top1 is rounded to 4 decimals).
  const exact = (hits: unknown, rounded: number) =>
    typeof hits === 'number' && (o.images as number) > 0 ? (100 * hits) / (o.images as number) : rounded;
  return {
    file,
    model: typeof o.model === 'string' ? o.model : '?',
    top1: exact(o.top1_correct, o.top1),
    top5: exact(o.top5_correct, o.top5),
    images: o.images,
    selection: sel && typeof sel.key === 'string' ? sel.key : null,
  };
}

/** What the user asked to check a run against. */
export interface CheckOptions {
  expectTop1?: Expectation;
  expectTop5?: Expectation;
  /** Allowed shortfall in points. */
  tolerance: number;
  /** An earlier --json result to compare with. */
  baseline?: string;
  /** An earlier run's per-image outcomes (--json or --predictions CSV), compared image by image. */
  baselinePredictions?: string;
}

/** Default --tolerance, in points: float noise across engines is far below it, a real regression is not. */
export const DEFAULT_TOLERANCE = 0.1;

interface ExpectedValue {
  value: number;
  source: string;
}

/** The checks of one run, resolved before it starts so usage problems surface before an hour of work. */
export interface CheckPlan {
  top1: ExpectedValue | null;
  top5: ExpectedValue | null;
  baseline: Baseline | null;
  tolerance: number;
}

/** The expected value of a check and where it came from. */
function expected(e: Expectation, published: number | null | undefined, metric: 'top-1' | 'top-5', tag: CheckedTag): ExpectedValue {
  const flag = `--expect-${metric.replace('-', '')}`;
  if (e !== 'published') return { value: e, source: flag };
  if ((published === null || published === undefined) && publishedConfigs(tag).length > 0) {
    throw new UsageError(`${flag} published: ${tag.name} has no published ${metric} at this eval config`, {
      expected: `a config with published numbers: ${publishedConfigs(tag).join('; ')} (and the tag's mean, std and crop mode)`,
      fix: `drop the overrides, or pass a number instead, e.g. ${flag} 77.5`,
    });
  }
  if (published === null || published === undefined) {
    throw new UsageError(`${flag} published: ${tag.name} has no published ${metric}`, { fix: `pass a number instead, e.g. ${flag} 77.5` });
  }
  return { value: published, source: 'published' };
}

/** The model a check is about: its name and published rows. */
type CheckedTag = { name: string } & Pick<PretrainedTag, 'published'>;

/** The checks of `opts` against the published row (the baseline already read: readBaseline). */
export function planChecks(opts: CheckOptions, published: { top1: number; top5: number | null } | undefined, tag: CheckedTag, baseline: Baseline | null): CheckPlan {
  return {
    top1: opts.expectTop1 !== undefined ? expected(opts.expectTop1, published?.top1, 'top-1', tag) : null,
    top5: opts.expectTop5 !== undefined ? expected(opts.expectTop5, published?.top5, 'top-5', tag) : null,
    baseline,
    tolerance: opts.tolerance,
  };
}

/** The plan's checks on the measured counts; null when nothing was asked. */
export function runChecks(
  plan: CheckPlan,
  m: { images: number; top1Correct: number; top5Correct: number; subset: boolean; selectionKey: string },
): { passed: boolean; results: CheckResult[] } | null {
  if (!plan.top1 && !plan.top5 && !plan.baseline) return null;
  const results: CheckResult[] = [];
  const base = { images: m.images, subset: m.subset, tolerance: plan.tolerance };
  if (plan.top1) results.push(runCheck({ ...base, metric: 'top-1', hits: m.top1Correct, expected: plan.top1.value, source: plan.top1.source, sameImages: false }));
  if (plan.top5) results.push(runCheck({ ...base, metric: 'top-5', hits: m.top5Correct, expected: plan.top5.value, source: plan.top5.source, sameImages: false }));
  const b = plan.baseline;
  if (b) {
    const same = b.selection !== null && b.selection === m.selectionKey && b.images === m.images;
    const source = `baseline ${b.file}`;
    results.push(runCheck({ ...base, metric: 'top-1', hits: m.top1Correct, expected: b.top1, source, sameImages: same }));
    results.push(runCheck({ ...base, metric: 'top-5', hits: m.top5Correct, expected: b.top5, source, sameImages: same }));
  }
  return { passed: results.every((r) => r.passed), results };
}
