/**
 * PyTorch checkpoint containers, read without PyTorch:
 *
 * - zip layout (torch >= 1.6 default): `<dir>/data.pkl` is the pickle, each storage is the entry
 *   `<dir>/data/<key>`, `<dir>/byteorder` (when present) says the storages' byte order.
 * - legacy layout (`_use_new_zipfile_serialization=False`, torch < 1.6): pickles back to back:
 *   magic number, protocol version, sys_info, the object (storages as persistent ids), the list of
 *   storage keys; then each storage as an int64 element count and its raw bytes, in key order.
 *
 * Both give the unpickled object plus a way to fetch a storage's bytes; the caller picks the
 * state dict out of it and materialises only the tensors it keeps.
 */
import { WeightsError } from '../../errors.js';
import { describePy, PyDict, PyGlobal, TORCH_STORAGE_DTYPES, TorchStorageRef, unpickle, type PyValue } from './pickle.js';
import { ITEM_SIZE } from './safetensors.js';
import { ZipReader } from './zip.js';

export interface TorchContainer {
  root: PyValue;
  /** Bytes of a root storage (whole storage, from its first element). */
  storageBytes(ref: TorchStorageRef): Uint8Array;
  bigEndian: boolean;
}

export { LEGACY_MAGIC } from './format.js';

function damaged(file: string, what: string): WeightsError {
  return new WeightsError(`not a readable PyTorch checkpoint: ${what}`, { file, fix: 'the file is damaged or truncated; download it again' });
}

/** Decodes a persistent id ('storage', StorageClass, key, location, numel[, view_metadata]). */
function parseStorageId(pid: PyValue, file: string): { dtype: string; key: string; numel: number; view: PyValue } {
  if (!Array.isArray(pid) || pid.length < 5) throw damaged(file, 'a persistent id is not a storage tuple');
  const [kind, cls, key, , numel, view] = pid as PyValue[];
  if (kind === 'module') {
    throw new WeightsError('the checkpoint pickles a whole nn.Module, not a state dict', {
      file,
      fix: 'save the weights with torch.save(model.state_dict(), FILE) and pass that file',
    });
  }
  if (kind !== 'storage') throw damaged(file, `persistent id of kind ${describePy(kind)}`);
  const dtype = cls instanceof PyGlobal && cls.module === 'torch' ? TORCH_STORAGE_DTYPES[cls.name] : undefined;
  if (!dtype) throw damaged(file, 'storage of an unknown type');
  if (typeof key !== 'string' || key.length > 64) throw damaged(file, 'storage key is not a short string');
  if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) throw damaged(file, `storage ${key} has a bad size`);
  return { dtype, key, numel, view: view ?? null };
}

export function readTorchZip(buf: Uint8Array, file: string): TorchContainer {
  const zip = new ZipReader(buf, file);
  const names = [...zip.entries.keys()];
  // torch names every entry "<archive>/..." after the file it saved; data.pkl sits at the top of it.
  const pkl = names.find((n) => /^[^/]+\/data\.pkl$/.test(n)) ?? names.find((n) => n === 'data.pkl');
  if (pkl === undefined) {
    throw new WeightsError('zip file without data.pkl: not a PyTorch checkpoint', {
      file,
      fix: 'pass a file written by torch.save, or a .safetensors file',
    });
  }
  const prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);
  const order = zip.entries.get(`${prefix}byteorder`);
  const byteorder = order ? new TextDecoder().decode(zip.read(order)).trim() : 'little';
  if (byteorder !== 'little' && byteorder !== 'big') throw damaged(file, `byteorder "${byteorder.slice(0, 20)}"`);
  const seen = new Map<string, string>();
  const { value } = unpickle(zip.read(zip.entries.get(pkl)!), 0, {
    file,
    persistentLoad: (pid) => {
      const { dtype, key, numel } = parseStorageId(pid, file);
      if ((seen.get(key) ?? dtype) !== dtype) throw damaged(file, `storage ${key} used with two element types`);
      seen.set(key, dtype);
      return new TorchStorageRef(dtype, key, numel);
    },
  });
  const inflated = new Map<string, Uint8Array>();
  return {
    root: value,
    bigEndian: byteorder === 'big',
    storageBytes: (ref) => {
      // Views share a storage: inflate each once (and count it once against the zip's budget).
      const done = inflated.get(ref.key);
      if (done) return done;
      const entry = zip.entries.get(`${prefix}data/${ref.key}`);
      if (!entry) throw damaged(file, `storage data/${ref.key} is missing from the archive`);
      // The pickle declares the storage's size: its entry holds no more than that.
      const bytes = zip.read(entry, (ref.rootOffset + ref.numel) * ITEM_SIZE[ref.dtype]!);
      inflated.set(ref.key, bytes);
      return bytes;
    },
  };
}

export function readTorchLegacy(buf: Uint8Array, file: string): TorchContainer {
  const magic = unpickle(buf, 0, { file });
  const protocol = unpickle(buf, magic.end, { file });
  if (protocol.value !== 1001) throw damaged(file, `legacy protocol version ${describePy(protocol.value)}, expected 1001`);
  const sysInfo = unpickle(buf, protocol.end, { file });
  const info = sysInfo.value;
  const little = info instanceof PyDict ? info.map.get('little_endian') : true;
  const roots = new Map<string, { dtype: string; numel: number }>();
  const main = unpickle(buf, sysInfo.end, {
    file,
    persistentLoad: (pid) => {
      const { dtype, key, numel, view } = parseStorageId(pid, file);
      const known = roots.get(key);
      if (known && known.dtype !== dtype) throw damaged(file, `storage ${key} used with two element types`);
      if (!known) roots.set(key, { dtype, numel });
      if (view === null) return new TorchStorageRef(dtype, key, (known ?? { numel }).numel);
      // view_metadata (view_key, offset, view_size): a slice of the root storage.
      const [, offset, size] = Array.isArray(view) ? (view as PyValue[]) : [];
      if (typeof offset !== 'number' || typeof size !== 'number' || offset < 0 || size < 0) throw damaged(file, 'bad storage view');
      return new TorchStorageRef(dtype, key, size, offset);
    },
  });
  const keys = unpickle(buf, main.end, { file });
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) throw damaged(file, 'storage key list missing');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const data = new Map<string, Uint8Array>();
  let pos = keys.end;
  for (const key of keys.value as string[]) {
    const root = roots.get(key);
    if (!root) throw damaged(file, `storage ${key} is listed but never used`);
    if (pos + 8 > buf.length) throw damaged(file, `storage ${key} is cut off (truncated file)`);
    const count = view.getBigInt64(pos, little !== false);
    const bytes = BigInt(ITEM_SIZE[root.dtype]!) * count;
    if (count < 0n || bytes > BigInt(buf.length - pos - 8)) throw damaged(file, `storage ${key} is cut off (truncated file)`);
    data.set(key, buf.subarray(pos + 8, pos + 8 + Number(bytes)));
    pos += 8 + Number(bytes);
  }
  return {
    root: main.value,
    bigEndian: little === false,
    storageBytes: (ref) => {
      const bytes = data.get(ref.key);
      if (!bytes) throw damaged(file, `storage ${ref.key} has no data`);
      return bytes;
    },
  };
}
