/**
 * Turns the tensor references a pickle yields (a torch tensor over a storage with offset and
 * strides, a numpy array with its raw bytes) into contiguous HostTensors.
 *
 * Every reference is checked against the bytes that back it before anything is allocated, and
 * all tensors of one file share an element budget proportional to the file's size: views may
 * legitimately share a storage (so their sum can exceed it a little), but a hostile file cannot
 * make a few bytes expand into gigabytes.
 */
import { WeightsError } from '../../errors.js';
import { formatShape, type HostTensor } from '../graph.js';
import { NdArrayRef, TorchTensorRef } from './pickle.js';
import { decodeTensor, ITEM_SIZE } from './safetensors.js';

/** Elements the readers may still produce for one file. */
export class ElementBudget {
  private left: number;
  constructor(fileBytes: number) {
    // Each element needs at least one byte of the file, shared views a few times over.
    this.left = 4 * fileBytes + 4096;
  }
  take(n: number, name: string, file: string): void {
    if (n > this.left) {
      throw new WeightsError(`tensor ${name} claims more elements than the file could hold`, {
        file,
        fix: 'the file is damaged or crafted; download it again',
      });
    }
    this.left -= n;
  }
}

/** numpy type strings (without byte order) to the reader's dtype names. */
const NUMPY_DTYPES: Readonly<Record<string, string>> = {
  f4: 'F32',
  f8: 'F64',
  f2: 'F16',
  i8: 'I64',
  i4: 'I32',
  i2: 'I16',
  i1: 'I8',
  u4: 'U32',
  u2: 'U16',
  u1: 'U8',
  b1: 'BOOL',
};

function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Gathers a strided view into contiguous bytes. Bounds were checked by the caller:
 * every index offset + sum((shape[i]-1) * stride[i]) lies inside `src`.
 */
function gather(src: Uint8Array, itemSize: number, offset: number, shape: readonly number[], stride: readonly number[]): Uint8Array {
  const n = product(shape);
  const rank = shape.length;
  const contiguous = shape.every((d, i) => d === 1 || stride[i] === product(shape.slice(i + 1)));
  if (contiguous) return src.subarray(offset * itemSize, (offset + n) * itemSize);
  const out = new Uint8Array(n * itemSize);
  const idx = new Array<number>(rank).fill(0);
  let at = offset;
  for (let k = 0; k < n; k++) {
    out.set(src.subarray(at * itemSize, (at + 1) * itemSize), k * itemSize);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      at += stride[d]!;
      if (idx[d]! < shape[d]!) break;
      at -= stride[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

function swapBytes(bytes: Uint8Array, itemSize: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += itemSize) for (let j = 0; j < itemSize; j++) out[i + j] = bytes[i + itemSize - 1 - j]!;
  return out;
}

/**
 * A torch tensor over its storage. `root` is the storage's bytes as stored in the file
 * (the whole root storage; legacy view storages start `rootOffset` elements into it).
 */
export function torchTensorToHost(
  t: TorchTensorRef,
  root: Uint8Array,
  name: string,
  file: string,
  budget: ElementBudget,
  bigEndian = false,
): HostTensor {
  const { dtype, numel: storageNumel, rootOffset } = t.storage;
  const itemSize = ITEM_SIZE[dtype]!;
  const bad = (what: string) =>
    new WeightsError(`tensor ${name} ${formatShape(t.shape)}: ${what}`, { file, fix: 'the file is damaged; download it again' });
  if (root.length < (rootOffset + storageNumel) * itemSize) {
    throw bad(`its storage ${t.storage.key} needs ${(rootOffset + storageNumel) * itemSize} bytes, the file has ${root.length}`);
  }
  if (t.shape.some((d) => d < 0) || t.stride.some((s) => s < 0)) throw bad('negative size or stride');
  const n = product(t.shape);
  if (n > 0) {
    let last = t.offset;
    t.shape.forEach((d, i) => (last += (d - 1) * t.stride[i]!));
    if (!(last < storageNumel)) throw bad(`reaches element ${last} of a ${storageNumel}-element storage`);
  }
  budget.take(n, name, file);
  const storage = root.subarray(rootOffset * itemSize, (rootOffset + storageNumel) * itemSize);
  let bytes = gather(storage, itemSize, t.offset, t.shape, t.stride);
  if (bigEndian && itemSize > 1) bytes = swapBytes(bytes, itemSize);
  return decodeTensor(bytes, dtype, t.shape);
}

/** A numpy array (Paddle checkpoints): C or Fortran order, either byte order. */
export function ndarrayToHost(a: NdArrayRef, name: string, file: string, budget: ElementBudget): HostTensor {
  const bad = (what: string) =>
    new WeightsError(`array ${name}: ${what}`, { file, fix: 'the file is damaged or not a Paddle checkpoint; download it again' });
  if (!a.dtype || !a.data) throw bad('was never filled with data');
  const descr = a.dtype.descr.replace(/^[<>|=]/, '');
  const dtype = NUMPY_DTYPES[descr];
  if (!dtype) throw bad(`has numpy dtype ${a.dtype.descr}, which is not a weight type`);
  const itemSize = ITEM_SIZE[dtype]!;
  const n = product(a.shape);
  if (a.data.length !== n * itemSize) throw bad(`shape ${formatShape(a.shape)} needs ${n * itemSize} bytes, it has ${a.data.length}`);
  budget.take(n, name, file);
  let bytes = a.data;
  if (a.fortran && a.shape.length > 1) {
    // Column-major: element (i0, i1, ...) sits at i0 + i1*d0 + ...; gather it into row-major order.
    const stride: number[] = [];
    let s = 1;
    for (const d of a.shape) {
      stride.push(s);
      s *= d;
    }
    bytes = gather(bytes, itemSize, 0, a.shape, stride);
  }
  const order = a.dtype.descr.startsWith('>') ? '>' : a.dtype.byteorder;
  if (order === '>' && itemSize > 1) bytes = swapBytes(bytes, itemSize);
  return decodeTensor(bytes, dtype, [...a.shape]);
}
