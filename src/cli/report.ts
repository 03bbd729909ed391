/**
 * The result of an eval run: the JSON object (timm's validate.py field names first, then ours), the
 * final table, and the per-image predictions CSV.
 */
import { rename, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import type { Device, EngineName } from '../engines/engine.js';
import type { Comparison } from '../metrics/compare.js';
import type { TopKAccumulator } from '../metrics/topk.js';
import type { EvalConfig } from '../models/eval-config.js';
import type { ResolvedModel } from '../models/registry.js';
import { duration, pct, renderTable, signed } from './format.js';

export interface EvalResult {
  // timm validate.py's results row
  model: string;
  top1: number;
  top1_err: number;
  top5: number;
  top5_err: number;
  param_count: number;
  img_size: number;
  crop_pct: number;
  interpolation: string;
  // ours
  tag: string;
  arch: string;
  images: number;
  top1_correct: number;
  top5_correct: number;
  subset: boolean;
  /** Every image of the full val set, with no data warnings. */
  complete: boolean;
  top1_interval: [number, number];
  top5_interval: [number, number];
  published: {
    source: string;
    dataset: string;
    img_size: number;
    crop_pct: number;
    top1: number;
    top5: number | null;
    top1_diff: number;
    top5_diff: number | null;
    consistent_top1: boolean | null;
    consistent_top5: boolean | null;
  } | null;
  eval_config: EvalConfig;
  weights: string;
  engine: EngineName;
  backend: string;
  device: Device;
  batch_size: number;
  workers: number;
  limit: number | null;
  data: { root: string; layout: string; found: number; warnings: string[] };
  images_per_sec: number;
  wall_s: number;
}

export interface ResultInputs {
  model: ResolvedModel;
  cfg: EvalConfig;
  acc: TopKAccumulator;
  comparison: Comparison;
  params: number;
  weightsFile: string;
  engine: EngineName;
  backend: string;
  device: Device;
  batchSize: number;
  workers: number;
  dataset: { root: string; layout: string; found: number; warnings: string[] };
  limit: number | null;
  wallSeconds: number;
  imagesPerSecond: number;
}

/** timm rounds its results to 4 decimals; so do we. */
const r4 = (v: number) => Math.round(v * 1e4) / 1e4;

export function buildResult(i: ResultInputs): EvalResult {
  const { acc, comparison: c } = i;
  const ref = c.reference;
  return {
    model: i.model.tag.name,
    top1: r4(acc.top1),
    top1_err: r4(100 - acc.top1),
    top5: r4(acc.top5),
    top5_err: r4(100 - acc.top5),
    param_count: Math.round(i.params / 1e4) / 100,
    img_size: i.cfg.inputSize[1],
    crop_pct: i.cfg.cropPct,
    interpolation: i.cfg.interpolation,
    tag: i.model.tag.tag,
    arch: i.model.tag.arch,
    images: acc.count,
    top1_correct: acc.top1Correct,
    top5_correct: acc.top5Correct,
    subset: c.subset,
    complete: !c.subset && i.dataset.warnings.length === 0,
    top1_interval: [r4(c.top1.interval.low), r4(c.top1.interval.high)],
    top5_interval: [r4(c.top5.interval.low), r4(c.top5.interval.high)],
    published: ref
      ? {
          source: ref.source,
          dataset: ref.dataset,
          img_size: ref.imgSize,
          crop_pct: ref.cropPct,
          top1: ref.top1,
          top5: ref.top5,
          top1_diff: r4(c.top1.delta ?? 0),
          top5_diff: c.top5.delta === null ? null : r4(c.top5.delta),
          consistent_top1: c.top1.consistent,
          consistent_top5: c.top5.consistent,
        }
      : null,
    eval_config: i.cfg,
    weights: i.weightsFile,
    engine: i.engine,
    backend: i.backend,
    device: i.device,
    batch_size: i.batchSize,
    workers: i.workers,
    limit: i.limit,
    data: i.dataset,
    images_per_sec: Math.round(i.imagesPerSecond * 100) / 100,
    wall_s: Math.round(i.wallSeconds * 1000) / 1000,
  };
}

export function renderReport(r: EvalResult): string {
  const head = renderTable(
    ['model', 'tag', 'images', 'images/s', 'wall', 'engine'],
    [[r.arch, r.tag, r.subset ? `${r.images} (subset)` : String(r.images), r.images_per_sec.toFixed(1), duration(r.wall_s), r.backend]],
    ['left', 'left', 'right', 'right', 'right', 'left'],
  );
  const p = r.published;
  const interval = (i: [number, number]) => (r.subset ? `[${i[0].toFixed(2)}, ${i[1].toFixed(2)}]` : '-');
  const verdict = (v: boolean | null | undefined) => (v === null || v === undefined ? '' : v ? 'consistent' : 'differs');
  const metrics = renderTable(
    ['', 'measured', '95% interval', 'published', 'diff', ''],
    [
      ['top-1', pct(r.top1), interval(r.top1_interval), pct(p?.top1), signed(p?.top1_diff), verdict(p?.consistent_top1)],
      ['top-5', pct(r.top5), interval(r.top5_interval), pct(p?.top5), signed(p?.top5_diff), verdict(p?.consistent_top5)],
    ],
    ['left', 'right', 'right', 'right', 'right', 'left'],
  );
  const src = p
    ? `published: ${p.source} (${p.dataset}, ${p.img_size}px, crop ${p.crop_pct})${r.subset ? '; on a subset the 95% interval decides consistency' : ''}\n`
    : 'published: no published numbers for this tag\n';
  return `\n${head}\n${metrics}${src}`;
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(value, null, 2) + '\n');
  await rename(tmp, file);
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** `file,label,top1,top2,top3,top4,top5,margin`, one row per image in evaluation order. */
export async function writePredictions(file: string, acc: TopKAccumulator, names: readonly string[]): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  const out = createWriteStream(tmp);
  const write = (s: string) =>
    new Promise<void>((resolve, reject) => {
      if (out.write(s)) resolve();
      else out.once('drain', resolve).once('error', reject);
    });
  await write('file,label,top1,top2,top3,top4,top5,margin\n');
  let chunk = '';
  for (const p of acc.predictions()) {
    chunk += `${csvField(names[p.index] ?? String(p.index))},${p.label},${p.top5.join(',')},${p.margin.toPrecision(6)}\n`;
    if (chunk.length > 1 << 16) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  await rename(tmp, file);
}
