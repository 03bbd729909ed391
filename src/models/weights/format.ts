/**
 * Which checkpoint format a file's first bytes say it is. The format is recognised from the
 * content, never the extension (`.pth.tar`, `.bin`, `.pt` and `.pdparams` are all used loosely):
 *   "PK\x03\x04"                     PyTorch zip layout
 *   "\x80\x02\x8a\x0a<torch magic>"  PyTorch legacy layout
 *   "\x80"                           plain pickle: Paddle .pdparams ({name: numpy.ndarray})
 *   8-byte length + "{"              safetensors
 * Kept apart from the readers so the cache (verify.ts) can recognise a file without loading them.
 */
export type CheckpointFormat = 'safetensors' | 'torch-zip' | 'torch-legacy' | 'pickle';

/** The first bytes of a legacy torch file: protocol 2, LONG1 of 10 bytes, the magic 0x1950a86a20f9469cfc6c. */
export const LEGACY_MAGIC = Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);

/** Bytes detectFormat needs to see. */
export const FORMAT_PROBE_BYTES = 16;

export function detectFormat(buf: Uint8Array): CheckpointFormat | undefined {
  if (buf.length >= 4 && buf[0] === 0x50 && buf[1] === 0x4b && buf[2] === 0x03 && buf[3] === 0x04) return 'torch-zip';
  if (buf.length >= LEGACY_MAGIC.length && LEGACY_MAGIC.every((b, i) => buf[i] === b)) return 'torch-legacy';
  if (buf.length >= 2 && buf[0] === 0x80 && buf[1]! >= 2 && buf[1]! <= 5) return 'pickle';
  if (buf.length >= 9 && buf[8] === 0x7b && buf[6] === 0 && buf[7] === 0) return 'safetensors';
  return undefined;
}
