/**
 * An ordered, bounded, concurrent batch loader. Images are processed by worker threads (or in-process
 * with `workers: 0`), each writing its normalised CHW float32 straight into its slot of the batch's
 * SharedArrayBuffer; batches are yielded strictly in order whatever the worker timing, and at most
 * `prefetch` batches beyond the one being consumed are ever allocated, so memory stays flat over the
 * 50,000 val images.
 *
 * Worker threads need JavaScript: Node 20 cannot start a .ts worker, so when this module runs from
 * src/ (vitest runs the .ts sources) it starts the compiled dist/data/worker.js instead. `npm test`
 * builds first for that reason.
 *
 * Per-image outcomes all pass through `settle()`: an `onError: 'skip'` mode would record the failure
 * there, zero the slot, and drop the sample from the yielded batch instead of failing the iterator.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { EvalConfig } from '../models/eval-config.js';
import type { Sample } from './dataset.js';
import { deserializeError, processInto, serializeError, type ResizeMode, type WorkerReply, type WorkerRequest } from './pipeline.js';

export interface Batch {
  /** Batch number, 0-based. */
  index: number;
  /** Index of the first sample of the batch in the sample list. */
  start: number;
  /** Number of images in the batch (the last one may be short). */
  n: number;
  /** n * C * H * W float32, NCHW, normalised. */
  data: Float32Array;
  samples: readonly Sample[];
}

export interface LoaderOptions {
  batchSize: number;
  /** Worker threads; 0 runs everything on the calling thread. */
  workers: number;
  /** Batches prepared ahead of the one being consumed (default 2). */
  prefetch?: number;
  /** Resize path (default 'exact', Pillow-identical); 'fast' is libvips' opt-in approximation. */
  resize?: ResizeMode;
}

export type Loader = AsyncIterableIterator<Batch> & { close(): Promise<void> };

/** Images in flight per worker: one decoding in libuv's pool while the worker resizes another. */
const INFLIGHT_PER_WORKER = 2;

function workerUrl(): URL {
  const here = import.meta.url;
  const url = here.endsWith('.ts') ? new URL('../../dist/data/worker.js', here) : new URL('./worker.js', here);
  if (!existsSync(url)) {
    throw new Error(`loader worker not built: ${fileURLToPath(url)} is missing; run \`npm run build\``);
  }
  return url;
}

interface PendingBatch {
  batch: Batch;
  remaining: number;
  error: Error | undefined;
}

/** Something that runs one image job and calls back when done. */
interface Executor {
  readonly capacity: number;
  submit(req: WorkerRequest, done: (reply: WorkerReply) => void): void;
  /** A fatal failure of the executor itself (a worker died). */
  onFatal(cb: (e: Error) => void): void;
  close(): Promise<void>;
}

function inProcessExecutor(cfg: EvalConfig, resize: ResizeMode): Executor {
  return {
    capacity: INFLIGHT_PER_WORKER,
    submit(req, done) {
      processInto(req.file, cfg, new Float32Array(req.buffer), req.offset, resize).then(
        () => done({ id: req.id }),
        (e: unknown) => done({ id: req.id, error: serializeError(e, req.file) }),
      );
    },
    onFatal() {},
    async close() {},
  };
}

function workerExecutor(cfg: EvalConfig, count: number, resize: ResizeMode): Executor {
  const url = workerUrl();
  const callbacks = new Map<number, (reply: WorkerReply) => void>();
  const load: number[] = [];
  let fatal: ((e: Error) => void) | undefined;
  let closing = false;
  const workers = Array.from({ length: count }, (_, w) => {
    const worker = new Worker(url, { workerData: { cfg, resize } });
    load.push(0);
    worker.on('message', (reply: WorkerReply) => {
      load[w]!--;
      const cb = callbacks.get(reply.id);
      callbacks.delete(reply.id);
      cb?.(reply);
    });
    const die = (e: Error) => {
      if (!closing) fatal?.(e);
    };
    worker.on('error', die);
    worker.on('exit', (code) => die(new Error(`loader worker exited unexpectedly (code ${code})`)));
    return worker;
  });
  return {
    capacity: count * INFLIGHT_PER_WORKER,
    submit(req, done) {
      let best = 0;
      for (let w = 1; w < load.length; w++) if (load[w]! < load[best]!) best = w;
      load[best]!++;
      callbacks.set(req.id, done);
      workers[best]!.postMessage(req);
    },
    onFatal(cb) {
      fatal = cb;
    },
    async close() {
      closing = true;
      callbacks.clear();
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

export function createLoader(samples: readonly Sample[], cfg: EvalConfig, opts: LoaderOptions): Loader {
  const batchSize = Math.floor(opts.batchSize);
  const workers = Math.floor(opts.workers);
  const prefetch = Math.max(0, Math.floor(opts.prefetch ?? 2));
  if (!(batchSize >= 1)) throw new RangeError(`batchSize must be >= 1, got ${opts.batchSize}`);
  if (!(workers >= 0)) throw new RangeError(`workers must be >= 0, got ${opts.workers}`);
  const [c, h, w] = cfg.inputSize;
  const perImage = c * h * w;
  const batchCount = Math.ceil(samples.length / batchSize);

  const resize = opts.resize ?? 'exact';
  const executor = workers === 0 ? inProcessExecutor(cfg, resize) : workerExecutor(cfg, workers, resize);
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
      const n = Math.min(batchSize, samples.length - start);
      const data = new Float32Array(new SharedArrayBuffer(n * perImage * 4));
      p = { batch: { index: b, start, n, data, samples: samples.slice(start, start + n) }, remaining: n, error: undefined };
      pending.set(b, p);
    }
    return p;
  }

  /** Every image's outcome lands here (the place an onError: 'skip' mode would hook in). */
  function settle(p: PendingBatch, reply: WorkerReply): void {
    inflight--;
    p.remaining--;
    if (reply.error && !p.error) p.error = deserializeError(reply.error);
    pump();
    notify();
  }

  function pump(): void {
    while (!closed && !fatalError && inflight < executor.capacity && nextImage < samples.length) {
      const b = Math.floor(nextImage / batchSize);
      if (b > nextYield + prefetch) break; // bounded: never more than prefetch + 1 batches allocated
      const p = batchOf(b);
      const i = nextImage++;
      const sample = samples[i]!;
      inflight++;
      const req: WorkerRequest = {
        id: i,
        file: sample.file,
        buffer: p.batch.data.buffer as SharedArrayBuffer,
        offset: (i - p.batch.start) * perImage,
      };
      executor.submit(req, (reply) => settle(p, reply));
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
    pump();
    for (;;) {
      if (fatalError) {
        await close();
        throw fatalError;
      }
      if (closed) return { done: true, value: undefined };
      const p = pending.get(nextYield);
      if (p?.error) {
        await close();
        throw p.error;
      }
      if (p && p.remaining === 0) {
        pending.delete(nextYield);
        nextYield++;
        pump();
        return { done: false, value: p.batch };
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
    [Symbol.asyncIterator]() {
      return loader;
    },
  };
  return loader;
}
