/**
 * The bench's measurements, one function per stage. Each runs the production code path (decodeRgb,
 * cropResize + normalizeInto, createLoader, the engines, the eval loop of src/run) rather than a copy of it.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sample } from '../data/dataset.js';
import type { JpegDecoderName } from '../data/jpeg-turbo.js';
import { createLoader, type LoaderStats } from '../data/loader.js';
import { fastCrop, type ResizeMode } from '../data/pipeline.js';
import type { EngineName, LoadedModel } from '../engines/engine.js';
import { getEngine } from '../engines/index.js';
import type { Architecture } from '../models/arch.js';
import type { EvalConfig } from '../models/eval-config.js';
import type { Graph } from '../models/graph.js';
import { encodeSafetensors } from '../models/weights/safetensors.js';
import { TopKAccumulator } from '../metrics/topk.js';
import { runLoop } from '../run/loop.js';
import { imageCode, inOneCoreWorker, type StageOptions } from './one-core.js';
import { measureRate, memoryFigures, type MemoryFigures, type Rate, type RssPoint } from './measure.js';
import { randomWeights } from './weights.js';

/** `n` samples cycling through `samples` (a long run from a few sample images). */
export function repeatSamples(samples: readonly Sample[], n: number): Sample[] {
  return Array.from({ length: n }, (_, i) => samples[i % samples.length]!);
}

/**
 * Decode alone, one image at a time on one core (a worker thread of its own, see one-core.ts), with
 * `decoder` for JPEGs (undefined: the one zoo runs; the bench also times sharp when the addon is in use).
 */
export async function decodeStage(files: readonly string[], opts: StageOptions, decoder?: JpegDecoderName): Promise<Rate> {
  return inOneCoreWorker({ stage: 'decode', files, opts, ...(decoder ? { decoder } : {}) });
}

/**
 * Decode + resize + crop + normalise, one image at a time on one core: a loader worker's work per
 * image, where a loader worker does it (one-core.ts), which makes it the loader's "1 core" yardstick.
 */
export async function preprocessStage(files: readonly string[], cfg: EvalConfig, resize: ResizeMode, opts: StageOptions, decoder?: JpegDecoderName): Promise<Rate> {
  return inOneCoreWorker({ stage: 'preprocess', files, cfg, resize, opts, ...(decoder ? { decoder } : {}) });
}

export interface PixelDifference {
  images: number;
  /** Mean |fast - exact| over all bytes of the uint8 crops. */
  meanAbs: number;
  maxAbs: number;
  /** Fraction of bytes that differ at all. */
  differing: number;
}

/** How far the fast resize's crops are from the exact (Pillow-identical) ones. */
export async function fastDifference(files: readonly string[], cfg: EvalConfig): Promise<PixelDifference> {
  const { decodeRgb, cropResize } = await imageCode();
  let sum = 0;
  let max = 0;
  let diff = 0;
  let bytes = 0;
  for (const f of files) {
    const exact = cropResize(await decodeRgb(f), cfg).data;
    const fast = (await fastCrop(f, cfg)).data;
    for (let i = 0; i < exact.length; i++) {
      const d = Math.abs(exact[i]! - fast[i]!);
      sum += d;
      if (d > max) max = d;
      if (d) diff++;
    }
    bytes += exact.length;
  }
  return { images: files.length, meanAbs: sum / bytes, maxAbs: max, differing: diff / bytes };
}

/**
 * The real loader (worker threads writing into shared batches), its batches discarded. `decoder`
 * forces the workers' JPEG decoder through ZOO_DECODER, which a worker reads from the copy of the
 * environment it gets at start-up (all start inside createLoader); restored once they have.
 */
export async function loaderStage(
  samples: readonly Sample[],
  cfg: EvalConfig,
  opts: { workers: number; batchSize: number; images: number; resize: ResizeMode; decoder?: JpegDecoderName; cropCache?: string },
): Promise<Rate & { stats: LoaderStats }> {
  const run = repeatSamples(samples, opts.images);
  const before = process.env.ZOO_DECODER;
  if (opts.decoder) process.env.ZOO_DECODER = opts.decoder === 'sharp' ? 'sharp' : 'turbo';
  let loader: ReturnType<typeof createLoader>;
  try {
    loader = createLoader(run, cfg, { batchSize: opts.batchSize, workers: opts.workers, resize: opts.resize, ...(opts.cropCache ? { cropCache: opts.cropCache } : {}) });
  } finally {
    if (before === undefined) delete process.env.ZOO_DECODER;
    else process.env.ZOO_DECODER = before;
  }
  // Worker start-up is a one-time cost: time from the first batch on.
  // CPU time of the whole process over the same span (workers, main thread, libuv's pool): per CPU-s
  // against the one-core stage's, it says what the loader costs beyond the per-image work, whatever
  // else is loading the machine; the wall rate alone needs the cores to be free.
  // The clocks stop at the last batch, before the loader's close() stops the workers.
  let images = 0;
  let start = 0;
  let end = 0;
  let cpuStart = process.cpuUsage();
  let cpu = cpuStart;
  let first = true;
  for await (const b of loader) {
    if (first) {
      first = false;
      start = performance.now();
      cpuStart = process.cpuUsage();
      continue;
    }
    images += b.n;
    end = performance.now();
    cpu = process.cpuUsage(cpuStart);
  }
  const seconds = (end - start) / 1000;
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { imagesPerSecond: images / seconds, images, seconds, cpuSeconds, imagesPerCpuSecond: images / cpuSeconds, stats: loader.stats() };
}

export interface CropCacheRow {
  workers: number;
  images: number;
  /** The loader decoding (no cache), images/s. */
  decoding: number;
  /** The loader reading a warm crop cache, images/s. */
  warm: number;
  /** warm / decoding. */
  ratio: number;
  /** Images the warm run decoded after all (0 when the cache served every one). */
  decodedWhenWarm: number;
}

/**
 * The loader stage decoding vs reading a warm --crop-cache, same images, same workers, one run: the
 * cache is filled by a first pass over the images (untimed), in a temporary directory removed after.
 */
export async function cropCacheStage(samples: readonly Sample[], cfg: EvalConfig, opts: { workers: number; batchSize: number; images: number }): Promise<CropCacheRow> {
  const dir = await mkdtemp(join(tmpdir(), 'zoo-bench-crops-'));
  try {
    const fill = createLoader(samples, cfg, { batchSize: opts.batchSize, workers: opts.workers, cropCache: dir });
    for await (const _ of fill) void _;
    const common = { workers: opts.workers, batchSize: opts.batchSize, images: opts.images, resize: 'exact' as const };
    const decoding = await loaderStage(samples, cfg, common);
    const warm = await loaderStage(samples, cfg, { ...common, cropCache: dir });
    return {
      workers: opts.workers,
      images: opts.images,
      decoding: decoding.imagesPerSecond,
      warm: warm.imagesPerSecond,
      ratio: warm.imagesPerSecond / decoding.imagesPerSecond,
      decodedWhenWarm: warm.stats.cacheMisses + warm.stats.cacheBad,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function loadEngine(graph: Graph, engine: EngineName, threads: number): Promise<LoadedModel> {
  return (await getEngine(engine)).load(graph, { device: 'cpu', threads });
}

/** Inference alone on random normalised input, whole batches, after one warm-up batch. */
export async function inferenceStage(model: LoadedModel, batch: number, opts: StageOptions): Promise<Rate> {
  const [c, h, w] = model.inputShape;
  const input = new Float32Array(batch * c * h * w);
  for (let i = 0; i < input.length; i++) input[i] = Math.sin(i) * 2;
  return measureRate(
    async () => {
      await model.run(input, batch);
      return batch;
    },
    { minSeconds: opts.minSeconds, minImages: Math.max(opts.minImages, 2 * batch), warmup: 1 },
  );
}

export interface EndToEnd extends Rate {
  workers: number;
  batchSize: number;
  firstBatchSeconds: number;
  memory: MemoryFigures;
}

/**
 * What `zoo eval` does between model load and report: the loader on `workers` threads feeding the
 * engine batch by batch (the next batches decode while this one runs), top-k accumulated. RSS is
 * sampled after every batch.
 */
export async function endToEndStage(
  samples: readonly Sample[],
  cfg: EvalConfig,
  model: LoadedModel,
  opts: { workers: number; batchSize: number; images: number; resize: ResizeMode; memorySkip: number },
): Promise<EndToEnd> {
  const run = repeatSamples(samples, opts.images);
  const acc = new TopKAccumulator(1000, run.length);
  const points: RssPoint[] = [{ images: 0, rssBytes: process.memoryUsage.rss() }];
  const start = performance.now();
  let firstBatch = 0;
  const loader = createLoader(run, cfg, { batchSize: opts.batchSize, workers: opts.workers, resize: opts.resize });
  try {
    // eval's own loop: each batch to the engine as it is, its logits ranked and counted.
    await runLoop(loader, [{ model, topk: acc, metrics: null }], () => {
      if (firstBatch === 0) firstBatch = performance.now();
      points.push({ images: acc.count, rssBytes: process.memoryUsage.rss() });
    });
  } finally {
    await loader.close();
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    imagesPerSecond: acc.count / seconds,
    images: acc.count,
    seconds,
    workers: opts.workers,
    batchSize: opts.batchSize,
    firstBatchSeconds: (firstBatch - start) / 1000,
    memory: memoryFigures(points, opts.memorySkip),
  };
}

/**
 * The same graph as a model file: exported to ONNX (what `zoo export` writes), opened the way
 * `zoo eval model.onnx` opens a file (its own reader, session and input adapters), and run through
 * the same end-to-end loop. Against the built-in path's e2e it says what a model file costs.
 */
export async function modelFileEndToEndStage(
  graph: Graph,
  samples: readonly Sample[],
  cfg: EvalConfig,
  threads: number,
  opts: { workers: number; batchSize: number; images: number; resize: ResizeMode; memorySkip: number },
): Promise<EndToEnd> {
  const { graphToOnnx } = await import('../engines/onnxruntime/lower.js');
  const { openOnnxFile } = await import('../engines/onnxruntime/file.js');
  const { planInput } = await import('../models/file/adapters.js');
  const dir = await mkdtemp(join(tmpdir(), 'zoo-bench-file-'));
  try {
    const file = join(dir, 'model.onnx');
    await writeFile(file, graphToOnnx(graph));
    const opened = await openOnnxFile(file, { device: 'cpu', threads });
    const model = opened.runner(planInput(opened.inputs[0]!), opened.outputs[0]!.name, [3, cfg.inputSize[1], cfg.inputSize[2]]);
    try {
      return await endToEndStage(samples, cfg, model, opts);
    } finally {
      await model.dispose();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface Startup {
  /** Wall time of `zoo eval <model> --weights <local file> --limit <batch>`: start, load, one batch, report, exit. */
  seconds: number;
  command: string;
  exitCode: number | null;
  weightsMB: number;
}

export interface EvalMemory {
  command: string;
  exitCode: number | null;
  images: number;
  /** zoo eval's own images/s (loop only, model load excluded), from its --json. */
  imagesPerSecond: number | null;
  /** Highest VmHWM seen while sampling /proc/<pid>/status every 200 ms. */
  peakRssMB: number;
  memory: MemoryFigures;
}

const ZOO_BIN = fileURLToPath(new URL('../../bin/zoo.js', import.meta.url));

/** `n` links to the bench images under real val names (so the bundled ground truth labels them) in `data`. */
export async function linkValFolder(data: string, files: readonly string[], n: number): Promise<void> {
  await mkdir(data, { recursive: true });
  for (let i = 0; i < n; i++) {
    await symlink(files[i % files.length]!, join(data, `ILSVRC2012_val_${String(i + 1).padStart(8, '0')}.JPEG`));
  }
}

/** A temporary flat val folder of `n` links to the bench images and a random-weights checkpoint. */
async function evalFixture(modelName: string, arch: Architecture, cfg: EvalConfig, files: readonly string[], n: number) {
  const dir = await mkdtemp(join(tmpdir(), 'zoo-bench-'));
  const weights = encodeSafetensors(randomWeights(arch, [cfg.inputSize[1], cfg.inputSize[2]]));
  const weightsFile = join(dir, `${modelName}.safetensors`);
  await writeFile(weightsFile, weights);
  const data = join(dir, 'val');
  await linkValFolder(data, files, n);
  return { dir, weightsFile, data, weightsMB: weights.byteLength / (1024 * 1024), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

function procStatusKB(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds (user + system) of this process's children that have ended and been reaped (Linux
 * /proc/self/stat cutime + cstime, in USER_HZ = 100 ticks a second); null elsewhere.
 */
function reapedChildrenCpuSeconds(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return null;
  }
}

/**
 * Runs a child `zoo eval`, sampling its RSS every `sampleMs` (Linux /proc; none elsewhere); `cpuSeconds`
 * is the child's own user + system time as the kernel accounts it (null where /proc is missing),
 * which other work on the machine changes far less than the wall time.
 */
export async function childEval(
  args: readonly string[],
  sampleMs: number,
  env?: NodeJS.ProcessEnv,
  cwd?: string,
): Promise<{ code: number | null; seconds: number; cpuSeconds: number | null; samples: { t: number; rss: number; hwm: number }[] }> {
  const cpuBefore = reapedChildrenCpuSeconds();
  const start = performance.now();
  const samples: { t: number; rss: number; hwm: number }[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [ZOO_BIN, ...args], { stdio: ['ignore', 'ignore', 'inherit'], ...(env ? { env } : {}), ...(cwd ? { cwd } : {}) });
    const timer = setInterval(() => {
      const rss = procStatusKB(child.pid!, 'VmRSS');
      const hwm = procStatusKB(child.pid!, 'VmHWM');
      if (rss !== undefined && hwm !== undefined) samples.push({ t: (performance.now() - start) / 1000, rss: rss * 1024, hwm: hwm * 1024 });
    }, sampleMs);
    child.on('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
    child.on('exit', (c) => {
      clearInterval(timer);
      resolve(c);
    });
  });
  const seconds = (performance.now() - start) / 1000;
  const cpuAfter = reapedChildrenCpuSeconds();
  return { code, seconds, cpuSeconds: cpuBefore !== null && cpuAfter !== null ? cpuAfter - cpuBefore : null, samples };
}

/**
 * Time from command start to first batch done, as a user sees it: a child `zoo eval` on a local
 * weights file (random values, the architecture's real names and shapes) over one batch of images.
 * An upper bound: it includes the report and exit.
 */
export async function startupStage(
  modelName: string,
  arch: Architecture,
  cfg: EvalConfig,
  files: readonly string[],
  batchSize: number,
  threads: number,
): Promise<Startup> {
  const fx = await evalFixture(modelName, arch, cfg, files, batchSize);
  try {
    const args = ['eval', modelName, '--weights', fx.weightsFile, '--data', fx.data, '--limit', String(batchSize), '--batch-size', String(batchSize), '--threads', String(threads), '--quiet'];
    const run = await childEval(args, 1000);
    return {
      seconds: run.seconds,
      command: `zoo eval ${modelName} --weights <local ${fx.weightsMB.toFixed(0)} MB> --data <${batchSize} images> --limit ${batchSize} --batch-size ${batchSize} --threads ${threads} --quiet`,
      exitCode: run.code,
      weightsMB: fx.weightsMB,
    };
  } finally {
    await fx.cleanup();
  }
}

/**
 * Memory of a real `zoo eval` over `images` images (the bench images linked again and again):
 * peak RSS, and the RSS growth per 1,000 images after the first `skip` (RSS regressed on time in
 * steady state, converted to images with the run's own rate).
 */
export async function memoryStage(
  modelName: string,
  arch: Architecture,
  cfg: EvalConfig,
  files: readonly string[],
  opts: { images: number; batchSize: number; threads: number; workers: number; skip: number },
): Promise<EvalMemory> {
  const fx = await evalFixture(modelName, arch, cfg, files, opts.images);
  try {
    const json = join(fx.dir, 'result.json');
    const args = ['eval', modelName, '--weights', fx.weightsFile, '--data', fx.data, '--batch-size', String(opts.batchSize), '--threads', String(opts.threads), '--workers', String(opts.workers), '--quiet', '--json', json];
    const run = await childEval(args, 200);
    let rate: number | null = null;
    try {
      const j = JSON.parse(readFileSync(json, 'utf8')) as { images_per_sec?: number; imagesPerSecond?: number };
      rate = j.images_per_sec ?? j.imagesPerSecond ?? null;
    } catch {
      rate = null;
    }
    // Map time to images: the loop starts when RSS stops jumping (model loaded); from the end back at the loop's rate.
    const end = run.samples.at(-1)?.t ?? run.seconds;
    const points: RssPoint[] = rate
      ? run.samples.map((s) => ({ images: Math.max(0, opts.images - (end - s.t) * rate!), rssBytes: s.rss }))
      : [];
    const memory = memoryFigures(points, opts.skip);
    const peak = run.samples.reduce((m, s) => Math.max(m, s.hwm), 0) / (1024 * 1024);
    return {
      command: `zoo eval ${modelName} --weights <local> --data <${opts.images} images> --batch-size ${opts.batchSize} --threads ${opts.threads} --workers ${opts.workers} --quiet --json`,
      exitCode: run.code,
      images: opts.images,
      imagesPerSecond: rate,
      peakRssMB: peak,
      memory,
    };
  } finally {
    await fx.cleanup();
  }
}
