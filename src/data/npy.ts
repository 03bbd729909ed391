/**
 * NumPy .npy (format 1.0/2.0/3.0) reading and writing for float32 arrays: the input and output of
 * `zoo logits`, and the golden reference files.
 */
import { readFile } from 'node:fs/promises';
import { DataError, errnoWords } from '../errors.js';

export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function parseNpy(buf: Uint8Array, file = '<buffer>'): NpyArray {
  const bad = (what: string) =>
    new DataError(`not a float32 .npy array: ${what}`, { file, expected: "a NumPy array saved with dtype float32 ('<f4')" });
  if (buf.length < 10 || MAGIC.some((b, i) => buf[i] !== b)) throw bad('missing the \\x93NUMPY magic');
  const major = buf[6]!;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + headerLen > buf.length) throw bad('header runs past the end of the file');
  const header = new TextDecoder().decode(buf.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr !== '<f4') throw bad(`dtype is ${descr ?? 'unknown'}`);
  if (fortran) throw bad('array is in Fortran order');
  if (shapeText === undefined) throw bad('no shape in header');
  const dims = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  // Every dimension a non-negative decimal integer: (-1, 3, -4, 4) multiplies to a plausible size.
  const badDim = dims.find((d) => !/^\d{1,10}$/.test(d));
  if (badDim !== undefined) throw bad(`shape (${shapeText.trim().slice(0, 60)}) has the dimension '${badDim.slice(0, 20)}', not a non-negative integer`);
  const shape = dims.map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(n * 4)) throw bad(`shape (${shape.join(', ')}) is too large`);
  const dataStart = start + headerLen;
  if (buf.length - dataStart !== n * 4) throw bad(`holds ${buf.length - dataStart} data bytes, shape needs ${n * 4}`);
  const data = new Float32Array(n);
  const dv = new DataView(buf.buffer, buf.byteOffset + dataStart, n * 4);
  for (let i = 0; i < n; i++) data[i] = dv.getFloat32(i * 4, true);
  return { shape, data };
}

export async function readNpy(file: string): Promise<NpyArray> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    throw new DataError(`cannot read: ${errnoWords(e)}`, { file });
  }
  return parseNpy(buf, file);
}

export function encodeNpy(a: NpyArray): Uint8Array {
  const shape = a.shape.length === 1 ? `(${a.shape[0]},)` : `(${a.shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad so the data starts on a 64-byte boundary, newline-terminated, as numpy writes it.
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + a.data.length * 4);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const dv = new DataView(out.buffer, 10 + header.length);
  for (let i = 0; i < a.data.length; i++) dv.setFloat32(i * 4, a.data[i]!, true);
  return out;
}
