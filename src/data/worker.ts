/**
 * Loader worker thread: decodes, resizes, crops and normalises one image at a time straight into the
 * batch's SharedArrayBuffer, so the main thread never copies pixels. Messages: in, {id, file, buffer,
 * offset}; out, {id} on success or {id, error} with the fields of the DataError.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { EvalConfig } from '../models/eval-config.js';
import { processInto, serializeError, type ResizeMode, type WorkerRequest, type WorkerReply } from './pipeline.js';

const { cfg, resize } = workerData as { cfg: EvalConfig; resize?: ResizeMode };
const port = parentPort!;

port.on('message', (req: WorkerRequest) => {
  const out = new Float32Array(req.buffer);
  processInto(req.file, cfg, out, req.offset, resize ?? 'exact').then(
    () => port.postMessage({ id: req.id } satisfies WorkerReply),
    (e: unknown) => port.postMessage({ id: req.id, error: serializeError(e, req.file) } satisfies WorkerReply),
  );
});
