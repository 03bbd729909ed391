/**
 * The sweep stage (issue 12): one `zoo eval A B C ...` over the ReXNet tags that share the bench
 * model's preprocessing (so the sweep decodes each image once for all of them) against one
 * `zoo eval` per tag on the same images, every run a real child process of the CLI, in one bench run.
 * Weights are random (recordGraph's names and shapes) written where the weights cache expects each
 * tag's download in a temporary ZOO_CACHE, and every run is --offline: nothing is downloaded, and
 * the singles and the sweep read the very same files.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import { encodeSafetensors } from '../models/weights/safetensors.js';
import { cachePathFor } from '../models/weights/cache.js';
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
  /** The sweep process's peak RSS (VmHWM, MB; 0 where /proc is missing). */
  sweepPeakRssMB: number;
  /** The largest peak RSS of the single runs (MB). */
  singlePeakRssMB: number;
  /**
   * Seconds of the work a sweep does once and the singles once per tag (the decode + preprocess pass,
   * process start), estimated from the two runs: (singles - sweep) / (tags - 1).
   */
  decodeSecondsPerPass: number;
  /** decodeSecondsPerPass over the mean single run: the share of a single run spent decoding. */
  decodeShare: number;
  /** singles / sweep if inference were 10x faster (a GPU) and decode unchanged. */
  gpuProjection: number;
  exitCodes: (number | null)[];
  command: string;
}

/** The tags the sweep can take: downloadable (no manual --weights) ReXNets with `key`'s preprocessing. */
export function sweepTags(key: string): PretrainedTag[] {
  return allTags().filter((t) => t.arch.startsWith('rexnet') && (t.weights.kind === 'hf' || t.weights.kind === 'url') && cropGroupKey(t.evalConfig) === key);
}

/** Random weights for `tag` at the path `--offline` reads its download from, under `cache`. */
async function placeWeights(tag: PretrainedTag, cache: string): Promise<void> {
  const w = tag.weights;
  if (w.kind !== 'hf' && w.kind !== 'url') return;
  const saved = process.env.ZOO_CACHE;
  process.env.ZOO_CACHE = cache;
  let target: string;
  try {
    target = cachePathFor(w);
  } finally {
    if (saved === undefined) delete process.env.ZOO_CACHE;
    else process.env.ZOO_CACHE = saved;
  }
  const arch = requireArchitecture(resolveModel(tag.name));
  const [, h, wd] = tag.evalConfig.inputSize;
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, encodeSafetensors(randomWeights(arch, [h, wd])));
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
  const dir = await mkdtemp(join(tmpdir(), 'zoo-bench-sweep-'));
  try {
    const cache = join(dir, 'cache');
    for (const t of tags) await placeWeights(t, cache);
    const data = join(dir, 'val');
    await linkValFolder(data, files, opts.images);
    const env = { ...process.env, ZOO_CACHE: cache };
    // Each eval keeps its resumable state (and lock) in its working directory: the temporary one, not the user's.
    const cwd = dir;
    const common = ['--data', data, '--offline', '--batch-size', String(opts.batchSize), '--threads', String(opts.threads), '--workers', String(opts.workers), '--quiet'];
    const names = tags.map((t) => t.name);
    let singlesSeconds = 0;
    let singlePeak = 0;
    const exitCodes: (number | null)[] = [];
    for (const name of names) {
      opts.log(`sweep: single zoo eval ${name}, ${opts.images} images`);
      const run = await childEval(['eval', name, ...common], 200, env, cwd);
      singlesSeconds += run.seconds;
      singlePeak = Math.max(singlePeak, ...run.samples.map((s) => s.hwm));
      exitCodes.push(run.code);
    }
    opts.log(`sweep: one zoo eval over ${names.length} models, ${opts.images} images`);
    const sweep = await childEval(['eval', ...names, ...common], 200, env, cwd);
    exitCodes.push(sweep.code);
    const n = names.length;
    const decodeSecondsPerPass = Math.max(0, (singlesSeconds - sweep.seconds) / (n - 1));
    const meanSingle = singlesSeconds / n;
    // The per-model rest (model load, inference) shrinks 10x on a GPU; the shared pass does not.
    const rest = Math.max(0, meanSingle - decodeSecondsPerPass);
    const gpuSingles = n * (decodeSecondsPerPass + rest / 10);
    const gpuSweep = decodeSecondsPerPass + (sweep.seconds - decodeSecondsPerPass) / 10;
    return {
      models: names,
      images: opts.images,
      sweepSeconds: sweep.seconds,
      singlesSeconds,
      ratio: singlesSeconds / sweep.seconds,
      sweepPeakRssMB: sweep.samples.reduce((m, s) => Math.max(m, s.hwm), 0) / (1024 * 1024),
      singlePeakRssMB: singlePeak / (1024 * 1024),
      decodeSecondsPerPass,
      decodeShare: meanSingle > 0 ? decodeSecondsPerPass / meanSingle : 0,
      gpuProjection: gpuSweep > 0 ? gpuSingles / gpuSweep : 0,
      exitCodes,
      command: `zoo eval ${names.join(' ')} --data <${opts.images} images> --offline --batch-size ${opts.batchSize} --threads ${opts.threads} --workers ${opts.workers} --quiet (vs one zoo eval per model)`,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
