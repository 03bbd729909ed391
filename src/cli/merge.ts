/**
 * `zoo merge a.json b.json ... [--json out.json] [--csv out.csv]`: combines the --json results of
 * `zoo eval --shard i/n` runs into the result of one run over the whole selection, with exactly its
 * numbers (every metric is a sum of the counts in each file's `metrics_state`), and prints the same
 * table as eval. Shards of different models, weights, configs or selections, overlapping or missing
 * shards and unfinished shards are refused (src/metrics/merge.ts), naming the file.
 *
 * Shards may run on different machines (a CI matrix, a Kubernetes indexed Job), so paths (data
 * root, weights file) may differ; what must agree is checked by content: weights by SHA-256, the
 * data by the number of images found and the slice sizes.
 */
import { Command, Option } from 'commander';
import { loadClassNames } from '../data/imagenet.js';
import { parseShard } from '../data/subset.js';
import { TEST_SET_NAMES, testSet, type TestSet, type TestSetName } from '../data/test-sets.js';
import { DataError, ExitCode, UsageError } from '../errors.js';
import { describeProblems, shardProblems } from '../run/run-schema.js';
import { MetricsAccumulator } from '../metrics/accumulator.js';
import { compareWithPublished } from '../metrics/compare.js';
import { mergeShards, type ShardResult } from '../metrics/merge.js';
import { primaryPublished, resolveModel, type PublishedResult } from '../models/registry.js';
import { pct, stableJson } from '../util/format.js';
import { ZOO_VERSION } from '../version.js';
import { jsonOption, jsonPath, type JsonFlag } from './json-out.js';
import type { Io, Wrap } from './main.js';
import { snakeKeys } from '../io/json-keys.js';
import { comparisonFields, jsonText, resultCsv, resultFromFile, type EvalResult } from '../run/result.js';
import { round4 as r4 } from '../util/round.js';
import { refuseCollisions, resolveOutput, writeOutput } from '../io/output.js';
import { renderReport } from './report.js';
import { realBlock } from '../run/real-labels.js';
import { readInputText, RESULT_MAX_BYTES } from '../io/input.js';

export interface MergeFlags {
  json?: JsonFlag;
  csv?: string;
}

/** The merged result: an eval result plus which shard files it came from. */
export type MergedResult = EvalResult & { merged_from: { file: string; shard: string }[] };

export function mergeCommand(io: Io, wrap: Wrap): Command {
  return new Command('merge')
    .description('combine the --json results of zoo eval --shard i/n runs into the full run\'s result')
    .argument('<results...>', 'the --json files of shards 1/n ... n/n (any order)')
    .addOption(jsonOption('the merged result'))
    .addOption(new Option('--csv <file>', "write the merged result as one CSV row (timm's results columns first)"))
    .addHelpText(
      'after',
      '\nExample:\n  for i in 1 2 3 4; do zoo eval rexnet_100 --data ./val --shard $i/4 --json shard$i.json; done\n' +
        '  zoo merge shard*.json --json result.json\n',
    )
    .action(wrap((files: string[], flags: MergeFlags) => runMerge(files, flags, io)));
}

export async function runMerge(files: readonly string[], flags: MergeFlags, io: Io): Promise<number> {
  const jsonTo = jsonPath(flags.json);
  const jsonOut = jsonTo !== undefined ? await resolveOutput('--json', jsonTo) : null;
  const csvOut = flags.csv ? await resolveOutput('--csv', flags.csv) : null;
  const outs = [jsonOut, csvOut].filter((o) => o !== null);
  refuseCollisions(outs, files.map((f) => ({ flag: 'shard result', path: f, kind: 'file' as const })));
  const results: { file: string; result: EvalResult }[] = [];
  for (const file of files) results.push({ file, result: await readResult(file) });
  const merged = mergeResults(results);
  // With an output on stdout, the table goes to stderr so stdout holds only that output.
  const table = outs.some((o) => o.kind === 'stdout') ? io.stderr : io.stdout;
  table.write(renderReport(merged));
  table.write(`merged ${results.length} shard(s): ${merged.merged_from.map((m) => `${m.shard} ${m.file}`).join(', ')}\n`);
  if (jsonOut) await writeOutput(jsonOut, jsonText(merged));
  if (csvOut) await writeOutput(csvOut, resultCsv(merged));
  return ExitCode.OK;
}

async function readResult(file: string): Promise<EvalResult> {
  const text = await readInputText(file, { what: 'the result', maxBytes: RESULT_MAX_BYTES });
  let v: unknown;
  try {
    v = resultFromFile(JSON.parse(text));
  } catch {
    throw new DataError('not JSON', { file, expected: 'a zoo eval --json result' });
  }
  const r = v as Partial<EvalResult> | null;
  if (typeof r !== 'object' || r === null || typeof r.model !== 'string' || !r.identity || !r.metrics_state) {
    throw new DataError('not a zoo eval --json result with merge data (identity, metrics_state)', {
      file,
      expected: 'the --json file of zoo eval --shard i/n',
      fix: 're-run the shard with this version of zoo',
    });
  }
  // Fields merge computes with are checked, and the figures against the counts (exit 3).
  const problems = shardProblems(v);
  if (problems.length > 0) {
    throw new DataError(`the shard result is malformed or inconsistent (${describeProblems(problems)})`, { file, fix: 're-run the shard' });
  }
  return r as EvalResult;
}

function shardOf(file: string, r: EvalResult) {
  const spec = r.identity.selection.shard;
  if (spec === null) return { index: 1, count: 1 };
  try {
    return parseShard(spec);
  } catch {
    throw new UsageError(`bad shard '${spec}' in the result`, { file, fix: 're-run the shard' });
  }
}

function toShard(file: string, r: EvalResult): ShardResult {
  const id = r.identity;
  return {
    file,
    shard: shardOf(file, r),
    // What must be equal for the shards to be slices of one run (paths may differ between machines).
    identity: {
      model: r.model,
      weights: `sha256 ${id.weights.sha256} (${id.weights.bytes} bytes)`,
      'eval config': stableJson(snakeKeys(id.eval_config)), // as the file spells it
      '--per-class': String(id.selection.per_class),
      '--limit': String(id.selection.limit),
      'images found under --data': String(r.data.found),
      'ReaL labels': id.real_labels === null ? 'off' : 'on',
      '--dataset': setOf(r).name,
      'label space': (id.label_space ?? 'all 1000 classes').replace(/ \/\S+/g, ''),
    },
    samples: id.samples,
    accounted: r.metrics_state.images + r.skipped.length,
    interrupted: r.interrupted,
    state: r.metrics_state,
  };
}

const unique = <T>(xs: readonly T[]) => [...new Set(xs)];

/** The test set of a shard result (results from before test sets are ImageNet val). */
function setOf(r: EvalResult): TestSet {
  return TEST_SET_NAMES.includes(r.dataset as TestSetName) ? testSet(r.dataset) : testSet('imagenet');
}

/** The published reference eval would use for this model and config (none when the registry no longer knows it). */
function reference(r: EvalResult): PublishedResult | undefined {
  try {
    const dataset = setOf(r).name;
    return primaryPublished(resolveModel(r.model).tag, r.eval_config, dataset === 'imagenet-real' ? 'imagenet' : dataset);
  } catch {
    return undefined;
  }
}

/** Merges shard results (validated by mergeShards) into one result, as eval builds it. */
export function mergeResults(inputs: readonly { file: string; result: EvalResult }[]): MergedResult {
  const merged = mergeShards(inputs.map((i) => toShard(i.file, i.result)));
  const sorted = merged.order.map((i) => inputs[i]!);
  const all = sorted.map((i) => i.result);
  const first = all[0]!;
  const acc = MetricsAccumulator.fromState(merged.state);
  const images = acc.count;
  const subset = images < setOf(first).images;
  const c = compareWithPublished({ images, top1Correct: acc.top1Correct, top5Correct: acc.top5Correct }, reference(first), subset);
  const names = loadClassNames();
  // Skipped images in val order (names sort as the selection does), as one run lists them.
  const skipped = all
    .flatMap((r) => r.skipped)
    .sort((a, b) => {
      const na = a.file.slice(a.file.lastIndexOf('/') + 1);
      const nb = b.file.slice(b.file.lastIndexOf('/') + 1);
      return na < nb ? -1 : na > nb ? 1 : a.file < b.file ? -1 : a.file > b.file ? 1 : 0;
    });
  const notComparable = unique(all.flatMap((r) => r.not_comparable_because.filter((w) => !/image\(s\) were skipped/.test(w))));
  if (skipped.length > 0) notComparable.unshift(`${skipped.length} image(s) were skipped (--on-error skip)`);
  const ra = acc.realAccuracy();
  const warnings = unique(all.flatMap((r) => r.data.warnings));
  const dataComplete = all.every((r) => r.data.complete);
  const sel = first.selection;
  const selection = {
    per_class: sel.per_class,
    limit: sel.limit,
    shard: null,
    images: merged.samples,
    key: `per_class=${sel.per_class ?? '-'} limit=${sel.limit ?? '-'} shard=- images=${merged.samples}`,
  };
  const top1 = acc.top1;
  const top5 = acc.top5;
  return {
    model: first.model,
    top1: r4(top1),
    top1_err: r4(100 - top1),
    top5: r4(top5),
    top5_err: r4(100 - top5),
    param_count: first.param_count,
    gmacs: first.gmacs ?? null,
    img_size: first.img_size,
    crop_pct: first.crop_pct,
    interpolation: first.interpolation,
    dataset: setOf(first).name,
    tag: first.tag,
    arch: first.arch,
    images,
    top1_correct: acc.top1Correct,
    top5_correct: acc.top5Correct,
    subset,
    complete: dataComplete && !subset && skipped.length === 0,
    ...comparisonFields(c),
    eval_config: first.eval_config,
    // Older shard files lack these; the shards agree on the config (identity), so the first speaks for all.
    config_sources: first.config_sources ?? null,
    model_file: first.model_file ?? null,
    weights: first.weights,
    engine: first.engine,
    backend: unique(all.map((r) => r.backend)).join(', '),
    device: first.device,
    batch_size: first.batch_size,
    workers: first.workers,
    limit: first.limit,
    data: { ...first.data, complete: dataComplete, warnings },
    // Shards run side by side: throughput adds up, the wait is the longest shard's.
    images_per_sec: Math.round(all.reduce((s, r) => s + r.images_per_sec, 0) * 100) / 100,
    wall_s: Math.max(...all.map((r) => r.wall_s)),
    comparable: notComparable.length === 0,
    not_comparable_because: notComparable,
    interrupted: false,
    resumed: all.some((r) => r.resumed),
    selection,
    skipped,
    real:
      ra && first.real
        ? realBlock(first.real.source, ra, first.real.published && { source: first.real.published.source, top1: first.real.published.top1, top5: first.real.published.top5 }, subset)
        : null,
    per_class: acc
      .perClass()
      .filter((k) => k.images > 0)
      .map((k) => ({ class: k.class, name: names[k.class] ?? String(k.class), images: k.images, top1: r4(k.top1), top5: r4(k.top5) })),
    most_confused: acc.mostConfused(20).map((p) => ({
      true: p.true,
      true_name: names[p.true] ?? String(p.true),
      predicted: p.predicted,
      predicted_name: names[p.predicted] ?? String(p.predicted),
      count: p.count,
    })),
    checks: null,
    verdict: `done: top-1 ${pct(top1)}%, top-5 ${pct(top5)}% on ${images} images`,
    identity: { ...first.identity, samples: merged.samples, selection: { ...first.identity.selection, shard: null } },
    metrics_state: merged.state,
    zoo_version: ZOO_VERSION,
    date: new Date().toISOString(),
    merged_from: sorted.map((i) => ({ file: i.file, shard: i.result.identity.selection.shard ?? '1/1' })),
  };
}
