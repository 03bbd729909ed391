/**
 * The one eval loop: batches from the loader -> every model's engine -> each model's logits ranked
 * once -> that model's accumulators. Single runs, sweeps (several models fed the same decoded batch)
 * and the bench's end-to-end stage all run it.
 *
 * The loop owns no resources: the caller opens and closes the loader and the engines, and decides
 * what happens after each batch (state saves, progress, skipped images) in `afterBatch`.
 */
import { maskLogits } from '../data/label-space.js';
import type { Batch, Loader } from '../data/loader.js';
import type { LoadedModel } from '../engines/engine.js';
import type { MetricsAccumulator } from '../metrics/accumulator.js';
import { rankBatch, type TopKAccumulator } from '../metrics/topk.js';

/** One model's share of a batch: its engine and the accumulators its predictions go to. */
export interface Tally {
  model: LoadedModel;
  topk: TopKAccumulator;
  /** Per-class, confusion and ReaL counts; null where only top-k is wanted (the bench). */
  metrics: MetricsAccumulator | null;
  /** The outputs predictions may take (--valid-labels, a 200-class set); null: all. */
  valid?: readonly number[] | null;
}

/** performance.now() marks of the loop, for the start-up figures. */
export interface LoopMarks {
  /** The first batch came out of the loader. */
  firstBatchReady: number | undefined;
  /** The first batch's logits were counted. */
  firstBatchDone: number | undefined;
}

/**
 * Feeds `batch` to every tally's engine and counts it. No copy: batch.data (a loader pool buffer,
 * valid until the next batch is asked for) goes to each engine as it is; an engine that cannot read
 * shared memory stages it itself.
 */
export async function countBatch(batch: Batch, tallies: readonly Tally[]): Promise<void> {
  if (batch.samples.length === 0) return;
  const labels = batch.samples.map((s) => s.label);
  for (const t of tallies) {
    const logits = await t.model.run(batch.data, batch.samples.length);
    if (t.valid) maskLogits(logits, batch.samples.length, logits.length / batch.samples.length, t.valid);
    const ranked = rankBatch(logits, batch.samples.length, t.topk.numClasses);
    t.topk.addRanked(ranked, labels);
    t.metrics?.addRanked(ranked, batch.samples);
  }
}

/** Runs the loader to its end (or until it is closed), counting every batch for every tally. */
export async function runLoop(loader: Loader, tallies: readonly Tally[], afterBatch?: (batch: Batch) => Promise<void> | void): Promise<LoopMarks> {
  const marks: LoopMarks = { firstBatchReady: undefined, firstBatchDone: undefined };
  for await (const batch of loader) {
    marks.firstBatchReady ??= performance.now();
    await countBatch(batch, tallies);
    marks.firstBatchDone ??= performance.now();
    await afterBatch?.(batch);
  }
  return marks;
}
