/**
 * A minimal read-only zip reader for PyTorch's `.pth` zip layout: central directory, ZIP64
 * end-of-central-directory records and extra fields, stored (torch's choice) and deflated
 * entries. Every offset and size is checked against the buffer before use; nothing is
 * decompressed until asked for, and then never beyond the entry's declared size.
 *
 * Zip bombs: a deflated entry may declare any size (32 bits, or 64 with ZIP64), and inflating it
 * allocates that much. Before anything is inflated its declared size must be one deflate can
 * produce from its compressed bytes (at most MAX_DEFLATE_RATIO to 1), fit what the caller expects
 * (a storage's bytes as the pickle declares them), and fit what is left of the archive's
 * inflation budget: the file's size times MAX_INFLATION, at least MIN_INFLATION_BUDGET. Stored
 * entries (torch's own choice) are views into the file and cost nothing.
 */
import { inflateRawSync } from 'node:zlib';
import { WeightsError } from '../../errors.js';

export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  /** Offset of the local file header. */
  readonly headerOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
/** Central directory header size before the name. */
const CENTRAL_SIZE = 46;
/** Deflate's best case: 258-byte matches in ~2-bit codes, 1032:1. */
const MAX_DEFLATE_RATIO = 1032;
/** Inflated bytes per byte of archive: real weights barely compress (float noise, ~1.1:1). */
const MAX_INFLATION = 16;
/** Small archives (a pickle, a few tensors) may inflate this much whatever their size. */
const MIN_INFLATION_BUDGET = 64 * 1024 * 1024;

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();
  private readonly view: DataView;
  /** Bytes the deflated entries may still inflate to. */
  private inflationLeft: number;

  constructor(
    private readonly buf: Uint8Array,
    private readonly file: string,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.inflationLeft = Math.max(MIN_INFLATION_BUDGET, buf.length * MAX_INFLATION);
    this.readCentralDirectory();
  }

  private fail(what: string): WeightsError {
    return new WeightsError(`not a readable PyTorch zip checkpoint: ${what}`, {
      file: this.file,
      fix: 'the file is truncated or damaged; download it again',
    });
  }

  private u16(at: number): number {
    if (at < 0 || at + 2 > this.buf.length) throw this.fail('a record runs past the end of the file');
    return this.view.getUint16(at, true);
  }

  private u32(at: number): number {
    if (at < 0 || at + 4 > this.buf.length) throw this.fail('a record runs past the end of the file');
    return this.view.getUint32(at, true);
  }

  private u64(at: number): number {
    if (at < 0 || at + 8 > this.buf.length) throw this.fail('a record runs past the end of the file');
    const v = this.view.getBigUint64(at, true);
    if (v > BigInt(this.buf.length)) throw this.fail(`a size or offset (${v}) exceeds the file`);
    return Number(v);
  }

  private readCentralDirectory(): void {
    const len = this.buf.length;
    let eocd = -1;
    for (let at = len - 22; at >= Math.max(0, len - 22 - 0xffff); at--) {
      if (this.view.getUint32(at, true) === EOCD) {
        eocd = at;
        break;
      }
    }
    if (eocd < 0) throw this.fail('no end-of-central-directory record (truncated?)');
    let count = this.u16(eocd + 10);
    let cdSize = this.u32(eocd + 12);
    let cdOffset = this.u32(eocd + 16);
    const loc = eocd - 20;
    if (loc >= 0 && this.u32(loc) === ZIP64_LOCATOR) {
      const z = this.u64(loc + 8);
      if (this.u32(z) !== ZIP64_EOCD) throw this.fail('ZIP64 locator points at no ZIP64 record');
      count = this.u64(z + 32);
      cdSize = this.u64(z + 40);
      cdOffset = this.u64(z + 48);
    }
    if (cdOffset + cdSize > len) throw this.fail('central directory lies outside the file');
    if (count * CENTRAL_SIZE > cdSize) throw this.fail(`central directory too small for ${count} entries`);
    const names = new TextDecoder('utf-8');
    let at = cdOffset;
    for (let i = 0; i < count; i++) {
      if (at + CENTRAL_SIZE > cdOffset + cdSize || this.u32(at) !== CENTRAL) throw this.fail(`central directory entry ${i} is damaged`);
      const method = this.u16(at + 10);
      let compressedSize = this.u32(at + 20);
      let size = this.u32(at + 24);
      const nameLen = this.u16(at + 28);
      const extraLen = this.u16(at + 30);
      const commentLen = this.u16(at + 32);
      let headerOffset = this.u32(at + 42);
      const nameAt = at + CENTRAL_SIZE;
      const extraAt = nameAt + nameLen;
      const next = extraAt + extraLen + commentLen;
      if (next > cdOffset + cdSize) throw this.fail(`central directory entry ${i} runs past the directory`);
      const name = names.decode(this.buf.subarray(nameAt, extraAt));
      // ZIP64 extra field: the 64-bit values, in this order, for the fields that read 0xFFFFFFFF.
      for (let e = extraAt; e + 4 <= extraAt + extraLen; ) {
        const id = this.u16(e);
        const n = this.u16(e + 2);
        if (e + 4 + n > extraAt + extraLen) throw this.fail(`extra field of ${name} runs past its entry`);
        if (id === 0x0001) {
          let f = e + 4;
          const take = () => {
            if (f + 8 > e + 4 + n) throw this.fail(`ZIP64 extra field of ${name} is too short`);
            const v = this.u64(f);
            f += 8;
            return v;
          };
          if (size === 0xffffffff) size = take();
          if (compressedSize === 0xffffffff) compressedSize = take();
          if (headerOffset === 0xffffffff) headerOffset = take();
        }
        e += 4 + n;
      }
      if (!this.entries.has(name)) this.entries.set(name, { name, method, compressedSize, size, headerOffset });
      at = next;
    }
  }

  /**
   * The entry's bytes: a view into the file for stored entries, inflated for deflated ones.
   * `expected`: what the caller knows the entry must hold at most (a storage's declared bytes).
   */
  read(entry: ZipEntry, expected?: number): Uint8Array {
    const h = entry.headerOffset;
    if (this.u32(h) !== LOCAL) throw this.fail(`local header of ${entry.name} is missing`);
    const start = h + 30 + this.u16(h + 26) + this.u16(h + 28);
    const end = start + entry.compressedSize;
    if (end > this.buf.length) throw this.fail(`${entry.name} runs past the end of the file (truncated?)`);
    const raw = this.buf.subarray(start, end);
    if (entry.method === 0) {
      if (entry.size !== entry.compressedSize) throw this.fail(`stored entry ${entry.name} has two different sizes`);
      return raw;
    }
    if (entry.method === 8) {
      // Refuse a bomb before allocating anything for it.
      if (entry.size > entry.compressedSize * MAX_DEFLATE_RATIO + 1024) {
        throw this.fail(`${entry.name} declares ${entry.size} bytes from ${entry.compressedSize} compressed, more than deflate can produce (a zip bomb?)`);
      }
      if (expected !== undefined && entry.size > expected) {
        throw this.fail(`${entry.name} declares ${entry.size} bytes, but the checkpoint says it holds ${expected} (a zip bomb?)`);
      }
      if (entry.size > this.inflationLeft) {
        throw this.fail(
          `${entry.name} declares ${entry.size} bytes, more than a ${this.buf.length}-byte archive may inflate to (${MAX_INFLATION}x its size, at least ${MIN_INFLATION_BUDGET / 2 ** 20} MiB, in all; a zip bomb?)`,
        );
      }
      this.inflationLeft -= entry.size;
      let out: Uint8Array;
      try {
        out = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
      } catch {
        throw this.fail(`${entry.name} does not inflate to its declared ${entry.size} bytes`);
      }
      if (out.length !== entry.size) throw this.fail(`${entry.name} inflates to ${out.length} bytes, not ${entry.size}`);
      return out;
    }
    throw this.fail(`${entry.name} uses compression method ${entry.method}`);
  }
}
