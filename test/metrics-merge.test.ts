/**
 * `zoo merge` on shard results built the way eval builds them: 29 val images with seeded random
 * logits, split round-robin by the real selectSubset into n = 1, 2, 3, 7 shards, one image skipped
 * (--on-error skip) in whichever shard holds it. The merged counts, percentages, per-class figures,
 * confusion pairs, ReaL figures and state equal the single run's, checked against a naive count.
 * Shards of different models, weights or configs, overlapping, missing, mixed-n, unfinished or
 * mis-sized shards are refused with a usage error naming the file.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRealLabels, loadValLabels } from '../src/data/imagenet.js';
import { selectSubset, type Shard } from '../src/data/subset.js';
import { ExitCode } from '../src/errors.js';
import { MetricsAccumulator } from '../src/metrics/accumulator.js';
import { shardSize } from '../src/metrics/merge.js';
import { topK } from '../src/metrics/topk.js';
import { main } from '../src/cli/main.js';
import type { MergedResult } from '../src/cli/merge.js';
import { resultFromFile, type EvalResult } from '../src/run/result.js';
import { imagenetConfig } from './support/fixtures.js';
import { runZoo } from './support/cli.js';

const N = 29;
const SKIPPED = 5; // index in the selection of the image that "failed to decode"
const real = loadRealLabels();
let dir: string;
let samples: { name: string; label: number; logits: Float32Array }[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zoo-merge-'));
  let seed = 7;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const truth = [...loadValLabels()].sort(([a], [b]) => (a < b ? -1 : 1)).slice(0, N);
  samples = truth.map(([name, label]) => {
    const logits = new Float32Array(1000).map(() => rand());
    // Make about half the images right, and some top-5-only.
    const r = rand();
    if (r < 0.4) logits[label] = 2;
    else if (r < 0.7) {
      // Second: a top-5 hit, a top-1 miss, and a confusion pair.
      logits[label] = 2;
      logits[(label + 1) % 1000] = 3;
    }
    return { name, label, logits };
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An eval --json result for the images of `sel` (the skipped one left out), as eval writes it. */
function shardResult(sel: typeof samples, shard: Shard | null, over: Partial<EvalResult> = {}): EvalResult {
  const acc = new MetricsAccumulator({ real });
  const skipped = sel.filter((s) => s === samples[SKIPPED]);
  for (const s of sel) if (s !== samples[SKIPPED]) acc.add(s.logits, [s]);
  const cfg = imagenetConfig(224);
  const shardSpec = shard ? `${shard.index}/${shard.count}` : null;
  const result: EvalResult = {
    model: 'rexnet_100.nav_in1k',
    top1: acc.top1, top1_err: 100 - acc.top1, top5: acc.top5, top5_err: 100 - acc.top5,
    param_count: 4.8, img_size: 224, crop_pct: 0.875, interpolation: 'bicubic', dataset: 'imagenet',
    tag: 'nav_in1k', arch: 'rexnet_100', images: acc.count, top1_correct: acc.top1Correct, top5_correct: acc.top5Correct,
    subset: true, complete: false, top1_interval: [0, 100], top5_interval: [0, 100], published: null,
    eval_config: cfg, weights: '/somewhere/rexnet_100.safetensors', engine: 'onnxruntime', backend: 'onnxruntime (cpu)', device: 'cpu',
    batch_size: 7, workers: 2, limit: null,
    data: { root: '/data/val', layout: 'flat', source: 'folder', name: 'imagenet', title: 'ImageNet val', detected: null, label_space: 'all 1000 classes', found: N, complete: false, missing: 50000 - N, warnings: ['INCOMPLETE: a subset'] },
    images_per_sec: 10, wall_s: 3, comparable: skipped.length === 0,
    not_comparable_because: skipped.length ? ['1 image(s) were skipped (--on-error skip)'] : [],
    interrupted: false, resumed: false,
    selection: { per_class: null, limit: null, shard: shardSpec, images: sel.length, key: `per_class=- limit=- shard=${shardSpec ?? '-'} images=${sel.length}` },
    skipped: skipped.map((s) => ({ file: s.name, error: 'cannot decode image: the file is empty (0 bytes)' })),
    real: { source: 'bundled real.json', images: 0, top1: 0, top5: 0, top1_correct: 0, top5_correct: 0, no_label: 0, unmatched: 0, published: null },
    per_class: [], most_confused: [], checks: null, verdict: '',
    identity: {
      model: 'rexnet_100.nav_in1k',
      weights: { file: '/somewhere/rexnet_100.safetensors', bytes: 123, sha256: 'ab'.repeat(32) },
      eval_config: cfg, data_root: '/data/val', labels: null, samples: sel.length,
      selection: { per_class: null, limit: null, shard: shardSpec }, on_error: 'skip', real_labels: 'bundled real.json',
    },
    metrics_state: acc.toState(),
  };
  return { ...result, ...over };
}

function shards(n: number): EvalResult[] {
  return Array.from({ length: n }, (_, k) => {
    const shard = { index: k + 1, count: n };
    return shardResult(selectSubset(samples, { shard }), shard);
  });
}

function write(name: string, r: unknown): string {
  const f = join(dir, name);
  writeFileSync(f, JSON.stringify(r));
  return f;
}

async function zoo(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (d: Buffer) => (stdout += d.toString()));
  err.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await main(['node', 'zoo', ...args], { stdout: out, stderr: err });
  return { code, stdout, stderr };
}

describe('zoo merge', () => {
  it('shardSize: round-robin slice sizes add up for every n', () => {
    for (const total of [0, 1, 5, 29, 50000]) {
      for (const n of [1, 2, 3, 7, 64]) {
        let sum = 0;
        for (let i = 1; i <= n; i++) {
          const size = shardSize(total, { index: i, count: n });
          expect(size).toBe(Array.from({ length: total }, (_, k) => k).filter((k) => k % n === i - 1).length);
          sum += size;
        }
        expect(sum).toBe(total);
      }
    }
  });

  for (const n of [1, 2, 3, 7]) {
    it(`n = ${n}: merged shards equal the single run, counted naively`, async () => {
      // Reverse order on the command line: merge sorts by shard number.
      const files = shards(n).map((r, k) => write(`n${n}-s${k + 1}.json`, r)).reverse();
      const out = join(dir, `merged-${n}.json`);
      const run = await zoo(['merge', ...files, '--json', out]);
      expect(run.code, run.stderr).toBe(ExitCode.OK);
      const m = resultFromFile(JSON.parse(readFileSync(out, 'utf8'))) as MergedResult;

      // Naive count over the 28 evaluated images.
      const evaluated = samples.filter((_, i) => i !== SKIPPED);
      let t1 = 0;
      let t5 = 0;
      let r1 = 0;
      let rn = 0;
      for (const s of evaluated) {
        const best = topK(s.logits, 5);
        if (best[0] === s.label) t1++;
        if (best.includes(s.label)) t5++;
        const list = real[Number(s.name.slice(15, 23)) - 1]!;
        if (list.length > 0) {
          rn++;
          if (list.includes(best[0]!)) r1++;
        }
      }
      expect([m.images, m.top1_correct, m.top5_correct]).toEqual([28, t1, t5]);
      expect(t1).toBeGreaterThan(5);
      expect(t5).toBeGreaterThan(t1);
      expect(m.top1).toBe(Math.round(((100 * t1) / 28) * 1e4) / 1e4);
      expect([m.real!.images, m.real!.top1_correct]).toEqual([rn, r1]);

      const single = shardResult(samples, null);
      const whole = MetricsAccumulator.fromState(single.metrics_state);
      expect(m.metrics_state).toEqual(single.metrics_state);
      expect(m.per_class.map((c) => [c.class, c.images, c.top1, c.top5])).toEqual(
        whole.perClass().filter((c) => c.images > 0).map((c) => [c.class, c.images, Math.round(c.top1 * 1e4) / 1e4, Math.round(c.top5 * 1e4) / 1e4]),
      );
      expect(m.most_confused.map((p) => [p.true, p.predicted, p.count])).toEqual(whole.mostConfused(20).map((p) => [p.true, p.predicted, p.count]));
      expect(m.skipped).toEqual(single.skipped);
      expect(m.selection).toEqual({ per_class: null, limit: null, shard: null, images: N, key: `per_class=- limit=- shard=- images=${N}` });
      expect(m.identity.selection.shard).toBeNull();
      expect([m.comparable, m.interrupted, m.subset]).toEqual([false, false, true]);
      expect(m.not_comparable_because).toEqual(['1 image(s) were skipped (--on-error skip)']);
      expect(m.published?.top1).toBe(77.862);
      expect(m.merged_from.map((x) => x.shard)).toEqual(Array.from({ length: n }, (_, k) => `${k + 1}/${n}`));
      // The eval table, with the merged numbers.
      expect(run.stdout).toContain(`${m.top1.toFixed(3)}`);
      expect(run.stdout).toMatch(/ReaL/);
      expect(run.stdout).toContain(`merged ${n} shard(s)`);
    });
  }

  describe('refusals (usage error naming the file)', () => {
    const refused = async (results: EvalResult[], bad: number, pattern: RegExp) => {
      const files = results.map((r, k) => write(`refuse-${k}.json`, r));
      const run = await zoo(['merge', ...files]);
      expect(run.code, run.stderr).toBe(ExitCode.USAGE);
      expect(run.stderr).toMatch(new RegExp(`^zoo: ${files[bad]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
      expect(run.stderr).toMatch(pattern);
      expect(run.stdout).toBe('');
    };
    it('different model, weights or eval config', async () => {
      const s = shards(2);
      await refused([s[0]!, { ...s[1]!, model: 'rexnet_130.nav_in1k' }], 1, /model differs from .*refuse-0\.json/);
      const w = { ...s[1]!, identity: { ...s[1]!.identity, weights: { ...s[1]!.identity.weights, sha256: 'cd'.repeat(32) } } };
      await refused([s[0]!, w], 1, /weights differs/);
      const c = { ...s[1]!, identity: { ...s[1]!.identity, eval_config: { ...s[1]!.identity.eval_config, cropPct: 0.95 } } };
      await refused([s[0]!, c], 1, /eval config differs/);
    });
    it('overlapping, missing and mixed-n shards', async () => {
      const s = shards(3);
      await refused([s[0]!, s[1]!, s[2]!, s[1]!], 3, /overlapping shards: shard 2\/3 is given more than once/);
      await refused([s[0]!, s[2]!], 0, /incomplete shard set: shard 2\/3 missing/);
      await refused([s[0]!, shards(2)[1]!], 1, /shard 2\/2 is of 2 shards/);
    });
    it('an interrupted shard, and slices cut from different data', async () => {
      const s = shards(2);
      // Its figures agree with its counts (an inconsistent file is refused earlier, as forged).
      const p4 = shardResult(selectSubset(samples, { limit: 4 }), null);
      const counts = { images: p4.images, top1: p4.top1, top5: p4.top5, top1_correct: p4.top1_correct, top5_correct: p4.top5_correct };
      const partial = { ...s[1]!, ...counts, interrupted: true, metrics_state: p4.metrics_state };
      await refused([s[0]!, partial], 1, /shard 2\/2 is incomplete .*interrupted.*--resume/);
      const other = shardResult(selectSubset(samples, { limit: 20, shard: { index: 2, count: 2 } }), { index: 2, count: 2 });
      await refused([s[0]!, other], 0, /shard 1\/2 holds 15 images, but 2 round-robin shards of the 25 images .* give it 13/);
    });
    it('a file that is not an eval result', async () => {
      const s = shards(1);
      const f = write('junk.json', { hello: 1 });
      const run = await zoo(['merge', write('ok.json', s[0]), f]);
      expect(run.code).toBe(ExitCode.DATA); // a file's content is at fault (issue 9.6)
      expect(run.stderr).toContain(`${f}: not a zoo eval --json result`);
    });
  });

  it('through the built CLI: bin/zoo.js merge writes the merged JSON', async () => {
    const files = shards(2).map((r, k) => write(`cli-${k}.json`, r));
    const out = join(dir, 'cli-merged.json');
    const run = await runZoo(['merge', ...files, '--json', out, '--csv', join(dir, 'cli.csv')]);
    expect(run.code, run.stderr).toBe(0);
    const m = resultFromFile(JSON.parse(readFileSync(out, 'utf8'))) as MergedResult;
    expect(m.metrics_state).toEqual(shardResult(samples, null).metrics_state);
    expect(readFileSync(join(dir, 'cli.csv'), 'utf8').split('\n')[1]).toMatch(/^rexnet_100\.nav_in1k,/);
  }, 30_000);
});
