/**
 * Typed arrays one after another in one new array: batch outputs gathered into one logits array,
 * weight shards or tensors into one buffer, protobuf chunks into one message.
 */

function concatInto<T extends Float32Array | Uint8Array>(out: T, parts: readonly T[]): T {
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const lengthOf = (parts: readonly { length: number }[]) => parts.reduce((n, p) => n + p.length, 0);

export function concatFloat32(parts: readonly Float32Array[]): Float32Array {
  return concatInto(new Float32Array(lengthOf(parts)), parts);
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  return concatInto(new Uint8Array(lengthOf(parts)), parts);
}
