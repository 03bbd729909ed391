// Deterministic subsets over the real ILSVRC2012 val ground truth (50,000 names and labels).
import { describe, expect, it } from 'vitest';
import { ExitCode, UsageError } from '../src/errors.js';
import { formatShard, parseCount, parseShard, selectSubset, shardCoverage, valOrder } from '../src/data/subset.js';
import { valTruth } from './support/fixtures.js';

interface Sample {
  name: string;
  label: number;
}

const VAL: Sample[] = [...valTruth()].map(([name, label]) => ({ name, label }));

/** A fixed permutation (LCG) so inputs arrive out of val order. */
function shuffled<T>(xs: readonly T[], seed = 12345): T[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function usageErrorOf(f: () => unknown): UsageError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    expect((e as UsageError).exitCode).toBe(ExitCode.USAGE);
    return e as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('val order', () => {
  it('sorts by name by code unit, whatever order the samples arrive in', () => {
    const order = valOrder(shuffled(VAL));
    expect(order.map((s) => s.name)).toEqual(VAL.map((s) => s.name)); // val_labels.txt is in val order
    expect(order[0]!.name).toBe('ILSVRC2012_val_00000001.JPEG');
    // Code units, not locale: upper case sorts before lower case.
    expect(valOrder([{ name: 'b' }, { name: 'B' }, { name: 'a' }]).map((s) => s.name)).toEqual(['B', 'a', 'b']);
  });
});

describe('selectSubset', () => {
  it('with no options returns every sample, in val order, as the same objects', () => {
    const input = shuffled(VAL);
    const out = selectSubset(input, {});
    expect(out).toHaveLength(VAL.length);
    expect(out.map((s) => s.name)).toEqual(VAL.map((s) => s.name));
    expect(new Set(out)).toEqual(new Set(input)); // identity: extra fields (paths, tar offsets) survive
  });

  it('--limit N is the first N in val order', () => {
    expect(selectSubset(shuffled(VAL), { limit: 5 }).map((s) => s.name)).toEqual([1, 2, 3, 4, 5].map((i) => `ILSVRC2012_val_${String(i).padStart(8, '0')}.JPEG`));
    expect(selectSubset(VAL.slice(0, 10), { limit: 100 })).toHaveLength(10);
  });

  it('--per-class K is the first K of every class in val order', () => {
    for (const k of [1, 3, 50, 51]) {
      const out = selectSubset(shuffled(VAL, k), { perClass: k });
      // Independently: walk val order, count per label.
      const want: string[] = [];
      const n = new Map<number, number>();
      for (const s of VAL) {
        if ((n.get(s.label) ?? 0) < k) want.push(s.name);
        n.set(s.label, (n.get(s.label) ?? 0) + 1);
      }
      expect(out.map((s) => s.name)).toEqual(want);
      // ILSVRC2012 val has exactly 50 images per class.
      expect(out).toHaveLength(1000 * Math.min(k, 50));
    }
    // Class 65's first image in val order is ILSVRC2012_val_00000001.
    const first = selectSubset(VAL, { perClass: 1 });
    expect(first.find((s) => s.label === 65)!.name).toBe('ILSVRC2012_val_00000001.JPEG');
  });

  it('applies per-class, then limit, then shard', () => {
    const perClass = selectSubset(VAL, { perClass: 2 });
    const both = selectSubset(VAL, { perClass: 2, limit: 300 });
    expect(both).toEqual(perClass.slice(0, 300));
    // The other order would differ: the first 300 images hold fewer than 2 of most classes.
    const limitFirst = selectSubset(selectSubset(VAL, { limit: 300 }), { perClass: 2 });
    expect(limitFirst).not.toEqual(both);
    const shard = selectSubset(VAL, { perClass: 2, limit: 300, shard: { index: 2, count: 3 } });
    expect(shard).toEqual(both.filter((_, i) => i % 3 === 1));
  });

  const sets: [string, Sample[]][] = [
    ['all 50,000', VAL],
    ['--per-class 3', selectSubset(VAL, { perClass: 3 })],
    ['--limit 101', selectSubset(VAL, { limit: 101 })],
    ['5 samples', VAL.slice(0, 5)],
  ];
  for (const [what, base] of sets) {
    it(`shards 1..n partition ${what} exactly, for n = 1, 2, 3, 7`, () => {
      for (const n of [1, 2, 3, 7]) {
        const shards = Array.from({ length: n }, (_, i) => selectSubset(shuffled(base, n + i), { shard: { index: i + 1, count: n } }));
        const all = shards.flat();
        expect(all).toHaveLength(base.length);
        expect(new Set(all.map((s) => s.name)).size).toBe(base.length); // no sample in two shards
        expect(new Set(all)).toEqual(new Set(base)); // and none left out
        const sizes = shards.map((s) => s.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        for (const s of shards) expect(s.map((x) => x.name)).toEqual(valOrder(s).map((x) => x.name));
        // Same flags, same shard: deterministic.
        expect(selectSubset(base, { shard: { index: n, count: n } })).toEqual(shards[n - 1]);
      }
    });
  }

  it('round-robin keeps every shard class-balanced', () => {
    // 10 per class, 7 shards: a contiguous split would give whole runs of classes to one shard.
    const base = selectSubset(VAL, { perClass: 10 });
    for (let i = 1; i <= 7; i++) {
      const shard = selectSubset(base, { perClass: 10, shard: { index: i, count: 7 } });
      const classes = new Set(shard.map((s) => s.label));
      expect(classes.size).toBeGreaterThan(700);
    }
  });

  it('rejects bad counts and shards passed programmatically', () => {
    usageErrorOf(() => selectSubset(VAL, { limit: 0 }));
    usageErrorOf(() => selectSubset(VAL, { perClass: 1.5 }));
    usageErrorOf(() => selectSubset(VAL, { shard: { index: 0, count: 3 } }));
    usageErrorOf(() => selectSubset(VAL, { shard: { index: 4, count: 3 } }));
  });
});

describe('parseShard', () => {
  it('reads i/n, 1-based', () => {
    expect(parseShard('1/1')).toEqual({ index: 1, count: 1 });
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    expect(parseShard(' 7/7 ')).toEqual({ index: 7, count: 7 });
    expect(formatShard(parseShard('3/8'))).toBe('3/8');
  });

  it('rejects anything else with a UsageError that says how to write it', () => {
    for (const bad of ['', '3', '1/', '/3', 'a/b', '1/0', '0/0', '4/3', '-1/3', '1.5/3', '1/3/4', '1 / 3', '1of3', '1e3/1e4', '99999999999/99999999999']) {
      const e = usageErrorOf(() => parseShard(bad));
      expect(e.oneLine()).toContain('--shard');
      expect(e.fix).toContain('numbered from 1');
    }
    expect(usageErrorOf(() => parseShard('0/4')).fix).toContain('JOB_COMPLETION_INDEX');
  });
});

describe('parseCount', () => {
  it('reads positive whole numbers and rejects the rest', () => {
    expect(parseCount('--limit', '5000')).toBe(5000);
    expect(parseCount('--per-class', '1')).toBe(1);
    for (const bad of ['0', '-1', '1.5', 'ten', '', '1e3', '0x10']) {
      expect(usageErrorOf(() => parseCount('--limit', bad)).oneLine()).toContain('--limit');
    }
  });
});

describe('shardCoverage', () => {
  it('says whether shard results cover the selection exactly once', () => {
    const s = (spec: string) => parseShard(spec);
    expect(shardCoverage(['1/3', '3/3', '2/3'].map(s))).toEqual({ complete: true, counts: [3], duplicate: [], missing: [] });
    expect(shardCoverage(['1/3', '1/3', '2/3'].map(s))).toEqual({ complete: false, counts: [3], duplicate: [1], missing: [3] });
    expect(shardCoverage(['1/2', '2/3'].map(s)).complete).toBe(false);
    expect(shardCoverage(['1/2', '2/3'].map(s)).counts).toEqual([2, 3]);
    expect(shardCoverage(['1/1'].map(s)).complete).toBe(true);
  });
});
