/**
 * A run's accuracy against the published numbers of its tag: the difference, and whether the
 * published value is consistent with what was measured (inside the 95% interval on a subset; within
 * float-rounding distance, 0.01 points, on the full set, where timm's tables print 3 decimals).
 */
import type { PublishedResult } from '../models/registry.js';
import { contains, wilsonInterval, type Interval } from './interval.js';

/** The published tables round to 0.001 points; a full run may differ by float noise a little beyond. */
export const FULL_SET_SLACK = 0.01;

export interface Measured {
  images: number;
  top1Correct: number;
  top5Correct: number;
}

export interface MetricComparison {
  measured: number;
  /** Published value, or null when the source gives none (e.g. no top-5). */
  published: number | null;
  /** measured - published, in points. */
  delta: number | null;
  /** 95% Wilson interval of the measured value (meaningful on a subset). */
  interval: Interval;
  /** Whether the published value is explained by the measurement. */
  consistent: boolean | null;
}

export interface Comparison {
  subset: boolean;
  reference: PublishedResult | null;
  top1: MetricComparison;
  top5: MetricComparison;
}

/** The accuracy `hits` of `n` images give, in points (0 with no images). */
export function percent(hits: number, n: number): number {
  return n ? (100 * hits) / n : 0;
}

function metric(hits: number, n: number, published: number | null, subset: boolean): MetricComparison {
  const measured = percent(hits, n);
  const interval = wilsonInterval(hits, n);
  if (published === null) return { measured, published, delta: null, interval, consistent: null };
  const consistent = subset ? contains(interval, published) : Math.abs(measured - published) <= FULL_SET_SLACK;
  return { measured, published, delta: measured - published, interval, consistent };
}

/**
 * `subset` is true when the run saw fewer images than the full val set (a --limit, a smaller
 * folder): the 95% interval then decides consistency.
 */
export function compareWithPublished(m: Measured, reference: PublishedResult | undefined, subset: boolean): Comparison {
  return { subset, reference: reference ?? null, ...compareFigures(m, reference ?? null, subset) };
}

/** Top-1 and top-5 against published figures (any row: val, ReaL), as compareWithPublished decides. */
export function compareFigures(
  m: Measured,
  published: { top1: number; top5: number | null } | null,
  subset: boolean,
): Pick<Comparison, 'top1' | 'top5'> {
  return {
    top1: metric(m.top1Correct, m.images, published?.top1 ?? null, subset),
    top5: metric(m.top5Correct, m.images, published?.top5 ?? null, subset),
  };
}
