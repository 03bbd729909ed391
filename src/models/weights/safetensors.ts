/**
 * safetensors reader: an 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets: [begin, end]}}, then the raw little-endian data.
 * F16 and BF16 are widened to float32 exactly; I64/I32 come back as int64.
 */
import { readFile } from 'node:fs/promises';
import { WeightsError } from '../../errors.js';
import { formatShape, numel, type HostTensor } from '../graph.js';
import { bf16ToF32, f16ToF32 } from './half.js';

/** Bytes per element of every dtype the readers decode (safetensors names; the pickle readers map to them). */
export const ITEM_SIZE: Readonly<Record<string, number>> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};
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
  const dataLen = buf.length - dataStart;
  const ranges: { name: string; begin: number; end: number; dtype: string; shape: number[] }[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (typeof entry !== 'object' || entry === null) throw bad(`${name} is not a tensor entry`);
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = typeof e.dtype === 'string' && Object.hasOwn(ITEM_SIZE, e.dtype) ? e.dtype : '';
    if (!dtype) throw bad(`${name} has unsupported dtype ${String(e.dtype)}`);
    const size = ITEM_SIZE[dtype]!;
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
    ranges.push({ name, begin, end, dtype, shape });
  }
  // The format forbids overlapping tensors; refusing them also bounds what we allocate by the file size.
  const sorted = [...ranges].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.begin < sorted[i - 1]!.end) throw bad(`${sorted[i]!.name} overlaps ${sorted[i - 1]!.name}`);
  }
  const out = new Map<string, HostTensor>();
  for (const r of ranges) out.set(r.name, decodeTensor(buf.subarray(dataStart + r.begin, dataStart + r.end), r.dtype, r.shape));
  return out;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Copies bytes into a fresh, aligned buffer (typed-array views need alignment). */
function aligned(bytes: Uint8Array, n: number, itemSize: number): ArrayBuffer {
  const ab = new ArrayBuffer(n * itemSize);
  new Uint8Array(ab).set(bytes.subarray(0, n * itemSize));
  return ab;
}

let halfTable: Float32Array | undefined;
/** All 65536 half values, built once: widening then is one table lookup per element. */
function f16Table(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) halfTable[i] = f16ToF32(i);
  }
  return halfTable;
}

/**
 * Raw little-endian bytes of one tensor to a HostTensor (float types -> float32, ints -> int64).
 * `bytes` must hold exactly numel(shape) elements of `dtype`.
 */
export function decodeTensor(bytes: Uint8Array, dtype: string, shape: readonly number[]): HostTensor {
  const n = numel(shape);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': {
      if (LITTLE_ENDIAN_HOST) return { dtype: 'float32', shape, data: new Float32Array(aligned(bytes, n, 4)) };
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
      const table = f16Table();
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = table[view.getUint16(i * 2, true)]!;
      return { dtype: 'float32', shape, data };
    }
    case 'BF16': {
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = bf16ToF32(view.getUint16(i * 2, true));
      return { dtype: 'float32', shape, data };
    }
    case 'I64': {
      if (LITTLE_ENDIAN_HOST) return { dtype: 'int64', shape, data: new BigInt64Array(aligned(bytes, n, 8)) };
      const data = new BigInt64Array(n);
      for (let i = 0; i < n; i++) data[i] = view.getBigInt64(i * 8, true);
      return { dtype: 'int64', shape, data };
    }
    default: {
      const read = INT_READERS[dtype];
      if (!read) throw new Error(`decodeTensor: unsupported dtype ${dtype}`);
      const data = new BigInt64Array(n);
      const size = ITEM_SIZE[dtype]!;
      for (let i = 0; i < n; i++) data[i] = BigInt(read(view, i * size));
      return { dtype: 'int64', shape, data };
    }
  }
}

const INT_READERS: Readonly<Record<string, (v: DataView, at: number) => number>> = {
  I32: (v, at) => v.getInt32(at, true),
  I16: (v, at) => v.getInt16(at, true),
  I8: (v, at) => v.getInt8(at),
  U32: (v, at) => v.getUint32(at, true),
  U16: (v, at) => v.getUint16(at, true),
  U8: (v, at) => v.getUint8(at),
  BOOL: (v, at) => (v.getUint8(at) ? 1 : 0),
};

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
