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
import { readFile } from 'node:fs/promises';
import { DataError, UsageError } from '../errors.js';
import { baselineProblems, describeProblems } from './run-schema.js';
import { wilsonInterval } from '../metrics/interval.js';

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

const f3 = (v: number) => v.toFixed(3);

export function runCheck(c: CheckInput): CheckResult {
  const measured = c.images ? (100 * c.hits) / c.images : 0;
  const floor = c.expected - c.tolerance;
  const what = `${c.metric} ${f3(measured)}% on ${c.images} images vs ${c.source} ${f3(c.expected)}% (tolerance ${c.tolerance})`;
  const common = { metric: c.metric, source: c.source, expected: c.expected, tolerance: c.tolerance, measured };
  if (c.subset && !c.sameImages) {
    const i = wilsonInterval(c.hits, c.images);
    const passed = floor <= i.high;
    const iv = `[${f3(i.low)}, ${f3(i.high)}]`;
    return {
      ...common,
      interval: [i.low, i.high],
      kind: 'statistical',
      passed,
      verdict: passed
        ? `${what}: pass (subset: ${f3(floor)} is within or below the 95% interval ${iv})`
        : `${what}: REGRESSION (subset: ${f3(floor)} lies above the 95% interval ${iv})`,
    };
  }
  const passed = measured >= floor - 1e-9;
  return {
    ...common,
    interval: null,
    kind: 'exact',
    passed,
    verdict: passed ? `${what}: pass` : `${what}: REGRESSION (${f3(measured - c.expected)} points)`,
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
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --baseline: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
      file,
      expected: 'a results file written by zoo eval --json',
    });
  }
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
