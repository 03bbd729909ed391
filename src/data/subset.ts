/**
 * Deterministic subsets of the val set: `--per-class K`, `--limit N` and `--shard i/n`.
 *
 * Everything is defined on val order: samples sorted by name (the basename, compared by code unit,
 * never by locale), so the same flags pick the same images on every machine, from a folder or a tar.
 * The flags apply in a fixed order:
 *
 *   1. per-class: the first K samples of every class, in val order;
 *   2. limit: the first N of what is left;
 *   3. shard i/n: every n-th sample of that selection, starting at the i-th (round-robin).
 *
 * Shards are numbered from 1 ("2/3" is the second of three). Round-robin rather than contiguous
 * blocks: every shard is an even sample of the whole selection, so each shard holds the same mix of
 * classes (a per-class selection stays balanced in every shard), shard sizes differ by at most one
 * and take about the same time, and a shard's own accuracy is a fair estimate of the full run's.
 * For every n the shards 1..n partition the selection: each sample is in exactly one.
 */
import { UsageError } from '../errors.js';

export interface Shard {
  /** 1-based: 1 <= index <= count. */
  index: number;
  count: number;
}

export interface SubsetOptions {
  limit?: number;
  perClass?: number;
  shard?: Shard;
}

const SHARD_HELP = 'shards are numbered from 1: --shard 1/4 ... --shard 4/4';

/** "i/n" -> { index: i, count: n }, 1 <= i <= n. UsageError on anything else. */
export function parseShard(spec: string): Shard {
  const m = /^(\d{1,9})\/(\d{1,9})$/.exec(spec.trim());
  if (!m) {
    throw new UsageError(`--shard '${spec}' is not of the form i/n`, { expected: 'i/n with 1 <= i <= n, e.g. 2/8', fix: SHARD_HELP });
  }
  const shard = { index: Number(m[1]), count: Number(m[2]) };
  checkShard(shard, spec);
  return shard;
}

/** "i/n", as parseShard reads it (for result files and messages). */
export function formatShard(s: Shard): string {
  return `${s.index}/${s.count}`;
}

function checkShard(s: Shard, spec = formatShard(s)): void {
  if (!Number.isSafeInteger(s.count) || s.count < 1) {
    throw new UsageError(`--shard '${spec}': the shard count must be at least 1`, { expected: 'i/n with n >= 1', fix: SHARD_HELP });
  }
  if (!Number.isSafeInteger(s.index) || s.index < 1 || s.index > s.count) {
    const zeroBased = s.index === 0 ? ` (for a 0-based index such as Kubernetes' JOB_COMPLETION_INDEX, pass $((i+1))/${s.count})` : '';
    throw new UsageError(`--shard '${spec}': the shard number must be between 1 and ${s.count}`, {
      expected: `i/n with 1 <= i <= n`,
      fix: SHARD_HELP + zeroBased,
    });
  }
}

/** A positive whole number for `--limit` or `--per-class`; UsageError otherwise. */
export function parseCount(flag: string, spec: string): number {
  const t = spec.trim();
  const n = /^\d{1,15}$/.test(t) ? Number(t) : NaN;
  if (!(n >= 1)) {
    throw new UsageError(`${flag} '${spec}' is not a positive whole number`, { expected: 'an integer >= 1', fix: `e.g. ${flag} 10` });
  }
  return n;
}

/** Samples in val order: sorted by name, by code unit (stable: equal names keep their input order). */
export function valOrder<T extends { name: string }>(samples: readonly T[]): T[] {
  return [...samples].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The subset the flags describe, in val order. The input need not be sorted. Each sample is kept
 * whole (same object), so callers may carry paths, tar offsets or anything else on it.
 */
export function selectSubset<T extends { name: string; label: number }>(samples: readonly T[], opts: SubsetOptions): T[] {
  let out = valOrder(samples);
  if (opts.perClass !== undefined) {
    const k = opts.perClass;
    if (!Number.isSafeInteger(k) || k < 1) throw new UsageError(`--per-class ${k} is not a positive whole number`);
    const taken = new Map<number, number>();
    out = out.filter((s) => {
      const n = taken.get(s.label) ?? 0;
      if (n >= k) return false;
      taken.set(s.label, n + 1);
      return true;
    });
  }
  if (opts.limit !== undefined) {
    const n = opts.limit;
    if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--limit ${n} is not a positive whole number`);
    out = out.slice(0, n);
  }
  if (opts.shard !== undefined) {
    const { index, count } = opts.shard;
    checkShard(opts.shard);
    out = out.filter((_, i) => i % count === index - 1);
  }
  return out;
}

/** How a set of shard results covers the selection (for `zoo merge`). */
export interface ShardCoverage {
  /** The shards are 1..n of one n, each exactly once. */
  complete: boolean;
  /** The different shard counts seen (more than one means the results cannot be merged). */
  counts: number[];
  /** Shard numbers given more than once: overlapping slices. */
  duplicate: number[];
  /** Shard numbers of 1..n that are absent (only meaningful when counts has one value). */
  missing: number[];
}

export function shardCoverage(shards: readonly Shard[]): ShardCoverage {
  const counts = [...new Set(shards.map((s) => s.count))].sort((a, b) => a - b);
  const seen = new Map<number, number>();
  for (const s of shards) seen.set(s.index, (seen.get(s.index) ?? 0) + 1);
  const duplicate = [...seen].filter(([, n]) => n > 1).map(([i]) => i).sort((a, b) => a - b);
  const missing: number[] = [];
  if (counts.length === 1) for (let i = 1; i <= counts[0]!; i++) if (!seen.has(i)) missing.push(i);
  const complete = counts.length === 1 && duplicate.length === 0 && missing.length === 0 && shards.every((s) => s.index >= 1 && s.index <= s.count);
  return { complete, counts, duplicate, missing };
}
