/**
 * `zoo eval <model> --data PATH`: turns the flags into a run (src/run/eval-run.ts does the work:
 * data, model load, the loop, resume state, checks, result files) and prints its table and progress.
 *
 * A run can be trusted with a CI gate: bad images stop it naming the file (or are skipped and listed
 * with --on-error skip), SIGINT/SIGTERM write the partial result and a resume state, the state is
 * rewritten atomically after every batch so even kill -9 loses only the batches in flight, and
 * --expect-top1/--expect-top5/--baseline turn the numbers into exit code 1 on a regression.
 */
import { Command, Option } from 'commander';
import { DEFAULT_IMAGE_TIMEOUT_MS } from '../data/loader.js';
import { parseCount, parseShard, type Shard } from '../data/subset.js';
import { TEST_SET_NAMES, type TestSetName } from '../data/test-sets.js';
import { UsageError, ZooError } from '../errors.js';
import { DEFAULT_TOLERANCE, type Expectation } from '../run/checks.js';
import type { EvalRequest, RunHooks } from '../run/eval-run.js';
import { appendResults, planResultsFile, type ResultsFormat } from '../run/results-file.js';
import type { EvalResult } from '../run/result.js';
import type { SweepOutcome } from '../run/sweep.js';
import { refuseCollisions, type InputRef } from '../io/output.js';
import { expandModelSpecs, GLOB_CHARS, readModelsFile } from './model-specs.js';
import { jsonOption, jsonPath, type JsonFlag } from './json-out.js';
import type { Io, Wrap } from './main.js';
import {
  dataPaths,
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
import { evalProgress, statusLine, terminalColumns } from './progress.js';
import { renderReport } from './report.js';
import { resolveSource } from './source.js';

export interface EvalFlags extends EngineFlags, PreprocessFlags {
  /** One or more --data paths (repeated, or comma-separated). */
  data?: string[];
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
  cropCache?: string;
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
  /** More models, one per line (# comments). */
  modelsFile?: string;
  /** One row per model appended (timm's columns first). */
  resultsFile?: string;
  resultsFormat: ResultsFormat;
  /** DIR/<model>.json per model of a sweep. */
  jsonDir?: string;
  failFast?: boolean;
}

export function evalCommand(io: Io, wrap: Wrap): Command {
  const cmd = new Command('eval')
    .description('evaluate a model on ImageNet val (top-1/top-5) and compare with its published numbers')
    .argument('[models...]', "architecture (its default tag) or arch.tag, e.g. rexnet_100 or rexnet_100.nav_in1k; a quoted glob over the catalogue ('rexnet_*', '*.nav_in1k'); or a model file: x.onnx, a TF.js model.json, or a folder holding model.onnx + config.json. Several: one sweep, decoding once per preprocessing config")
    .addOption(
      new Option(
        '--data <path>',
        'ImageNet val: ImageFolder tree, flat ILSVRC2012_val_*.JPEG folder, a parent holding val/, or a .tar of either; several (repeat it, or separate with commas): one set over several folders, evaluated as one',
      ).argParser(dataPaths),
    )
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
    .option('--crop-cache <dir>', 'read exact uint8 crops from DIR instead of decoding (stored there on first use; never changes a result)')
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
    .addOption(new Option('--models-file <file>', 'more models to evaluate, one per line, each optionally followed by its weights file (relative to FILE\'s folder); # starts a comment'))
    .addOption(new Option('--results-file <file>', "append one row per model: timm's columns (model,top1,top1_err,top5,top5_err,param_count,img_size,crop_pct,interpolation) then ours; - for stdout"))
    .addOption(new Option('--results-format <format>', 'format of --results-file').choices(['csv', 'json']).default('csv'))
    .addOption(new Option('--json-dir <dir>', 'several models: write DIR/<model>.json per model (the same JSON as --json of a single run)'))
    .addOption(new Option('--fail-fast', 'several models: run no further model once one fails (default: report it and go on)'))
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
        '  zoo eval rexnet_100 --data /disk1/val,/disk2/val                                         # one set over two folders\n' +
        '  zoo eval rexnetv1_1.0x --weights rexnetv1_1.0x.pth --data ./val --device cuda\n' +
        "  zoo eval 'rexnet_*' resnext50_32x4d --data ./val --results-file results.csv --json-dir results/   # a sweep\n",
    )
    .action(wrap((specs: string[], flags: EvalFlags) => runEvalCommand(specs, flags, io)));
}

/** The run the flags describe; usage errors (no --data) before anything is read. */
export async function evalRequest(spec: string, flags: EvalFlags): Promise<EvalRequest> {
  const startedAt = performance.now();
  if (!flags.data) {
    throw new UsageError('missing --data PATH', {
      expected: 'the ImageNet val images: an ImageFolder tree, a flat folder of ILSVRC2012_val_*.JPEG, a parent holding val/, or a .tar',
      fix: `e.g. zoo eval ${spec} --data ./ILSVRC2012`,
    });
  }
  return {
    // A catalogued model or a model file; a file is opened now, so its signature errors come first.
    source: await resolveSource(spec, flags),
    selection: {
      data: flags.data,
      ...(flags.labels !== undefined ? { labels: flags.labels } : {}),
      ...(flags.dataset !== undefined ? { dataset: flags.dataset } : {}),
      ...(flags.validLabels !== undefined ? { validLabels: flags.validLabels } : {}),
      ...(flags.perClass !== undefined ? { perClass: flags.perClass } : {}),
      ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
      ...(flags.shard ? { shard: flags.shard } : {}),
    },
    loading: {
      batchSize: flags.batchSize,
      onError: flags.onError,
      ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
      ...(flags.imageTimeout ? { imageTimeoutSeconds: flags.imageTimeout } : {}),
      ...(flags.cropCache !== undefined ? { cropCache: flags.cropCache } : {}),
    },
    checks: {
      tolerance: flags.tolerance ?? DEFAULT_TOLERANCE,
      ...(flags.expectTop1 !== undefined ? { expectTop1: flags.expectTop1 } : {}),
      ...(flags.expectTop5 !== undefined ? { expectTop5: flags.expectTop5 } : {}),
      ...(flags.baseline ? { baseline: flags.baseline } : {}),
      ...(flags.baselinePredictions ? { baselinePredictions: flags.baselinePredictions } : {}),
    },
    ...(flags.realLabels !== undefined ? { realLabels: flags.realLabels } : {}),
    outputs: {
      ...(jsonPath(flags.json) !== undefined ? { json: jsonPath(flags.json)! } : {}),
      ...(flags.csv ? { csv: flags.csv } : {}),
      ...(flags.predictions ? { predictions: flags.predictions } : {}),
      ...(flags.report ? { report: flags.report } : {}),
      ...(flags.state ? { state: flags.state } : {}),
    },
    resume: flags.resume ?? false,
    restart: flags.restart ?? false,
    quiet: flags.quiet ?? false,
    startedAt,
  };
}

/** The --data paths as inputs no output may overwrite. */
export function dataInputs(data: readonly string[] | undefined): InputRef[] {
  return (data ?? []).map((path) => ({ flag: '--data', path, kind: 'tree' }));
}

/** One model: today's single run; several (or a glob, or --models-file): a sweep (sweep-cli.ts). */
async function runEvalCommand(specs: readonly string[], flags: EvalFlags, io: Io): Promise<number> {
  const file = flags.modelsFile !== undefined ? await readModelsFile(flags.modelsFile) : null;
  const named = [...specs, ...(file?.specs ?? [])];
  if (named.length === 0) throw new UsageError('missing <model>', { fix: 'name a model, e.g. zoo eval rexnet_100 --data ./val (`zoo list` shows every model), or pass --models-file FILE' });
  const models = expandModelSpecs(named);
  const sweep = models.length > 1 || flags.modelsFile !== undefined || named.some((s) => GLOB_CHARS.test(s) && !models.includes(s));
  if (sweep) {
    const { runSweepCommand } = await import('./sweep-cli.js');
    return runSweepCommand(models, flags, io, file?.weights ?? new Map<string, string>());
  }
  if (flags.jsonDir !== undefined) throw new UsageError('--json-dir applies to several models', { fix: 'use --json FILE for one model' });
  if (flags.failFast) throw new UsageError('--fail-fast applies to several models', { fix: 'omit --fail-fast' });
  return runEval(models[0]!, flags, io);
}

export async function runEval(spec: string, flags: EvalFlags, io: Io): Promise<number> {
  const req = await evalRequest(spec, flags);
  // The run layer (data, loop, engines, report) loads when a run starts, not with the CLI.
  const { evaluate } = await import('../run/eval-run.js');
  // --results-file is checked before any work, like every output.
  const results = flags.resultsFile !== undefined ? await planResultsFile(flags.resultsFile, flags.resultsFormat) : null;
  // Lines said while the progress line is up start on a fresh line (Ctrl-C's message included).
  const status = statusLine(io);
  if (results) {
    refuseCollisions([results], dataInputs(flags.data));
    // Two outputs on stdout would interleave: one of them must go to a file.
    const other = Object.entries({ '--json': jsonPath(flags.json), '--csv': flags.csv, '--predictions': flags.predictions, '--report': flags.report }).find(([, p]) => p === '-');
    if (results.kind === 'stdout' && other) {
      await req.source.close();
      throw new UsageError(`--results-file and ${other[0]} both write to stdout`, { fix: 'send one of them to a file' });
    }
    let result: EvalResult | null = null;
    const outcome = (code: number | null, reason: string | null): SweepOutcome => ({ name: req.source.tag.name, cfg: req.source.cfg, code, result, reason });
    let code: number;
    try {
      code = await evaluate(req, singleHooks(io, flags, status, results.kind === 'stdout', (r) => (result = r)));
    } catch (e) {
      if (e instanceof ZooError) await appendResults(results, flags.resultsFormat, [outcome(e.exitCode, e.oneLine())]);
      throw e;
    }
    await appendResults(results, flags.resultsFormat, [outcome(code, null)]);
    return code;
  }
  return evaluate(req, singleHooks(io, flags, status, false, () => undefined));
}

/** The hooks of a single run: a progress bar, the table on stdout (stderr when an output takes stdout). */
function singleHooks(io: Io, flags: EvalFlags, status: ReturnType<typeof statusLine>, resultsOnStdout: boolean, keep: (r: EvalResult) => void): RunHooks {
  return {
    say: (line) => status.say(line),
    progress: (total, label, at) => evalProgress(total, io, { quiet: flags.quiet, label, start: at.done, top1: at.top1, top5: at.top5, status }),
    // With an output on stdout (`-`), the table goes to stderr so stdout holds only that output.
    report: (result, outputOnStdout) => {
      keep(result);
      const stdoutTaken = outputOnStdout || resultsOnStdout;
      const stream = stdoutTaken ? io.stderr : io.stdout;
      stream.write(fitToWidth(renderReport(result), terminalColumns(stream)));
    },
    print: (text, stdoutTaken) => (stdoutTaken || resultsOnStdout ? io.stderr : io.stdout).write(text),
  };
}
