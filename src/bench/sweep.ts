/**
 * The sweep stage (issue 12): one `zoo eval A B C ...` over the ReXNet tags that share the bench
 * model's crop (so the sweep decodes each image once for all of them, one model at a time) against
 * one `zoo eval` per tag on the same images, every run a real child process of the CLI, in one bench
 * run. Weights are random (recordGraph's names and shapes) written to a temporary folder; the singles
 * get theirs with --weights, the sweep with `MODEL WEIGHTS` lines in --models-file, so manual-download
 * tags (the clova ReXNets) take part and every run reads the very same files. ZOO_CACHE is a
 * temporary folder too (the sweep's shared crops go there), and every run is --offline.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { encodeSafetensors } from '../models/weights/safetensors.js';
import { allTags, requireArchitecture, resolveModel, type PretrainedTag } from '../models/registry.js';
import { cropGroupKey } from '../run/sweep.js';
import { childEval, linkValFolder } from './stages.js';
import { randomWeights } from './weights.js';

export interface SweepRow {
  /** The tags swept, in order. */
  models: string[];
  images: number;
  /** Wall time of the one multi-model `zoo eval` (s). */
  sweepSeconds: number;
  /** Sum of the wall times of one `zoo eval` per tag (s). */
  singlesSeconds: number;
  /** singles / sweep: >1 means the sweep is faster. */
  ratio: number;
  /** CPU seconds (user + system, the kernel's accounting) of the sweep and of the singles summed; null without /proc. */
  sweepCpuSeconds: number | null;
  singlesCpuSeconds: number | null;
  /** singles / sweep in CPU seconds: what other work on the machine moves least. */
  cpuRatio: number | null;
  /** The sweep process's peak RSS (VmHWM, MB; 0 where /proc is missing). */
  sweepPeakRssMB: number;
  /** The largest peak RSS of the single runs (MB), and whose. */
  singlePeakRssMB: number;
  singlePeakModel: string;
  /** Engine batch size of every run. */
  batchSize: number;
  /** The 1-minute load average when the stage started and when it ended (the machine's other work). */
  loadAverage: [number, number];
  /**
   * Seconds of the work a sweep does once and the singles once per tag (the decode + preprocess pass,
   * process start), estimated from the two runs (CPU seconds where known, else wall):
   * (singles - sweep) / (tags - 1).
   */
  decodeSecondsPerPass: number;
  /** decodeSecondsPerPass over the mean single run: the share of a single run spent decoding. */
  decodeShare: number;
  /** singles / sweep if inference were 10x faster (a GPU) and decode unchanged. */
  gpuProjection: number;
  exitCodes: (number | null)[];
  command: string;
}

/** The tags the sweep can take: the ReXNets whose crop is `key`'s (downloads and manual ones alike). */
export function sweepTags(key: string): PretrainedTag[] {
  return allTags().filter((t) => t.arch.startsWith('rexnet') && t.weights.kind !== 'embedded' && cropGroupKey(t.evalConfig) === key);
}

/** Random weights for `tag` at its eval size, written to `file`. */
async function writeWeights(tag: PretrainedTag, file: string): Promise<void> {
  const arch = requireArchitecture(resolveModel(tag.name));
  const [, h, w] = tag.evalConfig.inputSize;
  await writeFile(file, encodeSafetensors(randomWeights(arch, [h, w])));
}

export async function sweepStage(
  spec: string,
  files: readonly string[],
  opts: { images: number; models: number; batchSize: number; threads: number; workers: number; log: (line: string) => void },
): Promise<SweepRow> {
  const key = cropGroupKey(resolveModel(spec).tag.evalConfig);
  const tags = sweepTags(key).slice(0, opts.models);
  if (tags.length < 2) {
    throw new UsageError(`the sweep stage needs at least 2 downloadable ReXNet tags sharing ${spec}'s preprocessing, found ${tags.length}`, {
      fix: 'run it for a ReXNet, e.g. zoo bench rexnet_100 --stages sweep, with --sweep-models 2 or more',
    });
  }
  const loadAtStart = loadavg()[0]!;
  const dir = await mkdtemp(join(tmpdir(), 'zoo-bench-sweep-'));
  try {
    const weights = new Map<string, string>();
    for (const t of tags) {
      weights.set(t.name, join(dir, `${t.name}.safetensors`));
      await writeWeights(t, weights.get(t.name)!);
    }
    const list = join(dir, 'models.txt');
    await writeFile(list, tags.map((t) => `${t.name} ${t.name}.safetensors\n`).join(''));
    const data = join(dir, 'val');
    await linkValFolder(data, files, opts.images);
    const env = { ...process.env, ZOO_CACHE: join(dir, 'cache') };
    // Each eval keeps its resumable state (and lock) in its working directory: the temporary one, not the user's.
    const cwd = dir;
    const common = ['--data', data, '--offline', '--batch-size', String(opts.batchSize), '--threads', String(opts.threads), '--workers', String(opts.workers), '--quiet'];
    const names = tags.map((t) => t.name);
    let singlesSeconds = 0;
    let singlesCpu: number | null = 0;
    let singlePeak = 0;
    let singlePeakModel = '';
    const singleCodes: (number | null)[] = [];
    const peakOf = (samples: readonly { hwm: number }[]) => samples.reduce((m, s) => Math.max(m, s.hwm), 0);
    const single = async (name: string) => {
      opts.log(`sweep: single zoo eval ${name}, ${opts.images} images`);
      const run = await childEval(['eval', name, '--weights', weights.get(name)!, ...common], 200, env, cwd);
      singlesSeconds += run.seconds;
      singlesCpu = singlesCpu !== null && run.cpuSeconds !== null ? singlesCpu + run.cpuSeconds : null;
      if (peakOf(run.samples) > singlePeak) [singlePeak, singlePeakModel] = [peakOf(run.samples), name];
      singleCodes.push(run.code);
    };
    // The sweep runs between the two halves of the singles, so a change of load in the meantime
    // weighs on both sides alike.
    const half = Math.ceil(names.length / 2);
    for (const name of names.slice(0, half)) await single(name);
    opts.log(`sweep: one zoo eval over ${names.length} models, ${opts.images} images`);
    const sweep = await childEval(['eval', '--models-file', list, ...common], 200, env, cwd);
    for (const name of names.slice(half)) await single(name);
    const exitCodes = [...singleCodes, sweep.code];
    const n = names.length;
    // The GPU projection from CPU seconds where the kernel gives them (less moved by other work).
    const cpuKnown = singlesCpu !== null && sweep.cpuSeconds !== null;
    const singlesCost: number = cpuKnown ? singlesCpu! : singlesSeconds;
    const sweepCost = cpuKnown ? sweep.cpuSeconds! : sweep.seconds;
    const decodeSecondsPerPass = Math.max(0, (singlesCost - sweepCost) / (n - 1));
    const meanSingle = singlesCost / n;
    // The per-model rest (model load, inference) shrinks 10x on a GPU; the work done once does not.
    const rest = Math.max(0, meanSingle - decodeSecondsPerPass);
    const gpuSingles = n * (decodeSecondsPerPass + rest / 10);
    const gpuSweep = decodeSecondsPerPass + (sweepCost - decodeSecondsPerPass) / 10;
    return {
      models: names,
      images: opts.images,
      sweepSeconds: sweep.seconds,
      singlesSeconds,
      ratio: singlesSeconds / sweep.seconds,
      sweepCpuSeconds: cpuKnown ? sweep.cpuSeconds : null,
      singlesCpuSeconds: cpuKnown ? singlesCpu : null,
      cpuRatio: cpuKnown ? singlesCpu! / sweep.cpuSeconds! : null,
      sweepPeakRssMB: peakOf(sweep.samples) / (1024 * 1024),
      singlePeakRssMB: singlePeak / (1024 * 1024),
      singlePeakModel,
      batchSize: opts.batchSize,
      loadAverage: [loadAtStart, loadavg()[0]!],
      decodeSecondsPerPass,
      decodeShare: meanSingle > 0 ? decodeSecondsPerPass / meanSingle : 0,
      gpuProjection: gpuSweep > 0 ? gpuSingles / gpuSweep : 0,
      exitCodes,
      command: `zoo eval --models-file <${names.length} lines "MODEL WEIGHTS"> --data <${opts.images} images> --offline --batch-size ${opts.batchSize} --threads ${opts.threads} --workers ${opts.workers} --quiet (vs one zoo eval MODEL --weights WEIGHTS per model)`,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
