/**
 * An ordered, bounded, concurrent batch loader. Images are processed by worker threads (or in-process
 * with `workers: 0`), each writing its normalised CHW float32 straight into its row of a batch
 * buffer; batches are yielded strictly in order whatever the worker timing.
 *
 * Memory: a fixed pool of `prefetch + 2` batch buffers (SharedArrayBuffers) is allocated once, at
 * creation, and handed to the workers once: `prefetch + 1` batches being filled (the next one and
 * those prepared ahead) and 1 held by the consumer. In steady state nothing is allocated per image
 * on the main thread, and RSS stays flat over the 50,000 val images without any GC help.
 *
 * Ownership contract (every consumer must honour it): a yielded Batch's `data` is a view of a pool
 * buffer and stays valid until the consumer calls next() again (which a `for await` loop does when
 * its body ends) or closes the loader. The buffer is then refilled with a later batch. A consumer
 * that needs the pixels longer copies them (`batch.data.slice()`). `samples` and `failed` are the
 * consumer's to keep. `data` lives in shared memory: an engine that cannot read a
 * SharedArrayBuffer (onnxruntime-node) copies it into a buffer of its own that it reuses.
 *
 * Bad images: with `onError: 'stop'` (the default) the first failure ends the iteration with a
 * DataError naming the file; with 'skip' the image is left out of its batch (the batch's data and
 * samples are compacted to the images that decoded) and listed in the batch's `failed`. Either way a
 * batch always covers the same slice [start, end) of the input, so a caller can resume or checkpoint
 * by position.
 *
 * Never hang: an image a worker spends longer than `imageTimeoutMs` on fails with a timeout, and
 * that worker is terminated and replaced (a FIFO or a stalled network mount blocks a read forever; a
 * pathological file can spin the decoder). A worker that dies (a native crash) is replaced too; its
 * other images are retried one at a time on a fresh worker, so only the image that kills a worker
 * fails. In-process mode (`workers: 0`) times out an image whose work never completes, but cannot
 * interrupt synchronous work on the calling thread.
 *
 * Worker threads need JavaScript: Node 20 cannot start a .ts worker, so when this module runs from
 * src/ (vitest runs the .ts sources) it starts the compiled dist/data/worker.js instead. `npm test`
 * builds first for that reason.
 */
import { Worker } from 'node:worker_threads';
import { DataError } from '../errors.js';
import type { EvalConfig } from '../models/eval-config.js';
import type { Sample } from './dataset.js';
import { CropCache, prepareCropCache, type CacheOutcome } from './crop-cache.js';
import {
  deserializeError,
  normalizeCrop,
  serializeError,
  TarCache,
  withCrop,
  type ResizeMode,
  type SerializedError,
  type WorkerInit,
  type WorkerReady,
  type WorkerReply,
  type WorkerRequest,
} from './pipeline.js';
import { builtWorkerUrl } from '../util/worker-url.js';

export interface FailedImage {
  sample: Sample;
  /** Index of the sample in the loader's input list. */
  index: number;
  /** One line: what went wrong (the DataError's message, with the file). */
  message: string;
}

export interface Batch {
  /** Batch number, 0-based. */
  index: number;
  /** Index of the first input sample this batch covers (index * batchSize). */
  start: number;
  /** One past the last input sample this batch covers, failed images included. */
  end: number;
  /** Number of images that decoded (the rows of `data`); end - start - failed.length. */
  n: number;
  /**
   * n * C * H * W float32, NCHW, normalised: only the images that decoded, in input order. A view of
   * one of the loader's pool buffers (shared memory): valid until the next call to next() or close().
   */
  data: Float32Array;
  /** The n samples of `data`, in input order. */
  samples: readonly Sample[];
  /** Images of [start, end) that failed (only with onError: 'skip'), in input order. */
  failed: readonly FailedImage[];
}

export type OnError = 'stop' | 'skip';

export interface LoaderOptions {
  batchSize: number;
  /** Worker threads; 0 runs everything on the calling thread. */
  workers: number;
  /** Batches prepared ahead of the one being consumed (default 2); the pool holds prefetch + 2 buffers. */
  prefetch?: number;
  /** Resize path (default 'exact', Pillow-identical); 'fast' is libvips' opt-in approximation. */
  resize?: ResizeMode;
  /** 'stop' (default): the first bad image ends the run with a DataError; 'skip': it is left out and listed. */
  onError?: OnError;
  /** Longest one image may take before it fails and its worker is replaced (default 60,000 ms). */
  imageTimeoutMs?: number;
  /** Crop cache directory (--crop-cache): uint8 crops are read from it instead of decoded (crop-cache.ts). */
  cropCache?: string;
}

/** What the crop cache did for the images settled so far (all zero without one). */
export interface LoaderStats {
  /** Crops read from the cache: nothing decoded. */
  cacheHits: number;
  /** Crops decoded and stored (no entry yet). */
  cacheMisses: number;
  /** Entries found damaged or for another key: decoded again and rewritten. */
  cacheBad: number;
}

/** The note a run prints after its loop: what the crop cache did (tests read it, so keep its shape). */
export function cropCacheLine(dir: string, s: LoaderStats): string {
  return `zoo: crop cache ${dir}: ${s.cacheHits} read, ${s.cacheMisses} decoded and stored, ${s.cacheBad} bad entries decoded again`;
}

export type Loader = AsyncIterableIterator<Batch> & { close(): Promise<void>; stats(): LoaderStats };

export const DEFAULT_IMAGE_TIMEOUT_MS = 60_000;
/**
 * Images in flight per worker. With sharp, one decodes in libuv's pool while the worker resizes
 * another. With the libjpeg-turbo addon a worker runs each image start to end, so the others are
 * its queue: 3 queued (~6 ms of work) keep it busy while the main thread, which may be off its core
 * on a loaded machine, gets round to sending more; with 2, workers sat idle 3-10% of the time.
 */
const INFLIGHT_PER_WORKER = 4;
/** close() never waits longer than this for a worker to stop (a thread stuck in a native call). */
const TERMINATE_WAIT_MS = 2_000;
const SKIP_FIX = 'or pass --on-error skip to exclude it';

function workerUrl(): URL {
  return builtWorkerUrl(import.meta.url, 'data', 'worker.js', 'loader worker');
}

function dataFailure(file: string, message: string): SerializedError {
  return {
    data: true,
    message,
    file,
    expected: 'an image that decodes in reasonable time',
    fix: 'check or remove the file (a FIFO, a stalled network mount or a damaged image can do this)',
  };
}

interface PendingBatch {
  index: number;
  start: number;
  end: number;
  /** The pool buffer this batch is written into. */
  slot: number;
  remaining: number;
  failed: FailedImage[];
  error: Error | undefined;
  /** Input index of `error`: the batch reports its first bad image in input order. */
  errorIndex: number;
}

/** Something that runs image jobs and calls `done` exactly once per job, whatever happens. */
interface Executor {
  readonly capacity: number;
  submit(req: WorkerRequest, done: (reply: WorkerReply) => void): void;
  /** A failure of the executor itself (workers cannot start). */
  onFatal(cb: (e: Error) => void): void;
  close(): Promise<void>;
}

function inProcessExecutor(cfg: EvalConfig, resize: ResizeMode, timeoutMs: number, views: readonly Float32Array[], cropCache: string | undefined): Executor {
  const tars = new TarCache();
  const cache = cropCache === undefined ? undefined : new CropCache(cropCache, cfg, resize);
  return {
    capacity: INFLIGHT_PER_WORKER,
    submit(req, done) {
      let settled = false;
      const finish = (reply: WorkerReply) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        done(reply);
      };
      // Only an image whose work never completes (a blocked read) can time out here: synchronous
      // work on this thread holds the timer back too.
      const timer = setTimeout(
        () => finish({ id: req.id, error: dataFailure(req.file, `timed out: no result after ${timeoutMs / 1000} s`) }),
        timeoutMs,
      );
      const source = req.tar ? { file: req.file, tar: req.tar } : { file: req.file };
      // An image that already timed out must not write: its batch buffer may hold a later batch by now.
      withCrop(source, cfg, resize, tars, cache, (crop) => {
        if (!settled) normalizeCrop(crop, cfg, views[req.slot]!, req.offset);
      })
        .then(
          (outcome) => finish(outcome ? { id: req.id, cache: outcome } : { id: req.id }),
          (e: unknown) => finish({ id: req.id, error: serializeError(e, req.file) }),
        );
    },
    onFatal() {},
    async close() {
      await tars.close();
    },
  };
}

interface Job {
  req: WorkerRequest;
  done: (reply: WorkerReply) => void;
  /** Set once the job was in flight on a worker that died: it then runs alone on a worker. */
  isolated: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  jobs: Map<number, Job>;
  /** Running an isolated job: takes no other. */
  exclusive: boolean;
  gone: boolean;
}

function workerExecutor(init: WorkerInit, count: number, timeoutMs: number): Executor {
  const url = workerUrl();
  const queue: Job[] = [];
  const slots: Slot[] = [];
  let fatal: ((e: Error) => void) | undefined;
  let closing = false;
  /** Workers that died before ever becoming ready, in a row: the workers cannot start at all. */
  let failedStarts = 0;

  function spawn(): Slot {
    // The pool's SharedArrayBuffers are shared (not copied) with each worker, once.
    const worker = new Worker(url, { workerData: init });
    const slot: Slot = { worker, ready: false, jobs: new Map(), exclusive: false, gone: false };
    // Starting up counts against the first images' time too: a worker that never gets ready is stuck.
    const startTimer = setTimeout(() => retire(slot, `the loader worker did not start within ${timeoutMs / 1000} s`), timeoutMs);
    // Replies come one or two to a message (worker.ts): fewer wake-ups of this thread.
    worker.on('message', (m: readonly WorkerReply[] | WorkerReady) => {
      if ('ready' in m) {
        slot.ready = true;
        failedStarts = 0;
        clearTimeout(startTimer);
        for (const job of slot.jobs.values()) arm(slot, job);
        return;
      }
      for (const r of m) {
        const job = slot.jobs.get(r.id);
        if (!job) continue;
        clearTimeout(job.timer);
        slot.jobs.delete(r.id);
        if (job.isolated) slot.exclusive = false;
        job.done(r);
      }
      dispatch();
    });
    const died = (why: string) => {
      clearTimeout(startTimer);
      if (slot.gone || closing) return;
      if (!slot.ready && ++failedStarts >= 3) {
        slot.gone = true;
        fatal?.(new Error(`loader workers cannot start: ${why}`));
        return;
      }
      retire(slot, why);
    };
    worker.on('error', (e) => died(`the loader worker crashed: ${e.message}`));
    worker.on('exit', (code) => died(`the loader worker exited unexpectedly (code ${code})`));
    return slot;
  }

  /** Start the image's clock once the worker can work on it. */
  function arm(slot: Slot, job: Job): void {
    clearTimeout(job.timer);
    job.timer = setTimeout(() => {
      if (slot.jobs.get(job.req.id) !== job) return;
      slot.jobs.delete(job.req.id);
      job.done({ id: job.req.id, error: dataFailure(job.req.file, `timed out: no result after ${timeoutMs / 1000} s`) });
      retire(slot, 'replaced after an image timed out');
    }, timeoutMs);
  }

  /**
   * Throw a worker away and start another. Its images go back to the queue to run alone; one that
   * was already alone on it is the culprit and fails.
   */
  function retire(slot: Slot, why: string): void {
    if (slot.gone) return;
    slot.gone = true;
    // Not awaited: a thread stuck in a native call may take its time to go.
    slot.worker.removeAllListeners('message');
    slot.worker.terminate().catch(() => undefined);
    const i = slots.indexOf(slot);
    const jobs = [...slot.jobs.values()];
    slot.jobs.clear();
    for (const job of jobs) {
      clearTimeout(job.timer);
      if (job.isolated) job.done({ id: job.req.id, error: dataFailure(job.req.file, `${why} while decoding this image`) });
      else {
        job.isolated = true;
        queue.unshift(job);
      }
    }
    if (!closing && i >= 0) slots[i] = spawn();
    dispatch();
  }

  function dispatch(): void {
    while (!closing && queue.length > 0) {
      const job = queue[0]!;
      let best: Slot | undefined;
      for (const s of slots) {
        if (s.gone || s.exclusive) continue;
        const load = s.jobs.size;
        if (job.isolated ? load !== 0 : load >= INFLIGHT_PER_WORKER) continue;
        if (!best || load < best.jobs.size) best = s;
      }
      if (!best) return;
      queue.shift();
      if (job.isolated) best.exclusive = true;
      best.jobs.set(job.req.id, job);
      if (best.ready) arm(best, job);
      best.worker.postMessage(job.req);
    }
  }

  for (let w = 0; w < count; w++) slots.push(spawn());
  return {
    capacity: count * INFLIGHT_PER_WORKER,
    submit(req, done) {
      queue.push({ req, done, isolated: false });
      dispatch();
    },
    onFatal(cb) {
      fatal = cb;
    },
    async close() {
      closing = true;
      queue.length = 0;
      const stops = slots.map((s) => {
        for (const job of s.jobs.values()) clearTimeout(job.timer);
        s.jobs.clear();
        s.gone = true;
        return s.worker.terminate().catch(() => undefined);
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([Promise.all(stops), new Promise((r) => (timer = setTimeout(r, TERMINATE_WAIT_MS)))]);
      clearTimeout(timer);
    },
  };
}

function withSkipHint(s: SerializedError): Error {
  const e = deserializeError(s);
  if (!(e instanceof DataError)) return e;
  return new DataError(e.message, { file: e.file, expected: e.expected, fix: e.fix ? `${e.fix}, ${SKIP_FIX}` : SKIP_FIX.replace(/^or /, '') });
}

export function createLoader(samples: readonly Sample[], cfg: EvalConfig, opts: LoaderOptions): Loader {
  const batchSize = Math.floor(opts.batchSize);
  const workers = Math.floor(opts.workers);
  const prefetch = Math.max(0, Math.floor(opts.prefetch ?? 2));
  const onError: OnError = opts.onError ?? 'stop';
  const timeoutMs = opts.imageTimeoutMs ?? DEFAULT_IMAGE_TIMEOUT_MS;
  if (!(batchSize >= 1)) throw new RangeError(`batchSize must be >= 1, got ${opts.batchSize}`);
  if (!(workers >= 0)) throw new RangeError(`workers must be >= 0, got ${opts.workers}`);
  if (!(timeoutMs > 0)) throw new RangeError(`imageTimeoutMs must be > 0, got ${opts.imageTimeoutMs}`);
  if (onError !== 'stop' && onError !== 'skip') throw new RangeError(`onError must be 'stop' or 'skip', got ${String(onError)}`);
  const [c, h, w] = cfg.inputSize;
  const perImage = c * h * w;
  const batchCount = Math.ceil(samples.length / batchSize);

  const resize = opts.resize ?? 'exact';
  if (opts.cropCache !== undefined) prepareCropCache(opts.cropCache);
  const stats: LoaderStats = { cacheHits: 0, cacheMisses: 0, cacheBad: 0 };
  const counted: Record<CacheOutcome, keyof LoaderStats> = { hit: 'cacheHits', miss: 'cacheMisses', bad: 'cacheBad' };
  // The pool: prefetch + 1 batches being filled and 1 held by the consumer (fewer for a short run).
  // Allocated once; a SharedArrayBuffer's pages are only touched (resident) when first written.
  const pool = Array.from({ length: Math.min(prefetch + 2, batchCount) }, () => new SharedArrayBuffer(batchSize * perImage * 4));
  const views = pool.map((b) => new Float32Array(b));
  const free: number[] = views.map((_, i) => i).reverse();
  /** The slot of the batch the consumer holds (the last yielded), returned to `free` on next(). */
  let held: number | undefined;
  const executor =
    workers === 0
      ? inProcessExecutor(cfg, resize, timeoutMs, views, opts.cropCache)
      : workerExecutor({ cfg, resize, pool, ...(opts.cropCache !== undefined ? { cropCache: opts.cropCache } : {}) }, workers, timeoutMs);
  const pending = new Map<number, PendingBatch>();
  let nextImage = 0; // next sample to submit
  let nextYield = 0; // next batch to hand out
  let inflight = 0;
  let closed = false;
  let fatalError: Error | undefined;
  let waiters: (() => void)[] = [];

  const notify = () => {
    const ws = waiters;
    waiters = [];
    for (const f of ws) f();
  };
  executor.onFatal((e) => {
    fatalError ??= e;
    notify();
  });

  function batchOf(b: number): PendingBatch {
    let p = pending.get(b);
    if (!p) {
      const start = b * batchSize;
      const end = Math.min(start + batchSize, samples.length);
      const slot = free.pop();
      // pump() never runs more than prefetch + 1 batches ahead of the held one: the pool always has one.
      if (slot === undefined) throw new Error(`loader pool exhausted at batch ${b} (a bug: ${pool.length} buffers)`);
      p = { index: b, start, end, slot, remaining: end - start, failed: [], error: undefined, errorIndex: Infinity };
      pending.set(b, p);
    }
    return p;
  }

  /** Every image's outcome lands here. */
  function settle(p: PendingBatch, index: number, reply: WorkerReply): void {
    if (closed) return;
    inflight--;
    p.remaining--;
    if (reply.cache) stats[counted[reply.cache]]++;
    if (reply.error) {
      if (onError === 'skip' && reply.error.data) {
        const e = deserializeError(reply.error) as DataError;
        const file = e.file ?? samples[index]!.file;
        p.failed.push({ sample: samples[index]!, index, message: `${file}: ${e.message}` });
      } else {
        // Stop mode, or not a data problem (a bug, which fails the run in either mode). Keep the
        // lowest index, so which file a stopped run names never depends on worker timing.
        if (index < p.errorIndex) {
          p.error = withSkipHint(reply.error);
          p.errorIndex = index;
        }
      }
    }
    pump();
    notify();
  }

  /** A view of the first n images of a pool buffer (the whole buffer's view when full). */
  function viewOf(slot: number, n: number): Float32Array {
    const v = views[slot]!;
    return n * perImage === v.length ? v : v.subarray(0, n * perImage);
  }

  /** The finished batch: compacted in place to the images that decoded when some failed. */
  function finish(p: PendingBatch): Batch {
    const { index, start, end, slot } = p;
    const failed = p.failed.sort((a, b) => a.index - b.index);
    if (failed.length === 0) {
      return { index, start, end, n: end - start, data: viewOf(slot, end - start), samples: samples.slice(start, end), failed };
    }
    const bad = new Set(failed.map((f) => f.index));
    const kept: Sample[] = [];
    const v = views[slot]!;
    for (let i = start; i < end; i++) {
      if (bad.has(i)) continue;
      // Rows only move down (kept.length <= i - start): copyWithin is safe in place.
      if (kept.length !== i - start) v.copyWithin(kept.length * perImage, (i - start) * perImage, (i - start + 1) * perImage);
      kept.push(samples[i]!);
    }
    return { index, start, end, n: kept.length, data: viewOf(slot, kept.length), samples: kept, failed };
  }

  function pump(): void {
    while (!closed && !fatalError && inflight < executor.capacity && nextImage < samples.length) {
      const b = Math.floor(nextImage / batchSize);
      if (b > nextYield + prefetch) break; // bounded: never more than prefetch + 1 batches allocated
      const p = batchOf(b);
      const i = nextImage++;
      const sample = samples[i]!;
      inflight++;
      const req: WorkerRequest = { id: i, file: sample.file, slot: p.slot, offset: (i - p.start) * perImage };
      if (sample.tar) req.tar = sample.tar;
      executor.submit(req, (reply) => settle(p, i, reply));
    }
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    pending.clear();
    notify();
    await executor.close();
  }

  async function next(): Promise<IteratorResult<Batch>> {
    if (closed || nextYield >= batchCount) {
      await close();
      return { done: true, value: undefined };
    }
    // The consumer asks for the next batch: the one it held goes back to the pool.
    if (held !== undefined) {
      free.push(held);
      held = undefined;
    }
    pump();
    for (;;) {
      if (fatalError) {
        await close();
        throw fatalError;
      }
      if (closed) return { done: true, value: undefined };
      const p = pending.get(nextYield);
      if (p?.error && p.remaining === 0) {
        await close();
        throw p.error;
      }
      if (p && p.remaining === 0) {
        pending.delete(nextYield);
        nextYield++;
        held = p.slot;
        pump();
        return { done: false, value: finish(p) };
      }
      await new Promise<void>((r) => waiters.push(r));
    }
  }

  const loader: Loader = {
    next,
    async return(): Promise<IteratorResult<Batch>> {
      await close();
      return { done: true, value: undefined };
    },
    async throw(e?: unknown): Promise<IteratorResult<Batch>> {
      await close();
      throw e;
    },
    close,
    stats: () => ({ ...stats }),
    [Symbol.asyncIterator]() {
      return loader;
    },
  };
  // Start decoding now, not at the first next(): a caller that loads its model meanwhile (zoo eval)
  // gets its first batches ready by the time it asks.
  pump();
  return loader;
}
