/**
 * A minimal protobuf writer for the part of onnx.proto that a model file needs: ModelProto,
 * GraphProto, NodeProto, AttributeProto, TensorProto and ValueInfoProto. Write-only and
 * dependency-free; field numbers are onnx.proto's (ONNX 1.12, ir_version 8, opset 17).
 *
 * Messages are kept as lists of byte chunks and nested without copying, so a 140 MB weight
 * blob is copied exactly once, into the final buffer.
 */
import { concatBytes } from '../../util/concat.js';

/** TensorProto.DataType values we emit. */
export const DataType = { FLOAT: 1, INT64: 7 } as const;
export type DataTypeValue = (typeof DataType)[keyof typeof DataType];

/** AttributeProto.AttributeType values we emit. */
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

const utf8 = new TextEncoder();

/**
 * A protobuf message under construction: byte chunks plus pending small writes (`scratch`).
 * `length` always counts every byte, pending or not.
 */
class Msg {
  readonly chunks: Uint8Array[] = [];
  length = 0;
  private scratch: number[] = [];

  private byte(b: number): void {
    this.scratch.push(b);
    this.length += 1;
  }

  /** Moves pending small writes into a chunk, so a big chunk can follow in order. */
  private flush(): void {
    if (this.scratch.length === 0) return;
    this.chunks.push(Uint8Array.from(this.scratch));
    this.scratch = [];
  }

  /** Appends chunks written elsewhere (a nested message, a weight blob) without copying them. */
  private append(chunks: readonly Uint8Array[], length: number): void {
    this.flush();
    for (const c of chunks) this.chunks.push(c);
    this.length += length;
  }

  /** Varint of a non-negative integer, or two's complement for a negative int64. */
  private varint(v: number | bigint): void {
    let b = BigInt.asUintN(64, BigInt(v));
    while (b >= 0x80n) {
      this.byte(Number(b & 0x7fn) | 0x80);
      b >>= 7n;
    }
    this.byte(Number(b));
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, v: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.varint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    for (const x of b) this.byte(x);
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.varint(data.length);
    this.append([data], data.length);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, utf8.encode(s));
  }

  message(field: number, m: Msg): this {
    m.flush();
    this.tag(field, WIRE_LEN);
    this.varint(m.length);
    this.append(m.chunks, m.length);
    return this;
  }

  /** Packed repeated int64 (how proto3 writes repeated scalars; onnxruntime reads both forms). */
  packedInts(field: number, vs: readonly (number | bigint)[]): this {
    const inner = new Msg();
    for (const v of vs) inner.varint(v);
    return this.message(field, inner);
  }

  packedFloats(field: number, vs: readonly number[]): this {
    const b = new Uint8Array(vs.length * 4);
    const dv = new DataView(b.buffer);
    vs.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    return this.bytes(field, b);
  }

  finish(): Uint8Array {
    this.flush();
    const out = concatBytes(this.chunks);
    if (out.length !== this.length) throw new Error(`protobuf writer: ${out.length} bytes written, ${this.length} counted`);
    return out;
  }
}

export type AttributeValue =
  | { f: number }
  | { i: number }
  | { s: string }
  | { floats: readonly number[] }
  | { ints: readonly number[] };

export interface OnnxNode {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  attributes?: Readonly<Record<string, AttributeValue>>;
}

export interface OnnxTensor {
  name: string;
  dataType: DataTypeValue;
  dims: readonly number[];
  /** Little-endian raw bytes: float32 or int64 elements. */
  raw: Uint8Array;
}

export interface OnnxValueInfo {
  name: string;
  elemType: DataTypeValue;
  /** A number for a fixed dimension, a string for a symbolic one (the batch, `N`). */
  dims: readonly (number | string)[];
}

export interface OnnxModel {
  graphName: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxTensor[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
  irVersion: number;
  opset: number;
  producer: string;
  producerVersion: string;
}

function attribute(name: string, v: AttributeValue): Msg {
  const m = new Msg().string(1, name);
  if ('f' in v) return m.float(2, v.f).int(20, AttrType.FLOAT);
  if ('i' in v) return m.int(3, v.i).int(20, AttrType.INT);
  if ('s' in v) return m.string(4, v.s).int(20, AttrType.STRING);
  if ('floats' in v) return m.packedFloats(7, v.floats).int(20, AttrType.FLOATS);
  return m.packedInts(8, v.ints).int(20, AttrType.INTS);
}

function node(n: OnnxNode): Msg {
  const m = new Msg();
  for (const i of n.inputs) m.string(1, i);
  for (const o of n.outputs) m.string(2, o);
  if (n.name !== undefined) m.string(3, n.name);
  m.string(4, n.opType);
  for (const [k, v] of Object.entries(n.attributes ?? {})) m.message(5, attribute(k, v));
  return m;
}

function tensor(t: OnnxTensor): Msg {
  return new Msg().packedInts(1, t.dims).int(2, t.dataType).string(8, t.name).bytes(9, t.raw);
}

function valueInfo(v: OnnxValueInfo): Msg {
  const shape = new Msg();
  for (const d of v.dims) shape.message(1, typeof d === 'number' ? new Msg().int(1, d) : new Msg().string(2, d));
  const tensorType = new Msg().int(1, v.elemType).message(2, shape);
  const type = new Msg().message(1, tensorType);
  return new Msg().string(1, v.name).message(2, type);
}

/** Serialises a whole ModelProto. */
export function encodeModel(model: OnnxModel): Uint8Array {
  const graph = new Msg();
  for (const n of model.nodes) graph.message(1, node(n));
  graph.string(2, model.graphName);
  for (const t of model.initializers) graph.message(5, tensor(t));
  for (const i of model.inputs) graph.message(11, valueInfo(i));
  for (const o of model.outputs) graph.message(12, valueInfo(o));
  const opset = new Msg().string(1, '').int(2, model.opset);
  return new Msg()
    .int(1, model.irVersion)
    .string(2, model.producer)
    .string(3, model.producerVersion)
    .message(7, graph)
    .message(8, opset)
    .finish();
}

/** Raw little-endian bytes of a typed array (a view, no copy, on little-endian hosts). */
export function rawBytes(data: Float32Array | BigInt64Array): Uint8Array {
  if (!LITTLE_ENDIAN) throw new Error('ONNX export needs a little-endian host');
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
