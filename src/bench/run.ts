/**
 * The bench run: resolves the model and images, runs the asked-for stages in an order that keeps
 * them from disturbing one another (light one-core stages first, the end-to-end RSS run before
 * tfjs is loaded, the Python reference last, never concurrently), and derives the ratios.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { discoverDataset, type Sample } from '../data/dataset.js';
import { IMAGE_EXT } from '../data/folder.js';
import { jpegDecoder, type JpegDecoderName } from '../data/jpeg-turbo.js';
import { DataError, UsageError, ZooError } from '../errors.js';
import type { EngineName } from '../engines/engine.js';
import type { EvalConfig } from '../models/eval-config.js';
import { requireArchitecture, resolveModel } from '../models/registry.js';
import type { Rate } from './measure.js';
import { MB } from './measure.js';
import { referencePython, runReference, type ReferenceResult } from './reference.js';
import {
  decodeStage,
  endToEndStage,
  modelFileEndToEndStage,
  fastDifference,
  inferenceStage,
  loadEngine,
  loaderStage,
  cropCacheStage,
  type CropCacheRow,
  preprocessStage,
  startupStage,
  type EndToEnd,
  type PixelDifference,
  type Startup,
  type EvalMemory,
  memoryStage,
} from './stages.js';
import { sweepStage, type SweepRow } from './sweep.js';
import { randomGraph } from './weights.js';

// The stage names live alone in stage-names.ts, so the CLI builds its --stages flag without loading the bench.
import type { BenchStage } from './stage-names.js';

export interface BenchOptions {
  spec: string;
  /** Image folders (at least one). */
  data: readonly string[];
  count: number;
  images: number;
  seconds: number;
  batches: readonly number[];
  batchSize: number;
  engines: readonly EngineName[];
  threads: number;
  workers: number;
  stages: readonly BenchStage[];
  /** The sweep stage: images per run and how many tags to sweep. */
  sweepImages: number;
  sweepModels: number;
  /** Batch size of the sweep stage's runs (the largest ReXNet at batch 32 needs ~1.9 GB for activations alone). */
  sweepBatchSize: number;
  log: (line: string) => void;
}

export interface InferenceRow extends Rate {
  engine: EngineName;
  backend: string;
  batch: number;
}

export interface LoaderRow extends Rate {
  workers: number;
  resize: 'exact' | 'fast';
  /** The workers' JPEG decoder. */
  decoder: JpegDecoderName;
}

export interface BenchResult {
  model: string;
  tag: string;
  evalConfig: EvalConfig;
  machine: { cpu: string; cores: number; memoryMB: number; node: string; platform: string };
  threads: number;
  workers: number;
  data: { root: string; files: number };
  /** The JPEG decoder zoo runs (decode, preprocess and the loader rows without a decoder of their own). */
  decoder: { name: JpegDecoderName; reason: string };
  decode?: Rate;
  preprocess?: Rate;
  /** The same two stages through sharp, timed when the libjpeg-turbo addon is in use: the fallback's figures. */
  decodeSharp?: Rate;
  preprocessSharp?: Rate;
  fast?: Rate & { difference: PixelDifference };
  loader?: LoaderRow[];
  /** The loader decoding vs reading a warm --crop-cache (same images and workers, one run). */
  cropCache?: CropCacheRow;
  inference?: InferenceRow[];
  /** Measurements that could not run (e.g. a batch the wasm heap cannot hold), with the reason. */
  skipped: { what: string; reason: string }[];
  endToEnd?: EndToEnd & {
    /** 1 / (1/preprocess + 1/inference): the two stages back to back on the same cores. */
    backToBack: number | null;
    /** endToEnd / backToBack. */
    efficiency: number | null;
    /** The slower stage alone: what a machine with cores to spare for both would reach. */
    slowerStage: number | null;
    /** The same graph exported to ONNX and run as a model file (zoo eval model.onnx); ratio = file / built-in. */
    modelFile?: { imagesPerSecond: number; ratio: number };
  };
  startup?: Startup;
  /** One `zoo eval` over several ReXNet tags vs one per tag, same images (issue 12). */
  sweep?: SweepRow;
  /** A child `zoo eval` over --images images: peak RSS and growth. */
  memory?: EvalMemory;
  reference?: ReferenceResult;
  /**
   * The one-core ratios again, in images per CPU-second of each process (Rate.imagesPerCpuSecond):
   * the figure to read on a machine other work is loading.
   */
  ratiosPerCpu: { decode?: number; preprocess?: number; decodeSharp?: number; preprocessSharp?: number };
  /** zoo / reference, >1 means zoo is faster. */
  ratios: {
    decode?: number;
    preprocess?: number;
    decodeSharp?: number;
    preprocessSharp?: number;
    /** Each side at its best batch size. */
    inference?: Partial<Record<EngineName, number>>;
  };
}

/** The in-process end-to-end rate needs a few hundred images; --images sizes the (longer) memory run. */
const E2E_IMAGES = 640;

/** Samples of one --data folder: a val layout, or any folder of images (labels do not matter for speed). */
async function folderSamples(data: string): Promise<Sample[]> {
  try {
    return (await discoverDataset(data)).samples;
  } catch (e) {
    if (!(e instanceof DataError)) throw e;
    const root = resolve(data);
    const names = existsSync(root) ? (await readdir(root)).filter((n) => IMAGE_EXT.test(n)).sort() : [];
    if (names.length === 0) throw e;
    return names.map((name) => ({ file: join(root, name), label: 0, name }));
  }
}

/**
 * The bench images: every --data folder, in order. The tool ships no images (ImageNet's are not ours
 * to redistribute); `npm run bench` passes the project's sample folders.
 */
async function benchSamples(data: readonly string[]): Promise<{ root: string; samples: Sample[] }> {
  if (data.length === 0) {
    throw new UsageError('zoo bench needs images', {
      expected: '--data DIR (repeatable, or DIR,DIR): folders of JPEG/PNG images (a val layout or plain images)',
      fix: 'e.g. zoo bench rexnet_100 --data ./ILSVRC2012/val',
    });
  }
  const samples: Sample[] = [];
  for (const dir of data) samples.push(...(await folderSamples(dir)));
  return { root: data.map((d) => resolve(d)).join(', '), samples };
}

function best(rates: readonly { imagesPerSecond: number }[]): number | undefined {
  return rates.length ? Math.max(...rates.map((r) => r.imagesPerSecond)) : undefined;
}

export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const model = resolveModel(opts.spec);
  const arch = requireArchitecture(model);
  const cfg = model.tag.evalConfig;
  const size: [number, number] = [cfg.inputSize[1], cfg.inputSize[2]];
  const { root, samples } = await benchSamples(opts.data);
  const files = samples.map((s) => s.file);
  const has = (s: BenchStage) => opts.stages.includes(s);
  const pre = { minSeconds: 0, minImages: opts.count };
  const decoder = jpegDecoder();
  // With the addon in use, the one-core stages and the loader are timed through sharp as well, so
  // one run gives the figures with and without it.
  const decoders: JpegDecoderName[] = decoder.decoder === 'libjpeg-turbo' ? ['libjpeg-turbo', 'sharp'] : ['sharp'];
  opts.log(`JPEG decoder: ${decoder.decoder} (${decoder.reason})`);
  const result: BenchResult = {
    model: model.tag.arch,
    tag: model.tag.name,
    evalConfig: cfg,
    machine: { cpu: cpus()[0]?.model ?? 'cpu', cores: availableParallelism(), memoryMB: Math.round(totalmem() / MB), node: process.version, platform: `${process.platform}/${process.arch}` },
    threads: opts.threads,
    workers: opts.workers,
    data: { root, files: files.length },
    decoder: { name: decoder.decoder, reason: decoder.reason },
    ratios: {},
    ratiosPerCpu: {},
    skipped: [],
  };

  if (has('decode')) {
    opts.log(`decode, one core, ${opts.count} images`);
    result.decode = await decodeStage(files, pre, decoder.decoder);
    if (decoder.decoder !== 'sharp') {
      opts.log(`decode through sharp, one core, ${opts.count} images`);
      result.decodeSharp = await decodeStage(files, pre, 'sharp');
    }
  }
  if (has('preprocess')) {
    opts.log(`decode + exact preprocess, one core, ${opts.count} images`);
    result.preprocess = await preprocessStage(files, cfg, 'exact', pre);
    if (decoder.decoder !== 'sharp') {
      opts.log(`decode through sharp + exact preprocess, one core, ${opts.count} images`);
      result.preprocessSharp = await preprocessStage(files, cfg, 'exact', pre, 'sharp');
    }
  }
  if (has('fast')) {
    opts.log(`decode + fast (libvips) preprocess, one core, ${opts.count} images`);
    const rate = await preprocessStage(files, cfg, 'fast', pre);
    result.fast = { ...rate, difference: await fastDifference(files.slice(0, 32), cfg) };
  }
  if (has('loader')) {
    result.loader = [];
    const counts = [...new Set([1, opts.workers])];
    for (const name of decoders) {
      for (const workers of counts) {
        opts.log(`loader, ${workers} worker(s), exact, ${name}`);
        const images = Math.max(opts.count * workers, 4 * opts.batchSize);
        result.loader.push({ workers, resize: 'exact', decoder: name, ...(await loaderStage(samples, cfg, { workers, batchSize: opts.batchSize, images, resize: 'exact', decoder: name })) });
      }
    }
  }

  if (has('crop-cache')) {
    const images = Math.max(opts.count * opts.workers, 4 * opts.batchSize);
    opts.log(`loader, ${opts.workers} worker(s): decoding vs a warm --crop-cache, ${images} images`);
    result.cropCache = await cropCacheStage(samples, cfg, { workers: opts.workers, batchSize: opts.batchSize, images });
  }

  // Inference graphs are built once per run; onnxruntime before tfjs so the e2e RSS is onnxruntime's.
  const needsGraph = has('inference') || has('e2e');
  const graph = needsGraph ? randomGraph(arch, size) : undefined;
  let ortAtBatch: number | undefined;
  if (graph && has('inference')) result.inference = [];
  const engines = [...opts.engines].sort((a) => (a === 'onnxruntime' ? -1 : 1));
  for (const engine of engines) {
    if (!graph) break;
    const wantE2e = engine === 'onnxruntime' && has('e2e');
    if (!has('inference') && !wantE2e) continue;
    opts.log(`loading ${engine}`);
    const loaded = await loadEngine(graph, engine, opts.threads);
    try {
      if (has('inference')) {
        for (const batch of opts.batches) {
          opts.log(`inference, ${engine}, batch ${batch}, ${opts.threads} thread(s)`);
          let r: Awaited<ReturnType<typeof inferenceStage>>;
          try {
            r = await inferenceStage(loaded, batch, { minSeconds: opts.seconds, minImages: batch });
          } catch (e) {
            // One engine/batch that cannot run (tfjs wasm's 4 GiB heap at large batches) must not
            // cost the rest of the bench: say why and go on.
            if (!(e instanceof ZooError)) throw e;
            result.skipped.push({ what: `inference, ${engine}, batch ${batch}`, reason: e.oneLine() });
            opts.log(`skipped: ${e.oneLine()}`);
            continue;
          }
          result.inference!.push({ engine, backend: loaded.backend, batch, ...r });
          if (engine === 'onnxruntime' && batch === opts.batchSize) ortAtBatch = r.imagesPerSecond;
        }
      }
      if (wantE2e) {
        // The back-to-back model needs inference at the end-to-end batch size.
        ortAtBatch ??= (await inferenceStage(loaded, opts.batchSize, { minSeconds: opts.seconds, minImages: opts.batchSize })).imagesPerSecond;
        const images = Math.min(opts.images, E2E_IMAGES);
        opts.log(`end to end, ${images} images, ${opts.workers} worker(s), batch ${opts.batchSize}`);
        // The built-in model and the model file run the very same loop.
        const e2eOpts = { workers: opts.workers, batchSize: opts.batchSize, images, resize: 'exact' as const, memorySkip: Math.min(1000, Math.floor(opts.images / 4)) };
        const e2e = await endToEndStage(samples, cfg, loaded, e2eOpts);
        // The back-to-back model needs the loader's rate on all workers: measure it if the loader stage did not.
        const preAll =
          result.loader?.find((l) => l.workers === opts.workers && l.decoder === decoder.decoder)?.imagesPerSecond ??
          (await loaderStage(samples, cfg, { workers: opts.workers, batchSize: opts.batchSize, images: Math.max(opts.count * opts.workers, 4 * opts.batchSize), resize: 'exact' })).imagesPerSecond;
        const backToBack = preAll && ortAtBatch ? 1 / (1 / preAll + 1 / ortAtBatch) : null;
        opts.log(`end to end, the same graph as an ONNX model file (zoo eval model.onnx), ${images} images`);
        const fileE2e = await modelFileEndToEndStage(graph, samples, cfg, opts.threads, e2eOpts);
        result.endToEnd = {
          ...e2e,
          backToBack,
          efficiency: backToBack ? e2e.imagesPerSecond / backToBack : null,
          slowerStage: preAll && ortAtBatch ? Math.min(preAll, ortAtBatch) : null,
          modelFile: { imagesPerSecond: fileE2e.imagesPerSecond, ratio: fileE2e.imagesPerSecond / e2e.imagesPerSecond },
        };
      }
    } finally {
      await loaded.dispose();
    }
  }

  if (has('memory')) {
    opts.log(`memory: zoo eval over ${opts.images} images, RSS sampled every 200 ms`);
    result.memory = await memoryStage(model.tag.name, arch, cfg, files, {
      images: opts.images,
      batchSize: opts.batchSize,
      threads: opts.threads,
      workers: opts.workers,
      skip: Math.min(1000, Math.floor(opts.images / 4)),
    });
  }
  if (has('startup')) {
    opts.log('start-up: zoo eval on local weights, one batch');
    result.startup = await startupStage(model.tag.name, arch, cfg, files, opts.batchSize, opts.threads);
  }

  if (has('sweep')) {
    result.sweep = await sweepStage(opts.spec, files, {
      images: opts.sweepImages,
      models: opts.sweepModels,
      batchSize: opts.sweepBatchSize,
      threads: opts.threads,
      workers: opts.workers,
      log: opts.log,
    });
  }

  if (has('reference')) {
    opts.log(`reference: Pillow + torchvision + PyTorch eager (${referencePython()} bench/reference.py)`);
    const stages = (['decode', 'preprocess', 'inference'] as const).filter((s) => has(s));
    result.reference = await runReference({
      files,
      count: opts.count,
      cfg,
      model: model.tag.arch,
      threads: opts.threads,
      batches: opts.batches,
      seconds: opts.seconds,
      preSeconds: 0,
      stages,
    });
    const ref = result.reference;
    if (ref.decode && result.decode) result.ratios.decode = result.decode.imagesPerSecond / ref.decode.imagesPerSecond;
    if (ref.preprocess && result.preprocess) result.ratios.preprocess = result.preprocess.imagesPerSecond / ref.preprocess.imagesPerSecond;
    if (ref.decode && result.decodeSharp) result.ratios.decodeSharp = result.decodeSharp.imagesPerSecond / ref.decode.imagesPerSecond;
    if (ref.preprocess && result.preprocessSharp) result.ratios.preprocessSharp = result.preprocessSharp.imagesPerSecond / ref.preprocess.imagesPerSecond;
    const perCpu = (ours: Rate | undefined, theirs: Rate | undefined) => (ours?.imagesPerCpuSecond && theirs?.imagesPerCpuSecond ? ours.imagesPerCpuSecond / theirs.imagesPerCpuSecond : undefined);
    const cpuRatios = {
      decode: perCpu(result.decode, ref.decode),
      preprocess: perCpu(result.preprocess, ref.preprocess),
      decodeSharp: perCpu(result.decodeSharp, ref.decode),
      preprocessSharp: perCpu(result.preprocessSharp, ref.preprocess),
    };
    for (const [k, v] of Object.entries(cpuRatios)) if (v !== undefined) result.ratiosPerCpu[k as keyof typeof cpuRatios] = v;
    const refBest = best(ref.inference ?? []);
    if (refBest && result.inference) {
      result.ratios.inference = {};
      for (const engine of opts.engines) {
        const ours = best(result.inference.filter((r) => r.engine === engine));
        if (ours) result.ratios.inference[engine] = ours / refBest;
      }
    }
  }
  return result;
}
