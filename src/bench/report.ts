/** The human side of `zoo bench`: one table per stage, zoo beside the reference with the ratio. */
import { renderTable } from '../util/format.js';
import type { BenchResult } from './run.js';

const f1 = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const ratio = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '-' : `${v.toFixed(2)}x`);

export function renderBench(r: BenchResult): string {
  const out: string[] = [];
  const [, h, w] = r.evalConfig.inputSize;
  out.push(
    `zoo bench ${r.tag}: ${h}x${w} ${r.evalConfig.interpolation} crop_pct ${r.evalConfig.cropPct}; ${r.machine.cpu}, ${r.machine.cores} cores, node ${r.machine.node}`,
  );
  out.push(`images: ${r.data.files} files from ${r.data.root} (repeated as needed); engine threads ${r.threads}, loader workers ${r.workers}`);
  out.push(`JPEG decoder: ${r.decoder.name} (${r.decoder.reason})\n`);
  const ref = r.reference;
  const refNote = ref?.skipped ? `reference skipped: ${ref.skipped}` : ref?.versions ? `reference: Pillow ${ref.versions.pillow}, torchvision ${ref.versions.torchvision}, torch ${ref.versions.torch}` : 'reference not run';

  const pre: string[][] = [];
  // Rows name the JPEG decoder when the run timed both (the libjpeg-turbo addon in use, sharp its fallback).
  const both = r.decodeSharp !== undefined || r.preprocessSharp !== undefined || (r.loader ?? []).some((l) => l.decoder !== r.decoder.name);
  const by = (name: string) => (both ? `, ${name}` : '');
  const cpu = (ours: { imagesPerCpuSecond?: number } | undefined, v: number | undefined) => `${f1(ours?.imagesPerCpuSecond)} / ${ratio(v)}`;
  const pc = r.ratiosPerCpu ?? {};
  if (r.decode) pre.push([`decode (1 core${by(r.decoder.name)})`, f1(r.decode.imagesPerSecond), f1(ref?.decode?.imagesPerSecond), ratio(r.ratios.decode), cpu(r.decode, pc.decode)]);
  if (r.decodeSharp) pre.push([`decode (1 core${by('sharp')})`, f1(r.decodeSharp.imagesPerSecond), f1(ref?.decode?.imagesPerSecond), ratio(r.ratios.decodeSharp), cpu(r.decodeSharp, pc.decodeSharp)]);
  if (r.preprocess) pre.push([`decode + exact preprocess (1 core${by(r.decoder.name)})`, f1(r.preprocess.imagesPerSecond), f1(ref?.preprocess?.imagesPerSecond), ratio(r.ratios.preprocess), cpu(r.preprocess, pc.preprocess)]);
  if (r.preprocessSharp) pre.push([`decode + exact preprocess (1 core${by('sharp')})`, f1(r.preprocessSharp.imagesPerSecond), f1(ref?.preprocess?.imagesPerSecond), ratio(r.ratios.preprocessSharp), cpu(r.preprocessSharp, pc.preprocessSharp)]);
  if (r.fast) {
    const refPre = ref?.preprocess?.imagesPerSecond;
    pre.push(['decode + fast preprocess (1 core)', f1(r.fast.imagesPerSecond), f1(refPre), ratio(refPre ? r.fast.imagesPerSecond / refPre : null), f1(r.fast.imagesPerCpuSecond)]);
  }
  // Scaling is read against the one-core figure of the same decoder (sharp's one worker overlaps its
  // decode, on a libuv thread, with its resize, so it is not a one-core figure) and against 1 worker.
  // Per CPU-s, the loader against the one-core stage is the share of its CPU that goes to the images
  // themselves (1.00x: no cost beyond them): it holds on a loaded machine, where the wall ratio needs
  // free cores (see README "zoo bench": the loader rows).
  for (const l of r.loader ?? []) {
    const one = l.decoder === r.decoder.name ? r.preprocess : r.preprocessSharp;
    const oneCore = one?.imagesPerSecond;
    const oneWorker = r.loader?.find((x) => x.workers === 1 && x.decoder === l.decoder)?.imagesPerSecond;
    const scaling = [oneCore ? `${ratio(l.imagesPerSecond / oneCore)} of 1 core` : '', l.workers > 1 && oneWorker ? `${ratio(l.imagesPerSecond / oneWorker)} of 1 worker` : ''].filter(Boolean).join(', ');
    const perCpu = l.imagesPerCpuSecond && one?.imagesPerCpuSecond ? `${f1(l.imagesPerCpuSecond)} / ${ratio(l.imagesPerCpuSecond / one.imagesPerCpuSecond)} of 1 core` : f1(l.imagesPerCpuSecond);
    pre.push([`loader, ${l.workers} worker(s), exact${by(l.decoder)}`, f1(l.imagesPerSecond), '-', scaling || '-', perCpu]);
  }
  if (r.cropCache) {
    const c = r.cropCache;
    const note = c.decodedWhenWarm ? `, ${c.decodedWhenWarm} decoded` : '';
    pre.push([`loader, ${c.workers} worker(s), decoding`, f1(c.decoding), '-', '-', '-']);
    pre.push([`loader, ${c.workers} worker(s), warm --crop-cache${note}`, f1(c.warm), '-', `${ratio(c.ratio)} of decoding`, '-']);
  }
  if (pre.length) {
    out.push('Preprocessing (images/s; reference: Pillow decode, Pillow + torchvision eval transform)');
    out.push(renderTable(['stage', 'zoo', 'reference', 'zoo/ref or scaling', 'zoo per CPU-s / zoo/ref'], pre, ['left', 'right', 'right', 'right', 'right']));
  }
  if (r.fast) {
    const d = r.fast.difference;
    out.push(`fast resize vs exact: mean |diff| ${d.meanAbs.toFixed(3)}, max ${d.maxAbs}, ${(100 * d.differing).toFixed(1)}% of bytes differ (${d.images} images)\n`);
  }

  if (r.inference?.length) {
    const refRows = new Map((ref?.inference ?? []).map((x) => [x.batch, x.imagesPerSecond]));
    const rows = r.inference.map((x) => {
      const refv = refRows.get(x.batch);
      return [x.backend, String(x.batch), f1(x.imagesPerSecond), f1(refv), ratio(refv ? x.imagesPerSecond / refv : null)];
    });
    out.push(`Inference (images/s, ${r.threads} thread(s), random weights; reference: ${ref?.model?.source ?? 'PyTorch eager'})`);
    out.push(renderTable(['engine', 'batch', 'zoo', 'PyTorch', 'zoo/ref'], rows, ['left', 'right', 'right', 'right', 'right']));
    for (const [engine, v] of Object.entries(r.ratios.inference ?? {})) out.push(`best batch vs best batch, ${engine}: ${ratio(v)}`);
    if (r.ratios.inference) out.push('');
  }
  for (const sk of r.skipped ?? []) out.push(`skipped ${sk.what}: ${sk.reason}`);
  if (r.skipped?.length) out.push('');

  if (r.endToEnd) {
    const e = r.endToEnd;
    out.push(`End to end (zoo eval's loop: ${e.workers} loader worker(s) + onnxruntime, batch ${e.batchSize}, ${e.images} images)`);
    out.push(
      renderTable(
        ['figure', 'value'],
        [
          ['images/s', f1(e.imagesPerSecond)],
          ['back-to-back model 1/(1/pre + 1/inf)', f1(e.backToBack)],
          ['end to end / back-to-back', ratio(e.efficiency)],
          ['slower stage alone (many-core bound)', f1(e.slowerStage)],
          ['first batch after loop start (s)', e.firstBatchSeconds.toFixed(2)],
          ...(e.modelFile ? [['same graph as an ONNX model file (images/s)', f1(e.modelFile.imagesPerSecond)], ['model file / built-in, end to end', ratio(e.modelFile.ratio)]] : []),
        ],
        ['left', 'right'],
      ),
    );
  }
  if (r.memory) {
    const m = r.memory;
    const slope = m.memory.slopeMBPer1000 === null ? '-' : m.memory.slopeMBPer1000.toFixed(2);
    out.push(`Memory (${m.command}; exit ${m.exitCode})`);
    out.push(
      renderTable(
        ['figure', 'value'],
        [
          ['images/s (zoo eval\'s own figure)', f1(m.imagesPerSecond)],
          ['peak RSS (MB)', m.peakRssMB.toFixed(0)],
          [`RSS after ${m.memory.skipImages} images / at the end (MB)`, `${m.memory.rssAtSkipMB.toFixed(0)} / ${m.memory.finalRssMB.toFixed(0)}`],
          [`RSS slope after ${m.memory.skipImages} images (MB / 1000 images)`, slope],
        ],
        ['left', 'right'],
      ),
    );
  }
  if (r.startup) {
    out.push(`Start-up: ${r.startup.seconds.toFixed(2)} s from command to exit after the first batch (${r.startup.command}; exit ${r.startup.exitCode})\n`);
  }
  if (r.sweep) {
    const s = r.sweep;
    out.push(`Sweep (${s.models.length} ReXNet tags sharing ${h}x${w}/${r.evalConfig.cropPct}/${r.evalConfig.interpolation}, ${s.images} images; exits ${s.exitCodes.join(',')}): ${s.command}`);
    out.push(
      renderTable(
        ['figure', 'value'],
        [
          [`one zoo eval over ${s.models.length} models, wall (s)`, s.sweepSeconds.toFixed(1)],
          [`${s.models.length} single zoo eval runs, summed wall (s)`, s.singlesSeconds.toFixed(1)],
          ['singles / sweep, wall (goal >= 1.3x)', ratio(s.ratio)],
          ...(s.cpuRatio !== null
            ? [
                [`CPU seconds (user + system): sweep / singles`, `${s.sweepCpuSeconds!.toFixed(1)} / ${s.singlesCpuSeconds!.toFixed(1)}`],
                ['singles / sweep, CPU seconds', ratio(s.cpuRatio)],
              ]
            : []),
          ['sweep peak RSS (MB; goal < 1536)', s.sweepPeakRssMB.toFixed(0)],
          [`largest single-run peak RSS (MB; ${s.singlePeakModel})`, s.singlePeakRssMB.toFixed(0)],
          ['sweep / largest single peak RSS', ratio(s.sweepPeakRssMB / Math.max(1e-9, s.singlePeakRssMB))],
        ],
        ['left', 'right'],
      ),
    );
    out.push(
      `Batch ${s.batchSize}; load average (1 min) ${s.loadAverage[0].toFixed(1)} at the start, ${s.loadAverage[1].toFixed(1)} at the end.\n` +
        `GPU projection: the work a sweep does once (decode pass + process start) is ${(100 * s.decodeShare).toFixed(0)}% of a single run here${s.cpuRatio !== null ? ' in CPU seconds' : ''} (${s.decodeSecondsPerPass.toFixed(1)} s); with the rest (load, inference) 10x faster and that unchanged, singles / sweep ~ ${ratio(s.gpuProjection)}\n`,
    );
  }
  out.push(refNote);
  return out.join('\n') + '\n';
}
