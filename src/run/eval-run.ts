/**
 * One model over one dataset, start to finish: a run = a model source + the data (and its subset) +
 * how the loader and engine run + checks + outputs. Data discovery and the model load come first so
 * their errors precede any work; then the loader decodes ahead on worker threads while the engine
 * runs the current batch; the state is rewritten after batches so an interrupted run resumes with
 * exactly the numbers of an uninterrupted one; the result goes to the caller (which prints it) and
 * to the result files asked for.
 *
 * The steps are named helpers (dataset selection, identity, resume, the loop in loop.ts, checks,
 * result, outputs) so each can be read alone; `evaluate` only orders them.
 */
import { availableParallelism } from 'node:os';
import { relative, resolve } from 'node:path';
import type { Dataset, Sample } from '../data/dataset.js';
import { describeJpegDecoder } from '../data/jpeg-turbo.js';
import { loadClassNames } from '../data/imagenet.js';
import { readValidLabels } from '../data/label-space.js';
import { nextStepHint, resolveDataArg } from '../data/sample.js';
import { openDataUnion, partRootOf, type DataPart, type UnionData } from '../data/data-union.js';
import { testSet, type TestSet, type TestSetName } from '../data/test-sets.js';
import { createLoader, cropCacheLine, type Loader, type LoaderOptions, type OnError } from '../data/loader.js';
import { formatShard, selectSubset, type Shard } from '../data/subset.js';
import { DataError, ExitCode, UsageError, ZooError } from '../errors.js';
import { MetricsAccumulator } from '../metrics/accumulator.js';
import { compareWithPublished } from '../metrics/compare.js';
import { TopKAccumulator } from '../metrics/topk.js';
import { primaryPublished, publishedConfigs } from '../models/registry.js';
import { buildReport } from '../report/build.js';
import { lockFile } from '../io/lock.js';
import { planOutputs, removeStaleTemps, writeOutput, type InputRef, type OutputTarget } from '../io/output.js';
import { perImageOf, readOutcomes } from '../metrics/outcomes-file.js';
import { comparePaired, renderPaired, type ImageOutcome } from '../metrics/paired.js';
import { planChecks, readBaseline, runChecks, type CheckOptions } from './checks.js';
import { catchInterrupts } from './interrupt.js';
import { guardInterruptedState } from './state-guard.js';
import { describeSources } from '../models/file/config.js';
import { runLoop, type LoopMarks } from './loop.js';
import type { SharedCrops } from './group-crops.js';
import type { ModelSource } from '../models/source.js';
import { saidBeforeRun } from '../data/warnings.js';
import { readRealLabels, realResult } from './real-labels.js';
import { buildResult, jsonText, predictionsCsv, resultCsv, type EvalResult, type Selection } from './result.js';
import {
  defaultStateFile,
  removeState,
  restoreState,
  StateSaver,
  weightsIdentity,
  type AccumulatorState,
  type EvalState,
  type Restored,
  type RunIdentity,
  type SkippedImage,
} from './state.js';

/** Which images: the data location and the deterministic subset of it. */
export interface DataSelection {
  /**
   * ImageFolder tree, flat val folder, a parent of either, or a .tar; several (one test set over
   * several folders) are evaluated as the union of their images (src/data/data-union.ts).
   */
  data: readonly string[];
  /** Ground truth for a flat folder (val.txt form). */
  labels?: string;
  /** The test set --data holds (default: detected, else imagenet). */
  dataset?: TestSetName;
  /** Restrict predictions to these output indices (timm's --valid-labels). */
  validLabels?: string;
  perClass?: number;
  limit?: number;
  shard?: Shard;
}

/** How images are decoded and batched. */
export interface LoadingOptions {
  batchSize: number;
  /** Decode threads; default: the number of cores. */
  workers?: number;
  onError: OnError;
  imageTimeoutSeconds?: number;
  /** Crop cache directory (--crop-cache, src/data/crop-cache.ts). */
  cropCache?: string;
  /** Without --crop-cache: the crop cache a sweep group's models share (group-crops.ts). */
  sharedCrops?: SharedCrops;
}

/** The files a run writes (each optional); `-` is stdout (see src/io/output.ts for FIFOs, devices, links). */
export interface RunOutputs {
  json?: string;
  csv?: string;
  predictions?: string;
  /** An HTML page of the result (src/report), as `zoo report` writes it. */
  report?: string;
  /** The resume state; default beside --json, else ./zoo-eval.state.json. */
  state?: string;
}

export interface EvalRequest {
  /** The model, engine options bound (closed when the run ends). */
  source: ModelSource;
  selection: DataSelection;
  loading: LoadingOptions;
  checks: CheckOptions;
  /** ReaL labels: true = bundled, a path, or undefined for none. */
  realLabels?: string | true;
  outputs: RunOutputs;
  /** Continue from the state file instead of starting over. */
  resume: boolean;
  /** Discard an interrupted run's state file and start from zero. */
  restart: boolean;
  /** Leave out notes (progress is the caller's choice of sink). */
  quiet: boolean;
  /** performance.now() when the user's command started (wall time is their wait); default: now. */
  startedAt?: number;
}

/** Progress of the loop, drawn by the caller (a bar, log lines, or nothing). */
export interface ProgressSink {
  update(done: number, top1: number, top5: number): void;
  stop(): void;
}

/** What a run tells its caller while it goes. */
export interface RunHooks {
  /** A line for the user (stderr). */
  say(line: string): void;
  /** `at`: where the run starts (a resumed run: its images done and accuracy so far). */
  progress(total: number, label: string, at: { done: number; top1: number; top5: number }): ProgressSink;
  /**
   * The result, before the files are written (the CLI prints its table here); `stdoutTaken`: an
   * output goes to stdout, so the table should not.
   */
  report(result: EvalResult, stdoutTaken: boolean): void;
  /** More text for the table's stream (the paired comparison). */
  print(text: string, stdoutTaken: boolean): void;
}

/** The selected samples of the test set and the selection as the result records it. */
interface SelectedData {
  dataset: Dataset;
  /** The folders of a union of several --data paths; null for one. */
  parts: DataPart[] | null;
  set: TestSet;
  /** How the set was detected when --dataset was not given; null otherwise. */
  detected: string | null;
  samples: Sample[];
  selection: Selection;
  /** Names as the user knows them: relative to the data folder, or the entry path inside a tar. */
  nameOf(s: Sample): string;
}

/** Selects the subset of an opened test set (warnings said, usage errors for an empty selection). */
function selectData(opened: UnionData, sel: DataSelection): SelectedData {
  const { dataset, set, parts } = opened;
  const samples = selectSubset(dataset.samples, {
    ...(sel.perClass !== undefined ? { perClass: sel.perClass } : {}),
    ...(sel.limit !== undefined ? { limit: sel.limit } : {}),
    ...(sel.shard ? { shard: sel.shard } : {}),
  });
  if (samples.length === 0) {
    throw new UsageError('the subset flags select no images', { file: sel.data.join(', '), fix: 'check --limit/--per-class/--shard against the data' });
  }
  const fields = { per_class: sel.perClass ?? null, limit: sel.limit ?? null, shard: sel.shard ? formatShard(sel.shard) : null };
  const selection: Selection = {
    ...fields,
    images: samples.length,
    key: `per_class=${fields.per_class ?? '-'} limit=${fields.limit ?? '-'} shard=${fields.shard ?? '-'} images=${samples.length}`,
  };
  // Names as the user knows them: relative to the data folder (its own, of several), or the entry path inside an archive.
  const nameOf = (s: Sample) => s.entry ?? (s.tar ? s.file.slice(s.tar.file.length + 1) : relative(partRootOf(s, parts, dataset.root), s.file) || s.name);
  return { dataset, parts, set, detected: opened.detected, samples, selection, nameOf };
}

/** What the predictions may be, for the identity and the JSON: all outputs, a set's list, or a --valid-labels file. */
function labelSpaceOf(validLabels: string | undefined, valid: readonly number[] | null, set: TestSetName): string {
  if (validLabels) return `--valid-labels ${resolve(validLabels)} (${valid?.length} outputs)`;
  if (valid) return `${testSet(set).subset === 'a' ? 'ImageNet-A' : 'ImageNet-R'} 200 classes`;
  return 'all 1000 classes';
}

/** The run's outputs, resolved by src/io/output.ts. */
interface PlannedOutputs {
  json: OutputTarget | undefined;
  csv: OutputTarget | undefined;
  predictions: OutputTarget | undefined;
  report: OutputTarget | undefined;
  state: OutputTarget;
  /** An output goes to stdout (`-`). */
  toStdout: boolean;
}

/** Resolves the outputs and refuses bad or colliding paths (exit 2) before any work. */
async function planRunOutputs(req: EvalRequest, stateFile: string): Promise<PlannedOutputs> {
  const { outputs, selection: sel } = req;
  const stateFlag = outputs.state ? '--state' : '--state (default)';
  const t = await planOutputs(
    [
      { flag: '--json', path: outputs.json },
      { flag: '--csv', path: outputs.csv },
      { flag: '--predictions', path: outputs.predictions },
      { flag: '--report', path: outputs.report },
      { flag: stateFlag, path: stateFile, streamOk: false },
    ],
    [
      ...sel.data.map((path): InputRef => ({ flag: '--data', path, kind: 'tree' })),
      { flag: '--weights', path: req.source.weightsFile, kind: 'file' },
      { flag: '--labels', path: sel.labels, kind: 'file' },
      { flag: '--baseline', path: req.checks.baseline, kind: 'file' },
      { flag: '--real-labels', path: typeof req.realLabels === 'string' ? req.realLabels : undefined, kind: 'file' },
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

/** Keeps what was counted after a data error and says how to continue. */
function dataFailure(failure: DataError, next: number): DataError {
  // The loader's fix already names --on-error skip; add it if not, and how to continue.
  let fix = failure.fix ?? '';
  if (!fix.includes('--on-error skip')) fix = `${fix ? `${fix}, or ` : ''}pass --on-error skip to exclude it`;
  if (next > 0) fix += `; add --resume (after fixing it, or with --on-error skip) to continue from image ${next}`;
  return new DataError(failure.message, {
    ...(failure.file !== undefined ? { file: failure.file } : {}),
    ...(failure.expected !== undefined ? { expected: failure.expected } : {}),
    fix,
  });
}

/**
 * Evaluates one model; resolves to the exit code (OK, REGRESSION, INTERRUPTED), throws ZooError on
 * failure. The run owns its source: it is closed when the run ends, whatever happens.
 */
export async function evaluate(req: EvalRequest, hooks: RunHooks): Promise<number> {
  try {
    return await evaluateSource(req, hooks);
  } finally {
    await req.source.close();
  }
}

async function evaluateSource(req: EvalRequest, hooks: RunHooks): Promise<number> {
  // Wall time is the user's wait: discovery, weights, model load and the loop.
  const started = req.startedAt ?? performance.now();
  const { say } = hooks;
  const { source, selection: sel, outputs } = req;
  const cfg = source.cfg;
  const baseline = req.checks.baseline ? await readBaseline(req.checks.baseline) : null;
  const basePredictions = req.checks.baselinePredictions ? await readOutcomes(req.checks.baselinePredictions, '--baseline-predictions') : null;
  // --dataset imagenet-real is --real-labels: one implementation (the bundled real.json unless a file is named).
  const real = await readRealLabels(req.realLabels ?? (sel.dataset === 'imagenet-real' ? true : undefined));
  const userValid = sel.validLabels ? await readValidLabels(sel.validLabels) : null;
  const stateFile = outputs.state ?? defaultStateFile(outputs.json === '-' ? undefined : outputs.json, sel.shard);
  // Every output's folder is checked, and collisions refused, before any work (exit 2, one line).
  const out = await planRunOutputs(req, stateFile);

  // The state is this run's alone from here: a second run on it is refused (src/io/lock.ts).
  const stateLock = await lockFile(out.state.target, out.state.flag, say);
  // An interrupted run's state is not thrown away by running the command again (--resume / --restart).
  await guardInterruptedState(out.state.target, { resume: req.resume, restart: req.restart, say }).catch(async (e: unknown) => {
    await stateLock.release();
    throw e;
  });
  // A run killed mid-save (kill -9) left its temporary state file: it is of no use to anyone.
  if (stateLock.staleOwner !== null) await removeStaleTemps(out.state.target, stateLock.staleOwner);
  const interrupt = catchInterrupts(say);
  /** The loader started before the model loads (a fresh run); closed in `finally` whatever happens. */
  let early: Loader | undefined;
  /** The test set; disposed in `finally` (a spooled .tar.gz is removed). */
  let opened: UnionData | undefined;
  /** Stops the early weights hash on every way out (it may still be reading when the run fails). */
  const hashing = new AbortController();
  try {
    const dataArgs = sel.data.map((arg) => ({ arg, ...resolveDataArg(arg) }));
    const dataArg = { builtin: dataArgs.length === 1 && dataArgs[0]!.builtin };
    opened = await openDataUnion(dataArgs, { ...(sel.dataset ? { dataset: sel.dataset } : {}), ...(sel.labels ? { labels: sel.labels } : {}) });
    const { set } = opened;
    if (real && set.layout !== 'val') {
      throw new UsageError(`--real-labels: ReaL labels are for ImageNet val images, not ${set.title}`, { fix: `drop --real-labels, or pass --dataset imagenet-real with the val images` });
    }
    if (opened.detected && !req.quiet) say(`zoo: note: --data is ${set.title} (--dataset ${set.name}), detected from ${opened.detected}`);
    for (const n of opened.notes) if (!req.quiet) say(`zoo: note: ${n}`);
    // The outputs predictions may take: --valid-labels, else the set's 200-class list, else all.
    const valid = userValid ?? opened.valid;
    const publishedSet = set.name === 'imagenet-real' ? 'imagenet' : set.name;
    const published = primaryPublished(source.tag, cfg, publishedSet);
    // Usage problems in the checks surface now, before the model loads and the hour of evaluation.
    const checkPlan = planChecks(req.checks, published, source.tag, baseline);
    const data = selectData(opened, sel);
    const { dataset, samples, selection, nameOf, parts } = data;
    // Several folders: all of them, resolved and sorted (the same folders in another order are the same run).
    const dataRoots = parts ? parts.map((p) => resolve(p.root)).sort() : null;
    // Data warnings wait until the data has proved usable (the first batch evaluated), so they never
    // come before a fatal error; INCOMPLETE is said once, in the result table, not here; --quiet
    // keeps only those that change what the result means (duplicates counted twice, hostile archive
    // entries skipped).
    let pendingWarnings = dataset.warnings.filter((w) => saidBeforeRun(w, req.quiet));
    const flushWarnings = () => {
      for (const w of pendingWarnings) say(`zoo: warning: ${w}`);
      pendingWarnings = [];
    };
    // A bad ZOO_DECODER is refused before any work.
    const decoderLine = describeJpegDecoder();
    const dataReady = performance.now();

    // Neither more workers nor larger batches than there are images: both only allocate.
    const workers = Math.min(req.loading.workers ?? availableParallelism(), samples.length);
    const batchSize = Math.min(req.loading.batchSize, samples.length);
    const cropCache = req.loading.cropCache ?? req.loading.sharedCrops?.dirFor(samples.length, cfg);
    const loaderOptions: LoaderOptions = {
      batchSize,
      workers,
      onError: req.loading.onError,
      ...(req.loading.imageTimeoutSeconds ? { imageTimeoutMs: req.loading.imageTimeoutSeconds * 1000 } : {}),
      ...(cropCache !== undefined ? { cropCache } : {}),
    };
    // Start-up: a fresh run starts its loader now, so the workers start and the first batches decode
    // while the model loads (checkpoint read, graph, ONNX lowering, session). A --resume run starts
    // where its state says, known only once the model is (the state names the weights' hash).
    if (!req.resume && !interrupt.signal) early = createLoader(samples, cfg, loaderOptions);

    // The weights' hash (the run's identity) reads the whole file: with a local file given it runs
    // while the model loads (onnxruntime builds its session off this thread), not after it.
    const earlyIdentity = source.weightsFile ? weightsIdentity(source.weightsFile, hashing.signal) : undefined;
    earlyIdentity?.catch(() => undefined); // a failure surfaces where it is awaited, after load()'s own checks
    const run = await source.load();
    const modelReady = performance.now();
    if (!req.quiet) for (const note of run.notes) say(`zoo: note: ${note}`);
    // Once per run, which decoder reads the JPEGs (the workers decide the same way), with the fix
    // when the fast one is not built; after the model loads, so a failed start stays one line.
    if (!req.quiet) say(`zoo: ${decoderLine}`);
    const identity: RunIdentity = {
      model: source.tag.name,
      weights: await (run.file === source.weightsFile && earlyIdentity ? earlyIdentity : weightsIdentity(run.file)),
      eval_config: cfg,
      data_root: dataRoots ?? resolve(dataset.root),
      labels: sel.labels ? resolve(sel.labels) : null,
      samples: samples.length,
      selection: { per_class: selection.per_class, limit: selection.limit, shard: selection.shard },
      on_error: req.loading.onError,
      real_labels: real ? real.source : null,
      dataset: set.name,
      label_space: labelSpaceOf(sel.validLabels, valid, set.name),
    };
    // One header line saying what is about to run (issue 10.2): model, weights, config and where
    // each value came from, engine, batch, data. After the model loaded, so a failed start stays one line.
    if (!req.quiet) {
      const w = identity.weights;
      const config = describeSources(cfg, source.configSources);
      say(
        `zoo: ${source.tag.name} | weights ${w.file} (sha256 ${w.sha256.slice(0, 12)}) | ${config}` +
          ` | ${run.model.backend} on ${run.model.device}${threadsPart(run.model.threads)}, batch ${batchSize}, ${workers} workers` +
          ` | data ${describeData(dataset, parts, samples.length)}`,
      );
    }

    // Fresh or resumed accumulators.
    let at: Restored = {
      metrics: new MetricsAccumulator({ real: real?.labels ?? null }),
      topk: new TopKAccumulator(1000, samples.length),
      next: 0,
      skipped: [],
      elapsedBefore: 0,
    };
    if (req.resume) {
      at = await restoreState(stateFile, identity, real?.labels ?? null);
      say(`zoo: resuming at image ${at.next} of ${samples.length} (${at.topk.count} evaluated, ${at.skipped.length} skipped) from ${stateFile}`);
    }
    const { metrics, topk, skipped, elapsedBefore } = at;
    let next = at.next;

    const progress = hooks.progress(samples.length, source.tag.name, { done: next, top1: topk.top1, top5: topk.top5 });
    const saver = new StateSaver(out.state);
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
    let failure: unknown;
    let marks: LoopMarks = { firstBatchReady: undefined, firstBatchDone: undefined };
    if (!interrupt.signal && next < samples.length) {
      const loader = offset === 0 && early ? early : createLoader(samples.slice(offset), cfg, loaderOptions);
      interrupt.onStop(() => void loader.close());
      try {
        marks = await runLoop(loader, [{ model: run.model, topk, metrics, valid }], async (batch) => {
          flushWarnings();
          for (const f of batch.failed) skipped.push(skippedImage(f, offset, nameOf));
          next = offset + batch.end;
          progress.update(next, topk.top1, topk.top5);
          if (saver.due() || interrupt.signal) await saver.save(stateNow);
        });
      } catch (e) {
        failure = e;
      } finally {
        progress.stop();
        await loader.close();
        if (cropCache !== undefined && !req.quiet) say(cropCacheLine(cropCache, loader.stats()));
      }
    }
    await run.model.dispose();
    const ended = performance.now();
    if (failure === undefined) flushWarnings();
    const loopSeconds = (ended - loopStart) / 1000;

    if (failure !== undefined) {
      // Keep what was counted: after fixing (or removing) the file, --resume goes on from here.
      if (next > 0) await saver.save(stateNow).catch(() => undefined);
      if (failure instanceof DataError && req.loading.onError === 'stop') throw dataFailure(failure, next);
      throw failure;
    }

    const interrupted = interrupt.signal !== null && next < samples.length;
    const evaluated = topk.count;
    const subset = evaluated < set.images;
    const comparison = compareWithPublished({ images: evaluated, top1Correct: topk.top1Correct, top5Correct: topk.top5Correct }, published, subset);
    const checks = interrupted
      ? null
      : runChecks(checkPlan, { images: evaluated, top1Correct: topk.top1Correct, top5Correct: topk.top5Correct, subset, selectionKey: selection.key });

    // Per-image outcomes (names as the user knows them): in the JSON for zoo compare, and paired
    // with --baseline-predictions. Accumulator row i is the i-th selected sample that was not skipped.
    const names = evaluatedNames(data, next, skipped);
    const outcomes: ImageOutcome[] = [];
    for (const p of topk.predictions()) outcomes.push({ file: names[p.index] ?? String(p.index), label: p.label, top1: p.top5[0]! });
    const paired = basePredictions && !interrupted ? comparePaired(basePredictions, outcomes, { tolerance: req.checks.tolerance }) : null;
    const result = buildResult({
      model: source.tag,
      cfg,
      configSources: source.configSources,
      modelFile: source.modelFile,
      acc: topk,
      comparison,
      params: run.params,
      macs: run.macs ?? null,
      weightsFile: run.file,
      backend: run.model.backend,
      device: run.model.device,
      engine: run.model.engine,
      batchSize,
      workers,
      dataset: {
        root: dataRoots ?? dataset.root,
        ...(parts ? { parts: parts.map((p) => ({ root: resolve(p.root), layout: p.layout, source: p.source, found: p.found })) } : {}),
        // Several folders of different layouts (a flat folder beside an ImageFolder tree): both, `flat+imagefolder`.
        layout: parts ? [...new Set(parts.map((p) => p.layout))].join('+') : dataset.layout,
        name: set.name,
        title: set.title,
        detected: data.detected,
        label_space: identity.label_space ?? 'all 1000 classes',
        source: dataset.source,
        found: dataset.samples.length,
        complete: dataset.complete,
        missing: dataset.missing,
        warnings: dataset.warnings,
      },
      limit: sel.limit ?? null,
      wallSeconds: elapsedBefore + (ended - started) / 1000,
      imagesPerSecond: (next - offset) / Math.max(1e-9, loopSeconds),
      metrics,
      classNames: loadClassNames(),
      interrupted,
      resumed: req.resume,
      selection,
      skipped,
      notComparable: [
        ...(dataset.warnings.some((w) => w.startsWith('DUPLICATES')) ? ['duplicate images are counted more than once'] : []),
        ...(!published && publishedConfigs(source.tag, publishedSet).length > 0
          ? [`no published number at this eval config (published: ${publishedConfigs(source.tag, publishedSet).join('; ')})`]
          : []),
      ],
      real: realResult(metrics, real, source.tag, cfg, subset),
      checks,
      identity,
    });
    // The built-in sample shows that things work; say how to get the real number, before the table.
    if (dataArg.builtin && !interrupted && !req.quiet) say(nextStepHint(source.tag.arch === source.tag.name ? source.tag.name : source.tag.arch));
    hooks.report(result, out.toStdout);
    if (paired) hooks.print(`\n${renderPaired(paired, { baseline: req.checks.baselinePredictions!, candidate: 'this run' })}`, out.toStdout);
    try {
      const resultJson = jsonText({
        ...result,
        ...startupFigures({ started, dataReady, modelReady, ...marks }),
        paired: paired ? { baseline: req.checks.baselinePredictions, ...paired } : null,
        per_image: perImageOf(outcomes),
      });
      if (out.json) await writeOutput(out.json, resultJson);
      if (out.csv) await writeOutput(out.csv, resultCsv(result));
      if (out.predictions) await writeOutput(out.predictions, predictionsCsv(topk, names));
      // The page is a view of exactly the JSON above (written or not).
      if (out.report) await writeOutput(out.report, await buildReport([{ file: outputs.json ?? `${result.model} (this run)`, doc: JSON.parse(resultJson) as unknown }]));
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
      say(`zoo: to continue, run the same command with --resume${outputs.state ? '' : ` (state: ${stateFile})`}`);
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
      say(`zoo: regression: ${(-paired.diff).toFixed(3)} points below --baseline-predictions ${req.checks.baselinePredictions} on ${paired.images} paired images (McNemar p = ${paired.p_value.toPrecision(4)}), beyond --tolerance ${req.checks.tolerance}`);
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
    await opened?.dispose();
    interrupt.dispose();
    await stateLock.release();
  }
}

function skippedImage(f: { index: number; sample: Sample; message: string }, offset: number, nameOf: (s: Sample) => string): SkippedImage {
  const error = f.message.startsWith(`${f.sample.file}: `) ? f.message.slice(f.sample.file.length + 2) : f.message;
  return { index: offset + f.index, file: nameOf(f.sample), error };
}

/** The data for the header line: `ROOT (layout, n of N images)`; several folders: each, then their layouts and images each. */
function describeData(dataset: Dataset, parts: readonly DataPart[] | null, selected: number): string {
  const count = `${selected} of ${dataset.samples.length} images`;
  if (!parts) return `${resolve(dataset.root)} (${dataset.layout}, ${count})`;
  const layouts = [...new Set(parts.map((p) => p.layout))].join('+');
  return `${parts.map((p) => resolve(p.root)).join(', ')} (${layouts}, ${parts.map((p) => p.found).join(' + ')} found, ${count})`;
}

/** The names of the accumulator's rows: row i is the i-th selected sample that was not skipped. */
function evaluatedNames(data: SelectedData, next: number, skipped: readonly SkippedImage[]): string[] {
  const gone = new Set(skipped.map((s) => s.index));
  const names: string[] = [];
  for (let i = 0; i < next; i++) if (!gone.has(i)) names.push(data.nameOf(data.samples[i]!));
  return names;
}

/** performance.now() marks of one run, ms since the process started (Node's time origin). */
interface StartupMarks extends LoopMarks {
  started: number;
  dataReady: number;
  modelReady: number;
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

/** The engine's compute threads for the header line (`, 4 threads`); nothing on CUDA, where the device decides. */
function threadsPart(threads: number | null): string {
  return threads === null ? '' : `, ${threads} thread${threads === 1 ? '' : 's'}`;
}
