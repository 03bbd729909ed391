/**
 * `zoo eval <model> --data PATH`: the whole run. Data discovery and the model load happen first so
 * their errors come before any work; then the loader decodes and preprocesses ahead on worker
 * threads while the engine runs the current batch (decode overlaps inference), metrics stream,
 * and the run ends with a table, optional --json / --csv / --predictions files, and the exit code.
 *
 * A run can be trusted with a CI gate: bad images stop it naming the file (or are skipped and listed
 * with --on-error skip), SIGINT/SIGTERM write the partial result and a resume state, the state is
 * rewritten atomically after every batch so even kill -9 loses only the batches in flight, and
 * --expect-top1/--expect-top5/--baseline turn the numbers into exit code 1 on a regression.
 */
import { availableParallelism } from 'node:os';
import { relative, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { describeJpegDecoder } from '../data/jpeg-turbo.js';
import type { Sample } from '../data/dataset.js';
import { maskLogits, readValidLabels } from '../data/label-space.js';
import { openTestSet, type TestSetData } from '../data/test-set-data.js';
import { TEST_SET_NAMES, testSet, type TestSetName } from '../data/test-sets.js';
import { loadClassNames, loadRealLabels } from '../data/imagenet.js';
import { createLoader, DEFAULT_IMAGE_TIMEOUT_MS, type Loader, type LoaderOptions } from '../data/loader.js';
import { formatShard, parseCount, parseShard, selectSubset, type Shard } from '../data/subset.js';
import { DataError, ExitCode, UsageError, ZooError } from '../errors.js';
import { MetricsAccumulator, type MetricsState, type RealLabels } from '../metrics/accumulator.js';
import { compareWithPublished } from '../metrics/compare.js';
import { TopKAccumulator, type TopKState } from '../metrics/topk.js';
import { primaryPublished, publishedConfigs } from '../models/registry.js';
import type { ModelSource } from '../models/source.js';
import type { EvalConfig } from '../models/eval-config.js';
import { readBaseline, runCheck, type CheckResult, type Expectation } from './checks.js';
import { catchInterrupts } from './interrupt.js';
import { jsonFile, jsonOption, jsonPath, type JsonFlag } from './json-out.js';
import type { Io, Wrap } from './main.js';
import {
  engineOptions,
  expectation,
  modelFileOptions,
  batchSize as batchSizeOption,
  LIMITS,
  maxThreads,
  threadCount,
  positiveSeconds,
  preprocessOptions,
  tolerance,
  type EngineFlags,
  type PreprocessFlags,
} from './options.js';
import { fitToWidth } from './fit-width.js';
import { guardInterruptedState } from './state-guard.js';
import { evalProgress, statusLine, terminalColumns } from './progress.js';
import { readOutcomes, perImageOf } from '../metrics/outcomes-file.js';
import { comparePaired, renderPaired, type ImageOutcome } from '../metrics/paired.js';
import { nextStepHint, resolveDataArg } from '../data/sample.js';
import { resolveSource } from './source.js';
import { buildReport } from '../report/build.js';
import { buildResult, jsonText, predictionsCsv, renderReport, resultCsv, type RealResult, type Selection } from './report.js';
import { lockFile } from '../io/lock.js';
import { verifyAgainstPredictions, verifyMetricsState, verifyTopKState } from '../metrics/verify.js';
import { describeProblems } from './run-schema.js';
import { planOutputs, removeStaleTemps, writeOutput, type OutputTarget } from '../io/output.js';
import {
  defaultStateFile,
  identityDifferences,
  readState,
  removeState,
  weightsIdentity,
  writeState,
  type EvalState,
  type RunIdentity,
  type SkippedImage,
} from './state.js';

export interface EvalFlags extends EngineFlags, PreprocessFlags {
  data?: string;
  weights?: string;
  batchSize: number;
  workers?: number;
  limit?: number;
  perClass?: number;
  shard?: Shard;
  labels?: string;
  json?: JsonFlag;
  csv?: string;
  predictions?: string;
  /** An HTML report of the result (src/report), as `zoo report` writes it. */
  report?: string;
  offline?: boolean;
  quiet?: boolean;
  expectTop1?: Expectation;
  expectTop5?: Expectation;
  tolerance?: number;
  baseline?: string;
  baselinePredictions?: string;
  onError: 'stop' | 'skip';
  imageTimeout?: number;
  realLabels?: string | true;
  dataset?: TestSetName;
  validLabels?: string;
  state?: string;
  resume?: boolean;
  restart?: boolean;
  configOf?: string;
  classMap?: string;
  labelsOf?: string;
  output?: string;
}

/** Default --tolerance, in points: float noise across engines is far below it, a real regression is not. */
export const DEFAULT_TOLERANCE = 0.1;

/** Accumulator state in the resume file: the additive counts and the per-image predictions. */
interface AccumulatorState {
  metrics: MetricsState;
  topk: TopKState;
}

export function evalCommand(io: Io, wrap: Wrap): Command {
  const cmd = new Command('eval')
    .description('evaluate a model on ImageNet val (top-1/top-5) and compare with its published numbers')
    .argument('<model>', 'architecture (its default tag) or arch.tag, e.g. rexnet_100 or rexnet_100.nav_in1k; or a model file: x.onnx, a TF.js model.json, or a folder holding model.onnx + config.json')
    .addOption(new Option('--data <path>', 'ImageNet val: ImageFolder tree, flat ILSVRC2012_val_*.JPEG folder, a parent holding val/, or a .tar of either'))
    .addOption(new Option('--weights <file>', "checkpoint (.safetensors, .pth, .pth.tar, .pdparams); default: the tag's download"))
    .addOption(new Option('-b, --batch-size <n>', `images per engine call (at most ${LIMITS.batchSize}, and the images of the run)`).argParser(batchSizeOption).default(32))
    .addOption(new Option('-j, --workers <n>', `decode/preprocess threads (default: number of cores; at most ${maxThreads()}, and the images of the run)`).argParser(threadCount))
    .addOption(new Option('--limit <n>', 'evaluate only the first N images in val order (after --per-class)').argParser((v) => parseCount('--limit', v)))
    .addOption(new Option('--per-class <k>', 'evaluate only the first K images of every class, in val order').argParser((v) => parseCount('--per-class', v)))
    .addOption(new Option('--shard <i/n>', 'evaluate the i-th of n round-robin slices (1-based); combine with zoo merge').argParser(parseShard))
    .addOption(new Option('--labels <file>', 'ground truth for a flat folder (val.txt form: "<file> <label>")'));
  for (const o of preprocessOptions()) cmd.addOption(o);
  for (const o of engineOptions()) cmd.addOption(o);
  for (const o of modelFileOptions()) cmd.addOption(o);
  return cmd
    .addOption(new Option('--on-error <mode>', 'a bad image: stop naming it, or skip it (result marked not comparable)').choices(['stop', 'skip']).default('stop'))
    .addOption(new Option('--image-timeout <s>', 'give up on one image after this many seconds (a data error)').argParser(positiveSeconds).default(DEFAULT_IMAGE_TIMEOUT_MS / 1000))
    .addOption(new Option('--expect-top1 <v>', "fail (exit 1) if top-1 is below 'published' or N percent, minus --tolerance").argParser(expectation))
    .addOption(new Option('--expect-top5 <v>', "fail (exit 1) if top-5 is below 'published' or N percent, minus --tolerance").argParser(expectation))
    .addOption(new Option('--tolerance <points>', `allowed shortfall in percentage points (default ${DEFAULT_TOLERANCE})`).argParser(tolerance))
    .addOption(new Option('--baseline-predictions <file>', 'compare image by image with an earlier run (its --json or --predictions CSV): agreement, McNemar exact test; exit 1 if significantly worse beyond --tolerance'))
    .addOption(new Option('--baseline <results.json>', 'fail (exit 1) if worse than this earlier --json result by more than --tolerance'))
    .addOption(new Option('--real-labels [file]', 'also report ImageNet-ReaL top-1/top-5 (default: the bundled real.json); same as --dataset imagenet-real'))
    .addOption(new Option('--dataset <name>', 'the test set --data holds (default: detected, else imagenet); its layout, label space and published rows').choices(TEST_SET_NAMES))
    .addOption(new Option('--valid-labels <file>', "restrict predictions to these output indices, one per line (timm's --valid-labels)"))
    .addOption(jsonOption('the result (also what zoo merge reads)'))
    .addOption(new Option('--csv <file>', "write the result as one CSV row (timm's results columns first)"))
    .addOption(new Option('--predictions <file>', 'write per-image top-5 as CSV: file,label,top1,...,top5,margin'))
    .addOption(new Option('--report <file>', 'write an HTML page of the result (as zoo report does)'))
    .addOption(new Option('--state <file>', 'resume state file (default: x.state.json beside --json x.json, else ./zoo-eval.state.json)'))
    .addOption(new Option('--resume', 'continue an interrupted run from its state file (same command line)'))
    .addOption(new Option('--restart', "discard an interrupted run's state file and start from zero"))
    .addOption(new Option('--offline', 'never touch the network (weights must be cached or given)'))
    .addOption(new Option('-q, --quiet', 'no progress output'))
    .addHelpText(
      'after',
      '\nExamples:\n  zoo eval rexnet_100 --data ./ILSVRC2012\n' +
        '  zoo eval resnext50_32x4d.tv2_in1k --data ./val --limit 5000 --json result.json\n' +
        '  zoo eval rexnet_100 --data ILSVRC2012_img_val.tar --per-class 5 --expect-top1 published   # CI gate\n' +
        '  zoo eval rexnet_100 --data ./val --shard 2/8 --json shard2.json                          # then zoo merge\n' +
        '  zoo eval rexnetv1_1.0x --weights rexnetv1_1.0x.pth --data ./val --device cuda\n',
    )
    .action(wrap((spec: string, flags: EvalFlags) => runEval(spec, flags, io)));
}

function readRealLabelsFile(file: string, text: string): RealLabels {
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

async function realLabels(flag: string | true | undefined): Promise<{ labels: RealLabels; source: string } | null> {
  if (flag === undefined) return null;
  if (flag === true) return { labels: loadRealLabels(), source: 'bundled real.json (Beyer et al. 2020)' };
  let text: string;
  try {
    text = await readFile(flag, 'utf8');
  } catch (e) {
    throw new DataError(`cannot read --real-labels: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file: flag, fix: 'check the path' });
  }
  return { labels: readRealLabelsFile(flag, text), source: flag };
}

interface EvalOutputs {
  json: OutputTarget | undefined;
  csv: OutputTarget | undefined;
  predictions: OutputTarget | undefined;
  report: OutputTarget | undefined;
  state: OutputTarget;
  /** An output goes to stdout (`-`): the table is printed on stderr instead. */
  toStdout: boolean;
}

/** Resolves eval's outputs and refuses bad or colliding paths (exit 2) before any work. */
async function planEvalOutputs(flags: EvalFlags, stateFile: string): Promise<EvalOutputs> {
  const stateFlag = flags.state ? '--state' : '--state (default)';
  const t = await planOutputs(
    [
      { flag: '--json', path: jsonPath(flags.json) },
      { flag: '--csv', path: flags.csv },
      { flag: '--predictions', path: flags.predictions },
      { flag: '--report', path: flags.report },
      { flag: stateFlag, path: stateFile, streamOk: false },
    ],
    [
      { flag: '--data', path: flags.data, kind: 'tree' },
      { flag: '--weights', path: flags.weights, kind: 'file' },
      { flag: '--labels', path: flags.labels, kind: 'file' },
      { flag: '--baseline', path: flags.baseline, kind: 'file' },
      { flag: '--real-labels', path: typeof flags.realLabels === 'string' ? flags.realLabels : undefined, kind: 'file' },
    ],
  );
  return {
    json: t.get('--json'),
    csv: t.get('--csv'),
    predictions: t.get('--predictions'),
    report: t.get('--report'),
    state: t.get(stateFlag)!,
    toStdout: [...t.values()].some((o) => o.kind === 'stdout'),
  };
}

function selectionOf(flags: EvalFlags, images: number): Selection {
  const sel = { per_class: flags.perClass ?? null, limit: flags.limit ?? null, shard: flags.shard ? formatShard(flags.shard) : null };
  return { ...sel, images, key: `per_class=${sel.per_class ?? '-'} limit=${sel.limit ?? '-'} shard=${sel.shard ?? '-'} images=${images}` };
}


/** The expected value of a check and where it came from; null when the tag has no published number. */
function expected(e: Expectation, published: number | null | undefined, metric: string, model: ModelSource): { value: number; source: string } {
  if (e !== 'published') return { value: e, source: `--expect-${metric.replace('-', '')}` };
  if ((published === null || published === undefined) && publishedConfigs(model.tag).length > 0) {
    throw new UsageError(`--expect-${metric.replace('-', '')} published: ${model.tag.name} has no published ${metric} at this eval config`, {
      expected: `a config with published numbers: ${publishedConfigs(model.tag).join('; ')} (and the tag's mean, std and crop mode)`,
      fix: `drop the overrides, or pass a number instead, e.g. --expect-${metric.replace('-', '')} 77.5`,
    });
  }
  if (published === null || published === undefined) {
    throw new UsageError(`--expect-${metric.replace('-', '')} published: ${model.tag.name} has no published ${metric}`, {
      fix: `pass a number instead, e.g. --expect-${metric.replace('-', '')} 77.5`,
    });
  }
  return { value: published, source: 'published' };
}

/**
 * Saves the resume state after batches: after every batch while that stays cheap, otherwise as
 * often as keeps saving under 5% of the run (a save waits 20x its last cost). Measured: a save
 * (snapshot + JSON + write + rename) costs under 1 ms early on and 40-60 ms near the end of a
 * 50,000-image run (1.8 MB), so a kill -9 loses the batches in flight, or at most ~1 s of work.
 */
class StateSaver {
  /** Longest wait between saves, whatever a save costs (one slow disk moment must not stretch it). */
  static readonly MAX_GAP_MS = 1000;
  private lastEnd = 0;
  /** Smoothed cost of a save, ms. */
  private cost = 0;
  writes = 0;
  totalMs = 0;
  constructor(private readonly file: OutputTarget) {}

  due(): boolean {
    return performance.now() - this.lastEnd >= Math.min(StateSaver.MAX_GAP_MS, this.cost * 20);
  }

  async save<A>(state: () => EvalState<A>): Promise<void> {
    const t0 = performance.now();
    await writeState(this.file, state());
    this.lastEnd = performance.now();
    const took = this.lastEnd - t0;
    this.cost = this.writes === 0 ? took : 0.7 * this.cost + 0.3 * took;
    this.totalMs += took;
    this.writes++;
  }
}

export async function runEval(spec: string, flags: EvalFlags, io: Io): Promise<number> {
  // Wall time is the user's wait: discovery, weights, model load and the loop.
  const started = performance.now();
  if (!flags.data) {
    throw new UsageError('missing --data PATH', {
      expected: 'the ImageNet val images: an ImageFolder tree, a flat folder of ILSVRC2012_val_*.JPEG, a parent holding val/, or a .tar',
      fix: `e.g. zoo eval ${spec} --data ./ILSVRC2012`,
    });
  }
  // A catalogued model or a model file; a file is opened now, so its signature errors come first.
  const model = await resolveSource(spec, flags);
  try {
    return await evaluate(model, flags as EvalFlags & { data: string }, io, started);
  } finally {
    await model.close();
  }
}

async function evaluate(model: ModelSource, flags: EvalFlags & { data: string }, io: Io, started: number): Promise<number> {
  // Lines said while the progress line is up start on a fresh line (Ctrl-C's message included).
  const status = statusLine(io);
  const say = (line: string) => status.say(line);
  const cfg: EvalConfig = model.cfg;
  const tol = flags.tolerance ?? DEFAULT_TOLERANCE;
  const baseline = flags.baseline ? await readBaseline(flags.baseline) : null;
  const basePredictions = flags.baselinePredictions ? await readOutcomes(flags.baselinePredictions, '--baseline-predictions') : null;
  // --dataset imagenet-real is --real-labels: one implementation (the bundled real.json unless a file is named).
  const real = await realLabels(flags.realLabels ?? (flags.dataset === 'imagenet-real' ? true : undefined));
  const userValid = flags.validLabels ? readValidLabels(flags.validLabels) : null;
  const stateFile = flags.state ?? defaultStateFile(jsonFile(flags.json), flags.shard);
  // Every output's folder is checked, and collisions refused, before any work (exit 2, one line).
  const outputs = await planEvalOutputs(flags, stateFile);
  // With an output on stdout (`-`), the table goes to stderr so stdout holds only that output.
  const tableStream = outputs.toStdout ? io.stderr : io.stdout;

  // The state is this run's alone from here: a second run on it is refused (src/io/lock.ts).
  const stateLock = await lockFile(outputs.state.target, outputs.state.flag, say);
  // An interrupted run's state is not thrown away by running the command again (--resume / --restart).
  await guardInterruptedState(outputs.state.target, { resume: flags.resume === true, restart: flags.restart === true, say }).catch(async (e: unknown) => {
    await stateLock.release();
    throw e;
  });
  // A run killed mid-save (kill -9) left its temporary state file: it is of no use to anyone.
  if (stateLock.staleOwner !== null) await removeStaleTemps(outputs.state.target, stateLock.staleOwner);
  const interrupt = catchInterrupts(say);
  /** The loader started before the model loads (a fresh run); closed in `finally` whatever happens. */
  let early: Loader | undefined;
  /** The test set; disposed in `finally` (a spooled .tar.gz is removed). */
  let data: TestSetData | undefined;
  /** Stops the early weights hash on every way out (it may still be reading when the run fails). */
  const hashing = new AbortController();
  try {
    const dataArg = resolveDataArg(flags.data);
    data = await openTestSet(dataArg.path, {
      ...(flags.dataset ? { dataset: flags.dataset } : {}),
      ...(flags.labels ? { labels: flags.labels } : {}),
    });
    const { dataset, set } = data;
    if (real && set.layout !== 'val') {
      throw new UsageError(`--real-labels: ReaL labels are for ImageNet val images, not ${set.title}`, { fix: `drop --real-labels, or pass --dataset imagenet-real with the val images` });
    }
    if (data.detected && !flags.quiet) say(`zoo: note: --data is ${set.title} (--dataset ${set.name}), detected from ${data.detected}`);
    for (const n of data.notes) if (!flags.quiet) say(`zoo: note: ${n}`);
    // The outputs predictions may take: --valid-labels, else the set's 200-class list, else all.
    const valid = userValid ?? data.valid;
    const published = primaryPublished(model.tag, cfg, set.name === 'imagenet-real' ? 'imagenet' : set.name);
    // Usage problems in the checks surface now, before the model loads and the hour of evaluation.
    const exp1 = flags.expectTop1 !== undefined ? expected(flags.expectTop1, published?.top1, 'top-1', model) : null;
    const exp5 = flags.expectTop5 !== undefined ? expected(flags.expectTop5, published?.top5, 'top-5', model) : null;
    // Data warnings wait until the data has proved usable (the first batch evaluated), so they never
    // come before a fatal error; INCOMPLETE is said once, in the result table, not here; --quiet
    // keeps only those that change what the result means (duplicates counted twice).
    let pendingWarnings = dataset.warnings.filter((w) => !w.startsWith('INCOMPLETE') && (!flags.quiet || w.startsWith('DUPLICATES')));
    const flushWarnings = () => {
      for (const w of pendingWarnings) say(`zoo: warning: ${w}`);
      pendingWarnings = [];
    };
    // A bad ZOO_DECODER is refused before any work.
    const decoderLine = describeJpegDecoder();
    const complete = dataset.complete;
    const samples: Sample[] = selectSubset(dataset.samples, {
      ...(flags.perClass !== undefined ? { perClass: flags.perClass } : {}),
      ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
      ...(flags.shard ? { shard: flags.shard } : {}),
    });
    if (samples.length === 0) {
      throw new UsageError('the subset flags select no images', { file: flags.data, fix: 'check --limit/--per-class/--shard against the data' });
    }
    const selection = selectionOf(flags, samples.length);
    // Names as the user knows them: relative to the data folder, or the entry path inside a tar.
    const nameOf = (s: Sample) => s.entry ?? (s.tar ? s.file.slice(s.tar.file.length + 1) : relative(dataset.root, s.file) || s.name);

    const dataReady = performance.now();

    // Neither more workers nor larger batches than there are images: both only allocate.
    const workers = Math.min(flags.workers ?? availableParallelism(), samples.length);
    const batchSize = Math.min(flags.batchSize, samples.length);
    const loaderOptions: LoaderOptions = {
      batchSize,
      workers,
      onError: flags.onError,
      ...(flags.imageTimeout ? { imageTimeoutMs: flags.imageTimeout * 1000 } : {}),
    };
    // Start-up: a fresh run starts its loader now, so the workers start and the first batches decode
    // while the model loads (checkpoint read, graph, ONNX lowering, session). A --resume run starts
    // where its state says, known only once the model is (the state names the weights' hash).
    if (!flags.resume && !interrupt.signal) early = createLoader(samples, cfg, loaderOptions);

    // The weights' hash (the run's identity) reads the whole file: with --weights given it runs while
    // the model loads (onnxruntime builds its session off this thread), not after it.
    const earlyIdentity = flags.weights ? weightsIdentity(flags.weights, hashing.signal) : undefined;
    earlyIdentity?.catch(() => undefined); // a failure surfaces where it is awaited, after loadModel's own checks
    const run = await model.load();
    const modelReady = performance.now();
    if (!flags.quiet) for (const note of run.notes) say(`zoo: note: ${note}`);
    // Once per run, which decoder reads the JPEGs (the workers decide the same way), with the fix
    // when the fast one is not built; after the model loads, so a failed start stays one line.
    if (!flags.quiet) say(`zoo: ${decoderLine}`);
    const identity: RunIdentity = {
      model: model.tag.name,
      weights: await (run.file === flags.weights && earlyIdentity ? earlyIdentity : weightsIdentity(run.file)),
      eval_config: cfg,
      data_root: resolve(dataset.root),
      labels: flags.labels ? resolve(flags.labels) : null,
      samples: samples.length,
      selection: { per_class: selection.per_class, limit: selection.limit, shard: selection.shard },
      on_error: flags.onError,
      real_labels: real ? real.source : null,
      dataset: set.name,
      label_space: labelSpaceOf(flags, valid, set.name),
    };

    // Fresh or resumed accumulators.
    let metrics = new MetricsAccumulator({ real: real?.labels ?? null });
    let topk = new TopKAccumulator(1000, samples.length);
    let next = 0;
    let skipped: SkippedImage[] = [];
    let elapsedBefore = 0;
    let resumed = false;
    if (flags.resume) {
      const state = await readState<AccumulatorState>(stateFile);
      const diffs = identityDifferences(state.identity, identity);
      if (diffs.length > 0) {
        throw new UsageError(`--resume: the state belongs to a different run (${diffs.join('; ')})`, {
          file: stateFile,
          fix: 'resume with the same command line, model, weights and data, or delete the state file to start over',
        });
      }
      // Every count is checked against the stored predictions (an edited state is refused, not trusted).
      const fresh = topk.numClasses;
      const problems = verifyMetricsState(state.accumulator.metrics);
      const decoded = verifyTopKState(state.accumulator.topk, fresh, samples.length);
      problems.push(...decoded.problems);
      if (problems.length === 0 && decoded.acc) {
        if (state.accumulator.metrics.numClasses !== fresh) problems.push(`metrics have ${state.accumulator.metrics.numClasses} classes, this run ${fresh}`);
        else problems.push(...verifyAgainstPredictions(state.accumulator.metrics, decoded.acc));
        // Every sample before `next` is counted once: evaluated (in both accumulators) or skipped.
        if (decoded.acc.count + state.skipped.length !== state.next) {
          problems.push(`next ${state.next}, ${decoded.acc.count} evaluated and ${state.skipped.length} skipped do not add up`);
        }
      }
      if (problems.length > 0 || !decoded.acc) {
        throw new DataError(`--resume: the state file is inconsistent (${describeProblems(problems)})`, { file: stateFile, fix: 'delete it and run without --resume' });
      }
      metrics = MetricsAccumulator.fromState(state.accumulator.metrics, { real: real?.labels ?? null });
      topk = decoded.acc;
      next = state.next;
      skipped = state.skipped;
      elapsedBefore = state.elapsed_s;
      resumed = true;
      say(`zoo: resuming at image ${next} of ${samples.length} (${topk.count} evaluated, ${skipped.length} skipped) from ${stateFile}`);
    }

    const progress = evalProgress(samples.length, io, { quiet: flags.quiet, label: model.tag.name, start: next, top1: topk.top1, top5: topk.top5, status });
    const saver = new StateSaver(outputs.state);
    const stateNow = (): EvalState<AccumulatorState> => ({
      kind: 'zoo-eval-state',
      version: 1,
      identity,
      next,
      skipped,
      elapsed_s: elapsedBefore + (performance.now() - loopStart) / 1000,
      accumulator: { metrics: metrics.toState(), topk: topk.toState() },
      written_at: new Date().toISOString(),
    });
    // Throughput counts from here: decode, preprocess and inference together, model load excluded.
    const loopStart = performance.now();
    const offset = next;
    let loader: Loader | undefined;
    let failure: unknown;
    let firstBatchReady: number | undefined;
    let firstBatchDone: number | undefined;
    if (!interrupt.signal && next < samples.length) {
      loader = offset === 0 && early ? early : createLoader(samples.slice(offset), cfg, loaderOptions);
      const l = loader;
      interrupt.onStop(() => void l.close());
      try {
        for await (const batch of l) {
          firstBatchReady ??= performance.now();
          if (batch.samples.length > 0) {
            // No copy: batch.data (a loader pool buffer, valid until the next batch is asked for) goes
            // to the engine as it is; an engine that cannot read shared memory stages it itself.
            const logits = await run.model.run(batch.data, batch.samples.length);
            if (valid) maskLogits(logits, batch.samples.length, logits.length / batch.samples.length, valid);
            topk.add(logits, batch.samples.map((s) => s.label));
            metrics.add(logits, batch.samples);
          }
          if (firstBatchDone === undefined) flushWarnings();
          firstBatchDone ??= performance.now();
          for (const f of batch.failed) {
            const error = f.message.startsWith(`${f.sample.file}: `) ? f.message.slice(f.sample.file.length + 2) : f.message;
            skipped.push({ index: offset + f.index, file: nameOf(f.sample), error });
          }
          next = offset + batch.end;
          progress.update(next, topk.top1, topk.top5);
          if (saver.due() || interrupt.signal) await saver.save(stateNow);
        }
      } catch (e) {
        failure = e;
      } finally {
        progress.stop();
        await l.close();
      }
    }
    await run.model.dispose();
    const ended = performance.now();
    if (failure === undefined) flushWarnings();
    const loopSeconds = (ended - loopStart) / 1000;

    if (failure !== undefined) {
      // Keep what was counted: after fixing (or removing) the file, --resume goes on from here.
      if (next > 0) await saver.save(stateNow).catch(() => undefined);
      if (failure instanceof DataError && flags.onError === 'stop') {
        // The loader's fix already names --on-error skip; add it if not, and how to continue.
        let fix = failure.fix ?? '';
        if (!fix.includes('--on-error skip')) fix = `${fix ? `${fix}, or ` : ''}pass --on-error skip to exclude it`;
        if (next > 0) fix += `; add --resume (after fixing it, or with --on-error skip) to continue from image ${next}`;
        throw new DataError(failure.message, {
          ...(failure.file !== undefined ? { file: failure.file } : {}),
          ...(failure.expected !== undefined ? { expected: failure.expected } : {}),
          fix,
        });
      }
      throw failure;
    }

    const interrupted = interrupt.signal !== null && next < samples.length;
    const evaluated = topk.count;
    const subset = evaluated < set.images;
    const comparison = compareWithPublished({ images: evaluated, top1Correct: topk.top1Correct, top5Correct: topk.top5Correct }, published, subset);

    let checks: { passed: boolean; results: CheckResult[] } | null = null;
    if (!interrupted && (exp1 || exp5 || baseline)) {
      const results: CheckResult[] = [];
      const base = { images: evaluated, subset, tolerance: tol };
      if (exp1) results.push(runCheck({ ...base, metric: 'top-1', hits: topk.top1Correct, expected: exp1.value, source: exp1.source, sameImages: false }));
      if (exp5) results.push(runCheck({ ...base, metric: 'top-5', hits: topk.top5Correct, expected: exp5.value, source: exp5.source, sameImages: false }));
      if (baseline) {
        const same = baseline.selection !== null && baseline.selection === selection.key && baseline.images === evaluated;
        const source = `baseline ${baseline.file}`;
        results.push(runCheck({ ...base, metric: 'top-1', hits: topk.top1Correct, expected: baseline.top1, source, sameImages: same }));
        results.push(runCheck({ ...base, metric: 'top-5', hits: topk.top5Correct, expected: baseline.top5, source, sameImages: same }));
      }
      checks = { passed: results.every((r) => r.passed), results };
    }

    const ra = metrics.realAccuracy();
    const realPublished = primaryPublished(model.tag, cfg, 'imagenet-real');
    const realResult: RealResult | null =
      ra && real
        ? {
            source: real.source,
            images: ra.images,
            top1: Math.round(ra.top1 * 1e4) / 1e4,
            top5: Math.round(ra.top5 * 1e4) / 1e4,
            top1_correct: ra.top1Correct,
            top5_correct: ra.top5Correct,
            no_label: ra.skipped,
            unmatched: ra.unmatched,
            published: realPublished ? { source: realPublished.source, top1: realPublished.top1, top5: realPublished.top5 } : null,
          }
        : null;

    // Per-image outcomes (names as the user knows them): in the JSON for zoo compare, and paired
    // with --baseline-predictions. Accumulator row i is the i-th selected sample that was not skipped.
    const gone = new Set(skipped.map((s) => s.index));
    const names: string[] = [];
    for (let i = 0; i < next; i++) if (!gone.has(i)) names.push(nameOf(samples[i]!));
    const outcomes: ImageOutcome[] = [];
    for (const p of topk.predictions()) outcomes.push({ file: names[p.index] ?? String(p.index), label: p.label, top1: p.top5[0]! });
    const paired = basePredictions && !interrupted ? comparePaired(basePredictions, outcomes, { tolerance: tol }) : null;
    const result = buildResult({
      model,
      cfg,
      acc: topk,
      comparison,
      params: run.params,
      macs: run.macs ?? null,
      configSources: model.configSources,
      modelFile: model.modelFile,
      weightsFile: run.file,
      backend: run.model.backend,
      device: run.model.device,
      engine: run.model.engine,
      batchSize,
      workers,
      dataset: {
        root: dataset.root,
        layout: dataset.layout,
        name: set.name,
        title: set.title,
        detected: data.detected,
        label_space: identity.label_space ?? 'all 1000 classes',
        source: dataset.source,
        found: dataset.samples.length,
        complete,
        missing: dataset.missing,
        warnings: dataset.warnings,
      },
      limit: flags.limit ?? null,
      wallSeconds: elapsedBefore + (ended - started) / 1000,
      imagesPerSecond: (next - offset) / Math.max(1e-9, loopSeconds),
      metrics,
      classNames: loadClassNames(),
      interrupted,
      resumed,
      selection,
      skipped,
      notComparable: [
        ...(dataset.warnings.some((w) => w.startsWith('DUPLICATES')) ? ['duplicate images are counted more than once'] : []),
        ...(!published && publishedConfigs(model.tag, set.name === 'imagenet-real' ? 'imagenet' : set.name).length > 0
          ? [`no published number at this eval config (published: ${publishedConfigs(model.tag, set.name === 'imagenet-real' ? 'imagenet' : set.name).join('; ')})`]
          : []),
      ],
      real: realResult,
      checks,
      identity,
    });
    // The built-in sample shows that things work; say how to get the real number, before the table.
    if (dataArg.builtin && !interrupted && !flags.quiet) say(nextStepHint(model.tag.arch === model.tag.name ? model.tag.name : model.tag.arch));
    tableStream.write(fitToWidth(renderReport(result), terminalColumns(tableStream)));
    if (paired) tableStream.write(`\n${renderPaired(paired, { baseline: flags.baselinePredictions!, candidate: 'this run' })}`);
    try {
      const resultJson = jsonText({
        ...result,
        ...startupFigures({ started, dataReady, modelReady, firstBatchReady, firstBatchDone }),
        paired: paired ? { baseline: flags.baselinePredictions, ...paired } : null,
        per_image: perImageOf(outcomes),
      });
      if (outputs.json) await writeOutput(outputs.json, resultJson);
      if (outputs.csv) await writeOutput(outputs.csv, resultCsv(result));
      if (outputs.predictions) {
        await writeOutput(outputs.predictions, predictionsCsv(topk, names));
      }
      // The page is a view of exactly the JSON above (written or not).
      if (outputs.report) await writeOutput(outputs.report, await buildReport([{ file: jsonPath(flags.json) ?? `${result.model} (this run)`, doc: JSON.parse(resultJson) as unknown }]));
    } catch (e) {
      // Nothing measured is lost: the state holds every image counted, and --resume writes the
      // outputs again without evaluating anything.
      const saved = await saver.save(stateNow).then(() => true, () => false);
      if (e instanceof ZooError && saved) {
        throw new UsageError(e.message, { ...(e.file !== undefined ? { file: e.file } : {}), fix: `${e.fix ?? 'fix the path'}; the results are kept in ${stateFile}: run again with --resume to write them` });
      }
      throw e;
    }

    if (interrupted) {
      await saver.save(stateNow);
      say(`zoo: interrupted (${interrupt.signal}) after ${next} of ${samples.length} images; state saved to ${stateFile}`);
      say(`zoo: to continue, run the same command with --resume${flags.state ? '' : ` (state: ${stateFile})`}`);
      return ExitCode.INTERRUPTED;
    }
    await removeState(stateFile);
    if (saver.writes > 0 && process.env.ZOO_DEBUG_STATE) say(`zoo: state: ${saver.writes} writes, ${saver.totalMs.toFixed(1)} ms in all`);
    if (skipped.length > 0) say(`zoo: warning: ${skipped.length} image(s) skipped (--on-error skip): the result is NOT comparable with published numbers`);
    if (checks && !checks.passed) {
      say(`zoo: ${result.verdict}`);
      return ExitCode.REGRESSION;
    }
    if (paired?.regression) {
      say(`zoo: regression: ${(-paired.diff).toFixed(3)} points below --baseline-predictions ${flags.baselinePredictions} on ${paired.images} paired images (McNemar p = ${paired.p_value.toPrecision(4)}), beyond --tolerance ${tol}`);
      return ExitCode.REGRESSION;
    }
    return ExitCode.OK;
  } catch (e) {
    if (interrupt.signal && !(e instanceof ZooError)) {
      say(`zoo: interrupted (${interrupt.signal})`);
      return ExitCode.INTERRUPTED;
    }
    throw e;
  } finally {
    hashing.abort();
    await early?.close();
    await data?.dispose();
    interrupt.dispose();
    await stateLock.release();
  }
}

/** What the predictions may be, for the identity and the JSON: all outputs, a set's list, or a --valid-labels file. */
function labelSpaceOf(flags: EvalFlags, valid: readonly number[] | null, set: TestSetName): string {
  const parts: string[] = [];
  if (flags.validLabels) parts.push(`--valid-labels ${resolve(flags.validLabels)} (${valid?.length} outputs)`);
  else if (valid) parts.push(`${testSet(set).subset === 'a' ? 'ImageNet-A' : 'ImageNet-R'} 200 classes`);
  else parts.push('all 1000 classes');
  return parts.join(', ');
}

/** performance.now() marks of one run, ms since the process started (Node's time origin). */
interface StartupMarks {
  started: number;
  dataReady: number;
  modelReady: number;
  firstBatchReady: number | undefined;
  firstBatchDone: number | undefined;
}

const seconds = (ms: number) => Math.round(ms) / 1000;

/**
 * Start-up figures for the --json result: `time_to_first_batch_s`, from the process start to the
 * first batch's logits counted (null when no batch ran), and where that time went. The loader runs
 * during `model_s` on a fresh run, so `first_batch_wait_s` is only the decode time left over.
 */
function startupFigures(m: StartupMarks) {
  return {
    time_to_first_batch_s: m.firstBatchDone === undefined ? null : seconds(m.firstBatchDone),
    startup: {
      imports_s: seconds(m.started),
      dataset_s: seconds(m.dataReady - m.started),
      model_s: seconds(m.modelReady - m.dataReady),
      first_batch_wait_s: m.firstBatchReady === undefined ? null : seconds(m.firstBatchReady - m.modelReady),
      first_inference_s: m.firstBatchReady === undefined || m.firstBatchDone === undefined ? null : seconds(m.firstBatchDone - m.firstBatchReady),
    },
  };
}
