/**
 * Combining shard results (`zoo eval --shard i/n`) into the numbers of one run over the whole
 * selection. Every metric is a sum of counts (MetricsState), so the merge is exact, provided the
 * shards really are the n slices of one selection of one run configuration. That is checked first,
 * and anything else is refused with a UsageError naming the file at fault:
 *  - the same model, weights, eval config and selection flags (whatever `identity` holds) in all;
 *  - shards 1..n of one n, each exactly once (src/data/subset.ts `shardCoverage`);
 *  - each shard finished (not interrupted, every image of its slice evaluated or skipped);
 *  - slice sizes that fit one selection: round-robin shard i of n over S images has
 *    ceil((S - i + 1) / n) of them, S being the sum of the shards' sizes.
 */
import { formatShard, shardCoverage, type Shard } from '../data/subset.js';
import { UsageError } from '../errors.js';
import { checkState, mergeStates, type MetricsState } from './accumulator.js';

export interface ShardResult {
  /** The result file, for messages. */
  file: string;
  /** The slice; 1/1 for a run without --shard. */
  shard: Shard;
  /** Named facts that must be equal in every shard (model, weights hash, eval config, ...), as strings. */
  identity: Readonly<Record<string, string>>;
  /** Images in this shard's slice. */
  samples: number;
  /** Images of the slice accounted for: evaluated plus skipped. */
  accounted: number;
  interrupted: boolean;
  state: MetricsState;
}

export interface MergedShards {
  state: MetricsState;
  /** Images in the whole selection (sum of the slices). */
  samples: number;
  /** The shard count n. */
  count: number;
  /** Input order sorted by shard number. */
  order: number[];
}

/** Images round-robin shard `index` of `count` holds when the selection has `total`. */
export function shardSize(total: number, s: Shard): number {
  return total >= s.index ? Math.floor((total - s.index) / s.count) + 1 : 0;
}

function refuse(file: string, message: string, fix: string): UsageError {
  return new UsageError(message, { file, fix });
}

/** Checks that the results are the complete, non-overlapping shards of one run, then adds them. */
export function mergeShards(shards: readonly ShardResult[]): MergedShards {
  if (shards.length === 0) throw new UsageError('nothing to merge', { fix: 'pass the --json files of every shard: zoo merge shard1.json shard2.json ...' });
  const first = shards[0]!;
  for (const s of shards.slice(1)) {
    for (const key of new Set([...Object.keys(first.identity), ...Object.keys(s.identity)])) {
      const a = first.identity[key];
      const b = s.identity[key];
      if (a !== b) {
        throw refuse(s.file, `${key} differs from ${first.file} (${b ?? 'absent'} here, ${a ?? 'absent'} there)`, 'merge only shards of one run: the same model, weights, eval config and selection flags');
      }
    }
  }
  for (const s of shards) {
    if (s.interrupted || s.accounted !== s.samples) {
      throw refuse(
        s.file,
        `shard ${formatShard(s.shard)} is incomplete (${s.accounted} of its ${s.samples} images evaluated${s.interrupted ? ', interrupted' : ''})`,
        'finish it with the same command and --resume, then merge',
      );
    }
    try {
      checkState(s.state);
    } catch (e) {
      throw refuse(s.file, `damaged metrics state: ${(e as Error).message}`, 're-run this shard');
    }
    if (s.state.images > s.samples) throw refuse(s.file, `the metrics count ${s.state.images} images, more than the shard's ${s.samples}`, 're-run this shard');
  }

  const cov = shardCoverage(shards.map((s) => s.shard));
  if (cov.counts.length > 1) {
    const odd = shards.find((s) => s.shard.count !== first.shard.count)!;
    throw refuse(odd.file, `shard ${formatShard(odd.shard)} is of ${odd.shard.count} shards, ${first.file} of ${first.shard.count}`, 'merge the shards of one --shard i/n split');
  }
  if (cov.duplicate.length > 0) {
    const i = cov.duplicate[0]!;
    const same = shards.filter((s) => s.shard.index === i);
    throw refuse(same[1]!.file, `overlapping shards: shard ${i}/${first.shard.count} is given more than once (also ${same[0]!.file})`, 'pass each shard once');
  }
  if (!cov.complete) {
    const missing = cov.missing.map((i) => `${i}/${first.shard.count}`);
    throw refuse(first.file, `incomplete shard set: shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} missing`, 'pass the --json files of all shards 1..n');
  }

  const total = shards.reduce((n, s) => n + s.samples, 0);
  for (const s of shards) {
    const want = shardSize(total, s.shard);
    if (s.samples !== want) {
      throw refuse(
        s.file,
        `shard ${formatShard(s.shard)} holds ${s.samples} images, but ${first.shard.count} round-robin shards of the ${total} images the set adds up to give it ${want}`,
        'the shards were cut from different data or selections; run them all on the same --data',
      );
    }
  }

  const order = shards.map((_, i) => i).sort((a, b) => shards[a]!.shard.index - shards[b]!.shard.index);
  let state: MetricsState;
  try {
    state = mergeStates(order.map((i) => shards[i]!.state));
  } catch (e) {
    throw refuse(first.file, `the shards' metrics cannot be added: ${(e as Error).message}`, 'merge only shards of one run');
  }
  return { state, samples: total, count: first.shard.count, order };
}
