/**
 * Loader worker thread: decodes, resizes, crops and normalises one image at a time straight into a
 * batch buffer of the loader's pool, so the main thread never copies pixels. The pool's
 * SharedArrayBuffers arrive once, in workerData, with their Float32Array views made here once:
 * requests carry only a slot index and an offset, so nothing per image crosses threads or stays
 * referenced (the old per-batch buffers, posted with every request, were kept alive by this isolate
 * until a full GC and grew RSS by ~575 MB per 1,000 images). Messages: first out, {ready}; in,
 * {id, file, tar?, slot, offset}; out, an array of replies (one or two, see `reply`): {id} on
 * success or {id, error} with the fields of the DataError. Images inside a tar are read through one open handle per tar (TarCache).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CropCache } from './crop-cache.js';
import { normalizeCrop, useBlockingReads, withCrop, preloadImageModules, serializeError, TarCache, type WorkerInit, type WorkerReady, type WorkerReply, type WorkerRequest } from './pipeline.js';

const { cfg, resize, pool, cropCache } = workerData as WorkerInit;
const port = parentPort!;
// This thread only loads images: a blocking read of a regular file beats four thread-pool round trips.
useBlockingReads();
const tars = new TarCache();
const views = pool.map((b) => new Float32Array(b));
const cache = cropCache === undefined ? undefined : new CropCache(cropCache, cfg, resize);

/**
 * Replies go out two to a message: every message wakes the main thread, and on a machine whose cores
 * the workers keep busy each wake-up costs it ~0.05 ms of CPU an image taken from them. A reply waits
 * for a second one only while this worker still has work it has already received: an immediate
 * (after the requests queued now have run) sends a lone reply, so none waits for an image not yet sent.
 */
const REPLIES_PER_MESSAGE = 2;
const held: WorkerReply[] = [];
let flushQueued = false;

function send(): void {
  if (held.length > 0) port.postMessage(held.splice(0, held.length));
}

function reply(r: WorkerReply): void {
  held.push(r);
  if (held.length >= REPLIES_PER_MESSAGE) send();
  else if (!flushQueued) {
    flushQueued = true;
    setImmediate(() => {
      flushQueued = false;
      send();
    });
  }
}

port.on('message', (req: WorkerRequest) => {
  const source = req.tar ? { file: req.file, tar: req.tar } : { file: req.file };
  withCrop(source, cfg, resize, tars, cache, (crop) => normalizeCrop(crop, cfg, views[req.slot]!, req.offset))
    .then(
      (outcome) => reply(outcome ? { id: req.id, cache: outcome } : { id: req.id }),
      (e: unknown) => reply({ id: req.id, error: serializeError(e, req.file) }),
    );
});
// Ready once the decoder is loaded: image timeouts count from here.
await preloadImageModules();
port.postMessage({ ready: true } satisfies WorkerReady);
