/**
 * The bench's one-core stages (decode alone; decode + preprocess) and the worker thread they run in.
 *
 * They do exactly a loader worker's work per image (the same blocking file read, decoder, resize and
 * normalisation, written row after row into a batch-sized buffer), and they do it where a loader
 * worker does: on a worker thread of its own, an isolate holding only the image code. Timed on the
 * CLI's main thread instead, whose heap holds every command's modules, V8 ran 12-15 full collections
 * per 1,000 images instead of 1, whose concurrent marking took up to ~15% more CPU per image on the
 * second core (and the main thread ~4% more wall time): the loader's "x of 1 core" was read against
 * a yardstick with work, and help from a second core, that its workers do not have. The worker is
 * started per stage and gone when it ends; its start-up is not timed.
 */
import { Worker } from 'node:worker_threads';
import type { JpegDecoderName } from '../data/jpeg-turbo.js';
import { processInto, type ResizeMode } from '../data/pipeline.js';
import { readRegularFileSync } from '../data/read-sync.js';
import type { EvalConfig } from '../models/eval-config.js';
import { builtWorkerUrl } from '../util/worker-url.js';
import { measureRate, type Rate } from './measure.js';

export interface StageOptions {
  minSeconds: number;
  minImages: number;
}

/** What the one-core worker runs (its workerData). */
export type OneCoreRequest =
  | { stage: 'decode'; files: readonly string[]; opts: StageOptions; decoder?: JpegDecoderName }
  | { stage: 'preprocess'; files: readonly string[]; cfg: EvalConfig; resize: ResizeMode; opts: StageOptions; decoder?: JpegDecoderName };

/** What it posts back: the rate, or the failure's message. */
export type OneCoreReply = { rate: Rate } | { error: string };

/**
 * The decoder (sharp or the addon) and resize modules, imported when a stage needs them (here and in
 * stages.ts): the CLI loads the bench for every command, and sharp's ~100 ms start-up must not land
 * on `zoo eval`'s way to its first batch.
 */
export async function imageCode() {
  const [decode, preprocess] = await Promise.all([import('../data/decode.js'), import('../data/preprocess.js')]);
  return { decodeRgb: decode.decodeRgb, decodeRgbWith: decode.decodeRgbWith, cropResize: preprocess.cropResize, normalizeInto: preprocess.normalizeInto };
}

/** An image's bytes read as a loader worker reads them (data/read-sync.ts), or its path where that read declines. */
function readAsWorker(file: string): string | Uint8Array {
  return readRegularFileSync(file) ?? file;
}

/** Rows of the batch buffer the preprocess stage writes into, as the loader fills a batch. */
const BATCH_ROWS = 32;

/** Decode alone, one image at a time on this thread, with `decoder` for JPEGs (undefined: the one zoo runs). */
export async function decodeRate(files: readonly string[], opts: StageOptions, decoder?: JpegDecoderName): Promise<Rate> {
  const { decodeRgbWith } = await imageCode();
  let i = 0;
  return measureRate(
    async () => {
      const file = files[i++ % files.length]!;
      await decodeRgbWith(decoder, readAsWorker(file), file);
      return 1;
    },
    { ...opts, warmup: Math.min(files.length, 20) },
  );
}

/** Decode + resize + crop + normalise, one image at a time on this thread: a loader worker's work per image. */
export async function preprocessRate(files: readonly string[], cfg: EvalConfig, resize: ResizeMode, opts: StageOptions, decoder?: JpegDecoderName): Promise<Rate> {
  const perImage = cfg.inputSize[0] * cfg.inputSize[1] * cfg.inputSize[2];
  const out = new Float32Array(BATCH_ROWS * perImage);
  let i = 0;
  const next = () => ({ file: files[i % files.length]!, offset: (i++ % BATCH_ROWS) * perImage });
  const warmup = Math.min(files.length, 20);
  if (resize === 'exact') {
    // pipeline.cropOf's exact path (decode, cropResize) and normalizeInto, with the decoder named.
    const { decodeRgbWith, cropResize, normalizeInto } = await imageCode();
    return measureRate(
      async () => {
        const { file, offset } = next();
        normalizeInto(cropResize(await decodeRgbWith(decoder, readAsWorker(file), file), cfg), cfg, out, offset);
        return 1;
      },
      { ...opts, warmup },
    );
  }
  return measureRate(
    async () => {
      const { file, offset } = next();
      await processInto(file, cfg, out, offset, resize);
      return 1;
    },
    { ...opts, warmup },
  );
}

/** Runs a one-core stage on a worker thread of its own (see the file's header) and returns its rate. */
export async function inOneCoreWorker(req: OneCoreRequest): Promise<Rate> {
  const worker = new Worker(builtWorkerUrl(import.meta.url, 'bench', 'one-core-worker.js', 'bench worker'), { workerData: req });
  try {
    const reply = await new Promise<OneCoreReply>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the bench's one-core worker exited (code ${code}) before reporting`)));
    });
    if ('error' in reply) throw new Error(reply.error);
    return reply.rate;
  } finally {
    await worker.terminate();
  }
}
