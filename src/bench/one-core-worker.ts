/**
 * The worker thread of the bench's one-core stages (one-core.ts): runs the stage named in its
 * workerData and posts back the rate (or the failure's message). It imports only the image code, as
 * a loader worker does.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { decodeRate, preprocessRate, type OneCoreReply, type OneCoreRequest } from './one-core.js';

const req = workerData as OneCoreRequest;
let reply: OneCoreReply;
try {
  reply = { rate: req.stage === 'decode' ? await decodeRate(req.files, req.opts, req.decoder) : await preprocessRate(req.files, req.cfg, req.resize, req.opts, req.decoder) };
} catch (e) {
  reply = { error: e instanceof Error ? e.message : String(e) };
}
parentPort!.postMessage(reply);
