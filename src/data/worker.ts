/**
 * Loader worker thread: decodes, resizes, crops and normalises one image at a time straight into the
 * batch's SharedArrayBuffer, so the main thread never copies pixels. Messages: first out, {ready};
 * in, {id, file, tar?, buffer, offset}; out, {id} on success or {id, error} with the fields of the
 * DataError. Images inside a tar are read through one open handle per tar (TarCache).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { EvalConfig } from '../models/eval-config.js';
import {
  processInto,
  serializeError,
  TarCache,
  type ResizeMode,
  type WorkerReady,
  type WorkerReply,
  type WorkerRequest,
} from './pipeline.js';

const { cfg, resize } = workerData as { cfg: EvalConfig; resize?: ResizeMode };
const port = parentPort!;
const tars = new TarCache();

port.on('message', (req: WorkerRequest) => {
  const out = new Float32Array(req.buffer);
  const source = req.tar ? { file: req.file, tar: req.tar } : { file: req.file };
  processInto(source, cfg, out, req.offset, resize ?? 'exact', tars).then(
    () => port.postMessage({ id: req.id } satisfies WorkerReply),
    (e: unknown) => port.postMessage({ id: req.id, error: serializeError(e, req.file) } satisfies WorkerReply),
  );
});
port.postMessage({ ready: true } satisfies WorkerReady);
