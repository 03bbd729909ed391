/**
 * loadCheckpoint: every checkpoint format users download, read into one flat state dict
 * (upstream tensor names -> HostTensor; float types widened to float32, integers as int64).
 *
 * The format is recognised from the content, never the extension (format.ts).
 * Training checkpoints are unwrapped (state dict under state_dict / model / state_dict_ema /
 * model_ema) and DataParallel's `module.` prefix is stripped.
 */
import { readFile } from 'node:fs/promises';
import { WeightsError } from '../../errors.js';
import type { HostTensor } from '../graph.js';
import { ElementBudget, ndarrayToHost, torchTensorToHost } from './materialize.js';
import { describePy, NdArrayRef, PyDict, TorchTensorRef, unpickle, type PyValue } from './pickle.js';
import { parseSafetensors } from './safetensors.js';
import { requireCheckpointFile, unreadableWeights } from './file.js';
import { detectFormat } from './format.js';
import { readTorchLegacy, readTorchZip, type TorchContainer } from './torch.js';

export { detectFormat, type CheckpointFormat } from './format.js';

/** Keys under which training checkpoints keep the weights, in order of preference. */
export const STATE_DICT_KEYS = ['state_dict', 'model', 'state_dict_ema', 'model_ema'] as const;

/** Paddle's name table (structured name -> parameter name); metadata, not weights. */
const PADDLE_NAME_TABLE = 'StructuredToParameterName@@';

export async function loadCheckpoint(file: string): Promise<Map<string, HostTensor>> {
  await requireCheckpointFile(file); // a FIFO or device would block or never end
  let buf: Uint8Array;
  try {
    buf = await readFile(file);
  } catch (e) {
    throw unreadableWeights(file, e, { fix: 'check the path given to --weights' });
  }
  return parseCheckpoint(buf, file);
}

/** loadCheckpoint on bytes already in memory; `file` names them in errors. */
export function parseCheckpoint(buf: Uint8Array, file: string): Map<string, HostTensor> {
  const format = detectFormat(buf);
  switch (format) {
    case 'safetensors':
      return stripModulePrefix(parseSafetensors(buf, file));
    case 'torch-zip':
    case 'torch-legacy': {
      const container = format === 'torch-zip' ? readTorchZip(buf, file) : readTorchLegacy(buf, file);
      return stateDict(container.root, container, buf.length, file);
    }
    case 'pickle':
      return stateDict(unpickle(buf, 0, { file }).value, undefined, buf.length, file);
    default:
      throw new WeightsError('unrecognised weights file format', {
        file,
        expected: '.safetensors, a PyTorch .pth/.pt/.pth.tar (zip or legacy), or a Paddle .pdparams',
        fix: 'pass a checkpoint in one of these formats; a partial download is not one',
      });
  }
}

/** The state dict of an unpickled object: torch tensors (from a container's storages) or numpy arrays. */
function stateDict(root: PyValue, container: TorchContainer | undefined, fileBytes: number, file: string): Map<string, HostTensor> {
  const dict = findStateDict(root, file);
  const budget = new ElementBudget(fileBytes);
  return collect(dict, file, (v, name) => {
    if (v instanceof NdArrayRef) return ndarrayToHost(v, name, file, budget);
    if (v instanceof TorchTensorRef && container) {
      return torchTensorToHost(v, container.storageBytes(v.storage), name, file, budget, container.bigEndian);
    }
    return undefined;
  });
}

const isTensor = (v: PyValue | undefined): boolean => v instanceof TorchTensorRef || v instanceof NdArrayRef;

function hasTensors(d: PyDict): boolean {
  for (const v of d.map.values()) if (isTensor(v)) return true;
  return false;
}

/** The dict that holds the weights: the object itself, or one level down in a training checkpoint. */
function findStateDict(root: PyValue, file: string): PyDict {
  if (root instanceof PyDict) {
    if (hasTensors(root)) return root;
    for (const key of STATE_DICT_KEYS) {
      const v = root.map.get(key);
      if (v instanceof PyDict && hasTensors(v)) return v;
    }
    const keys = [...root.map.keys()].slice(0, 8).map((k) => describePy(k)).join(', ');
    throw new WeightsError(`no state dict found in the checkpoint (top-level keys: ${keys || 'none'})`, {
      file,
      expected: `tensors at the top level or under ${STATE_DICT_KEYS.join(' / ')}`,
      fix: 'save the weights with torch.save(model.state_dict(), FILE) and pass that file',
    });
  }
  throw new WeightsError('the checkpoint holds no dict of tensors', {
    file,
    fix: 'save the weights with torch.save(model.state_dict(), FILE) and pass that file',
  });
}

function collect(
  dict: PyDict,
  file: string,
  toHost: (v: PyValue, name: string) => HostTensor | undefined,
): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const [k, v] of dict.map) {
    if (typeof k !== 'string' || k === PADDLE_NAME_TABLE) continue;
    const t = toHost(v, k);
    if (!t) continue;
    const name = k.startsWith('module.') ? k.slice('module.'.length) : k;
    if (out.has(name)) {
      throw new WeightsError(`tensor ${name} appears twice (with and without "module.")`, {
        file,
        fix: 'keep one copy of each tensor in the state dict and save it again',
      });
    }
    out.set(name, t);
  }
  return out;
}

function stripModulePrefix(m: Map<string, HostTensor>): Map<string, HostTensor> {
  if (![...m.keys()].some((k) => k.startsWith('module.'))) return m;
  const out = new Map<string, HostTensor>();
  for (const [k, v] of m) out.set(k.startsWith('module.') ? k.slice('module.'.length) : k, v);
  return out;
}
