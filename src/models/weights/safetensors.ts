/**
 * safetensors reader: an 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets: [begin, end]}}, then the raw little-endian data.
 * F16 and BF16 are widened to float32 exactly; I64/I32 come back as int64.
 */
import { readFile } from 'node:fs/promises';
import { WeightsError } from '../../errors.js';
import { formatShape, numel, type HostTensor } from '../graph.js';
import { bf16ToF32, f16ToF32 } from './half.js';

const ITEM_SIZE: Record<string, number> = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, F64: 8, U8: 1, I8: 1, BOOL: 1 };
/** A header bigger than this is not a real checkpoint; refuse before allocating for it. */
const MAX_HEADER = 100 * 1024 * 1024;

export async function readSafetensorsFile(file: string): Promise<Map<string, HostTensor>> {
  return parseSafetensors(await readFile(file), file);
}

export function parseSafetensors(buf: Uint8Array, file = '<buffer>'): Map<string, HostTensor> {
  const bad = (what: string) =>
    new WeightsError(`not a valid safetensors file: ${what}`, {
      file,
      fix: 'the file may be truncated or not safetensors; download it again',
    });
  if (buf.length < 8) throw bad('shorter than its 8-byte header length');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = view.getBigUint64(0, true);
  if (headerLen > BigInt(Math.min(MAX_HEADER, buf.length - 8))) throw bad(`header length ${headerLen} exceeds the file`);
  const dataStart = 8 + Number(headerLen);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, dataStart))) as Record<string, unknown>;
  } catch {
    throw bad('header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad('header is not an object');
  const out = new Map<string, HostTensor>();
  const dataLen = buf.length - dataStart;
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = typeof e.dtype === 'string' ? e.dtype : '';
    const size = ITEM_SIZE[dtype];
    if (!size) throw bad(`${name} has unsupported dtype ${String(e.dtype)}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(`${name} has a bad shape`);
    const shape = e.shape as number[];
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw bad(`${name} has bad data_offsets`);
    }
    const [begin, end] = offs as [number, number];
    const n = numel(shape);
    if (end < begin || end > dataLen || end - begin !== n * size) {
      throw bad(`${name} (${dtype} ${formatShape(shape)}) needs ${n * size} bytes at ${begin}..${end} of ${dataLen}`);
    }
    out.set(name, decodeTensor(buf.subarray(dataStart + begin, dataStart + end), dtype, shape));
  }
  return out;
}

/** Raw little-endian bytes of one tensor to a HostTensor (float types -> float32, ints -> int64). */
export function decodeTensor(bytes: Uint8Array, dtype: string, shape: readonly number[]): HostTensor {
  const n = numel(shape);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': {
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = view.getFloat32(i * 4, true);
      return { dtype: 'float32', shape, data };
    }
    case 'F64': {
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = view.getFloat64(i * 8, true);
      return { dtype: 'float32', shape, data };
    }
    case 'F16': {
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = f16ToF32(view.getUint16(i * 2, true));
      return { dtype: 'float32', shape, data };
    }
    case 'BF16': {
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = bf16ToF32(view.getUint16(i * 2, true));
      return { dtype: 'float32', shape, data };
    }
    case 'I64': {
      const data = new BigInt64Array(n);
      for (let i = 0; i < n; i++) data[i] = view.getBigInt64(i * 8, true);
      return { dtype: 'int64', shape, data };
    }
    case 'I32': {
      const data = new BigInt64Array(n);
      for (let i = 0; i < n; i++) data[i] = BigInt(view.getInt32(i * 4, true));
      return { dtype: 'int64', shape, data };
    }
    case 'U8':
    case 'BOOL': {
      const data = new BigInt64Array(n);
      for (let i = 0; i < n; i++) data[i] = BigInt(view.getUint8(i));
      return { dtype: 'int64', shape, data };
    }
    case 'I8': {
      const data = new BigInt64Array(n);
      for (let i = 0; i < n; i++) data[i] = BigInt(view.getInt8(i));
      return { dtype: 'int64', shape, data };
    }
    default:
      throw new Error(`unsupported dtype ${dtype}`);
  }
}

/** Writes tensors as safetensors (used by tests to build recipe checkpoints, and by `zoo export`). */
export function encodeSafetensors(tensors: ReadonlyMap<string, HostTensor>): Uint8Array {
  const header: Record<string, { dtype: string; shape: readonly number[]; data_offsets: [number, number] }> = {};
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = t.data.byteLength;
    header[name] = { dtype: t.dtype === 'float32' ? 'F32' : 'I64', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += ' ';
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}
