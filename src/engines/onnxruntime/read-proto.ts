/**
 * A minimal ONNX reader for what onnxruntime does not tell: the parameter count (the initializers'
 * element counts, quantized or not), their element types, the opset and the producer. It walks the
 * protobuf wire format of ModelProto -> GraphProto -> TensorProto and skips everything else, so it
 * reads a 100 MB model in one pass without decoding weights.
 */

export interface OnnxSummary {
  producer: string;
  irVersion: number;
  opsets: { domain: string; version: number }[];
  /** Elements over all initializers (weights, biases, quantization scales and zero points). */
  params: number;
  /** Element count per TensorProto data type name (`float`, `int8`, `uint8`, `float16`, ...). */
  paramsByType: Record<string, number>;
  nodes: number;
}

const TYPE_NAMES: Record<number, string> = {
  1: 'float', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'double', 12: 'uint32', 13: 'uint64', 16: 'bfloat16',
};

/** A cursor over protobuf bytes; throws on anything running past the end (a truncated file). */
class Reader {
  pos: number;
  constructor(readonly buf: Uint8Array, start = 0, readonly end = buf.length) {
    this.pos = start;
  }
  done(): boolean {
    return this.pos >= this.end;
  }
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new RangeError('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new RangeError('varint too long');
  }
  /** Skips a field of the given wire type, returning [start, end) of a length-delimited payload. */
  skip(wire: number): [number, number] {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 5) this.pos += 4;
    else if (wire === 2) {
      const len = this.varint();
      const s = this.pos;
      this.pos += len;
      if (this.pos > this.end) throw new RangeError('truncated field');
      return [s, this.pos];
    } else throw new RangeError(`bad wire type ${wire}`);
    if (this.pos > this.end) throw new RangeError('truncated field');
    return [this.pos, this.pos];
  }
}

const text = new TextDecoder();

function tensorInfo(buf: Uint8Array, start: number, end: number): { elements: number; type: number } {
  const r = new Reader(buf, start, end);
  const dims: number[] = [];
  let type = 0;
  while (!r.done()) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 1 && wire === 0) dims.push(r.varint());
    else if (field === 1 && wire === 2) {
      const [s, e] = r.skip(2);
      const inner = new Reader(buf, s, e);
      while (!inner.done()) dims.push(inner.varint());
    } else if (field === 2 && wire === 0) type = r.varint();
    else r.skip(wire);
  }
  return { elements: dims.reduce((a, b) => a * b, 1), type };
}

/** Reads the summary; throws RangeError when the bytes are not a whole ModelProto. */
export function summarizeOnnx(buf: Uint8Array): OnnxSummary {
  const out: OnnxSummary = { producer: '', irVersion: 0, opsets: [], params: 0, paramsByType: {}, nodes: 0 };
  const r = new Reader(buf);
  let sawGraph = false;
  while (!r.done()) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 1 && wire === 0) out.irVersion = r.varint();
    else if (field === 2 && wire === 2) {
      const [s, e] = r.skip(2);
      out.producer = text.decode(buf.subarray(s, e));
    } else if (field === 8 && wire === 2) {
      const [s, e] = r.skip(2);
      const o = new Reader(buf, s, e);
      let domain = '';
      let version = 0;
      while (!o.done()) {
        const k = o.varint();
        if (k === (1 << 3) + 2) {
          const [a, b] = o.skip(2);
          domain = text.decode(buf.subarray(a, b));
        } else if (k === (2 << 3) + 0) version = o.varint();
        else o.skip(k & 7);
      }
      out.opsets.push({ domain, version });
    } else if (field === 7 && wire === 2) {
      sawGraph = true;
      const [s, e] = r.skip(2);
      const g = new Reader(buf, s, e);
      while (!g.done()) {
        const k = g.varint();
        const f = Math.floor(k / 8);
        const w = k & 7;
        if (f === 5 && w === 2) {
          const [a, b] = g.skip(2);
          const t = tensorInfo(buf, a, b);
          out.params += t.elements;
          const name = TYPE_NAMES[t.type] ?? `type${t.type}`;
          out.paramsByType[name] = (out.paramsByType[name] ?? 0) + t.elements;
        } else if (f === 1 && w === 2) {
          out.nodes++;
          g.skip(2);
        } else g.skip(w);
      }
    } else r.skip(wire);
  }
  if (!sawGraph) throw new RangeError('no graph');
  return out;
}
