/**
 * `zoo eval <model> --data PATH`: the whole run. Data discovery and the model load happen first so
 * their errors come before any work; then the loader decodes and preprocesses ahead on worker
 * threads while the engine runs the current batch (decode overlaps inference), metrics stream,
 * and the run ends with a table, optional --json / --predictions files, and the exit code.
 */
import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { Command, Option } from 'commander';
import { discoverDataset, VAL_SIZE } from '../data/dataset.js';
import { createLoader } from '../data/loader.js';
import { selectSubset } from '../data/subset.js';
import { UsageError } from '../errors.js';
import { compareWithPublished } from '../metrics/compare.js';
import { TopKAccumulator } from '../metrics/topk.js';
import { primaryPublished, resolveModel } from '../models/registry.js';
import type { Io, Wrap } from './main.js';
import { loadModel } from './model.js';
import { evalProgress } from './progress.js';
import { buildResult, renderReport, writeJsonAtomic, writePredictions } from './report.js';
import {
  applyOverrides,
  engineOptions,
  positiveInt,
  preprocessOptions,
  type EngineFlags,
  type PreprocessFlags,
} from './options.js';

export interface EvalFlags extends EngineFlags, PreprocessFlags {
  data?: string;
  weights?: string;
  batchSize: number;
  workers?: number;
  limit?: number;
  labels?: string;
  json?: string;
  predictions?: string;
  offline?: boolean;
  quiet?: boolean;
}

export function evalCommand(io: Io, wrap: Wrap): Command {
  const cmd = new Command('eval')
    .description('evaluate a model on ImageNet val (top-1/top-5) and compare with its published numbers')
    .argument('<model>', 'architecture (its default tag) or arch.tag, e.g. rexnet_100 or rexnet_100.nav_in1k')
    .addOption(new Option('--data <path>', 'ImageNet val: ImageFolder tree, flat ILSVRC2012_val_*.JPEG folder, or a parent holding val/'))
    .addOption(new Option('--weights <file>', "checkpoint (.safetensors, .pth, .pth.tar, .pdparams); default: the tag's download"))
    .addOption(new Option('--batch-size <n>', 'images per engine call').argParser(positiveInt).default(32))
    .addOption(new Option('--workers <n>', 'decode/preprocess threads (default: number of cores)').argParser(positiveInt))
    .addOption(new Option('--limit <n>', 'evaluate only the first N images in val order').argParser(positiveInt))
    .addOption(new Option('--labels <file>', 'ground truth for a flat folder (val.txt form: "<file> <label>")'));
  for (const o of preprocessOptions()) cmd.addOption(o);
  for (const o of engineOptions()) cmd.addOption(o);
  return cmd
    .addOption(new Option('--json <file>', 'write the result as JSON'))
    .addOption(new Option('--predictions <file>', 'write per-image top-5 as CSV: file,label,top1,...,top5,margin'))
    .addOption(new Option('--offline', 'never touch the network (weights must be cached or given)'))
    .addOption(new Option('--quiet', 'no progress output'))
    .addHelpText(
      'after',
      '\nExamples:\n  zoo eval rexnet_100 --data ./ILSVRC2012\n' +
        '  zoo eval resnext50_32x4d.tv2_in1k --data ./val --limit 5000 --json result.json\n' +
        '  zoo eval rexnetv1_1.0x --weights rexnetv1_1.0x.pth --data ./val --device cuda\n',
    )
    .action(wrap((spec: string, flags: EvalFlags) => runEval(spec, flags, io)));
}

export async function runEval(spec: string, flags: EvalFlags, io: Io): Promise<number> {
  // Wall time is the user's wait: discovery, weights, model load and the loop.
  const started = performance.now();
  const model = resolveModel(spec);
  if (!flags.data) {
    throw new UsageError('missing --data PATH', {
      expected: 'the ImageNet val images: an ImageFolder tree, a flat folder of ILSVRC2012_val_*.JPEG, or a parent holding val/',
      fix: `e.g. zoo eval ${spec} --data ./ILSVRC2012`,
    });
  }
  const cfg = applyOverrides(model.tag.evalConfig, flags);
  const dataset = await discoverDataset(flags.data, flags.labels ? { labels: flags.labels } : {});
  for (const w of dataset.warnings) io.stderr.write(`zoo: warning: ${w}\n`);
  const samples = flags.limit ? selectSubset(dataset.samples, { limit: flags.limit }) : dataset.samples;

  const run = await loadModel(model, [cfg.inputSize[1], cfg.inputSize[2]], flags);
  if (run.note && !flags.quiet) io.stderr.write(`zoo: note: ${run.note}\n`);
  const workers = flags.workers ?? availableParallelism();
  const acc = new TopKAccumulator(1000, samples.length);
  const progress = evalProgress(samples.length, io, { quiet: flags.quiet, label: model.tag.name });
  // Throughput counts from here: decode, preprocess and inference together, model load excluded.
  const loopStart = performance.now();
  const loader = createLoader(samples, cfg, { batchSize: flags.batchSize, workers });
  try {
    for await (const batch of loader) {
      // The loader's batches live in a SharedArrayBuffer (workers write into them); onnxruntime-node
      // rejects shared memory as tensor data, so hand the engine an ordinary copy.
      const input = batch.data.buffer instanceof SharedArrayBuffer ? new Float32Array(batch.data) : batch.data;
      const logits = await run.model.run(input, batch.n);
      acc.add(logits, batch.samples.map((s) => s.label));
      progress.update(acc.count, acc.top1, acc.top5);
    }
  } finally {
    progress.stop();
    await loader.close();
    await run.model.dispose();
  }
  const ended = performance.now();

  const subset = samples.length < VAL_SIZE;
  const comparison = compareWithPublished(
    { images: acc.count, top1Correct: acc.top1Correct, top5Correct: acc.top5Correct },
    primaryPublished(model.tag, cfg),
    subset,
  );
  const result = buildResult({
    model,
    cfg,
    acc,
    comparison,
    params: run.graph.params,
    weightsFile: run.file,
    backend: run.model.backend,
    device: run.model.device,
    engine: run.model.engine,
    batchSize: flags.batchSize,
    workers,
    dataset: { root: dataset.root, layout: dataset.layout, found: dataset.samples.length, warnings: dataset.warnings },
    limit: flags.limit ?? null,
    wallSeconds: (ended - started) / 1000,
    imagesPerSecond: acc.count / Math.max(1e-9, (ended - loopStart) / 1000),
  });
  io.stdout.write(renderReport(result));
  if (flags.json) await writeJsonAtomic(flags.json, result);
  if (flags.predictions) {
    await writePredictions(flags.predictions, acc, samples.map((s) => relative(dataset.root, s.file)));
  }
  return 0;
}
