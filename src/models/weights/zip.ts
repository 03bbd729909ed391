/**
 * A minimal read-only zip reader for PyTorch's `.pth` zip layout, the whole file in memory: the
 * records (central directory, ZIP64 end records and extra fields) are parsed by io/zip.ts, the
 * entries are stored (torch's choice) or deflated. Every offset and size is checked against the
 * buffer before use; nothing is decompressed until asked for, and then never beyond the entry's
 * declared size.
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
import { centralDirectoryDefect, END_SEARCH_BYTES, findEndRecord, localDataOffset, LOCAL_HEADER_BYTES, parseCentralDirectory, readZip64EndRecord, zip64EndRecordOffset, ZIP64_END_RECORD_BYTES, ZIP64_LOCATOR_BYTES, type CentralEntry } from '../../io/zip.js';

/** An entry as the central directory lists it (io/zip.ts). */
export type ZipEntry = CentralEntry;

/** Deflate's best case: 258-byte matches in ~2-bit codes, 1032:1. */
const MAX_DEFLATE_RATIO = 1032;
/** Inflated bytes per byte of archive: real weights barely compress (float noise, ~1.1:1). */
const MAX_INFLATION = 16;
/** Small archives (a pickle, a few tensors) may inflate this much whatever their size. */
const MIN_INFLATION_BUDGET = 64 * 1024 * 1024;

export class ZipReader {
  /** By name; the first of a name stored twice. */
  readonly entries = new Map<string, ZipEntry>();
  /** Bytes the deflated entries may still inflate to. */
  private inflationLeft: number;

  constructor(
    private readonly buf: Uint8Array,
    private readonly file: string,
  ) {
    this.inflationLeft = Math.max(MIN_INFLATION_BUDGET, buf.length * MAX_INFLATION);
    this.readCentralDirectory();
  }

  private fail(what: string): WeightsError {
    return new WeightsError(`not a readable PyTorch zip checkpoint: ${what}`, {
      file: this.file,
      fix: 'the file is truncated or damaged; download it again',
    });
  }

  private readCentralDirectory(): void {
    const len = this.buf.length;
    const tailStart = Math.max(0, len - END_SEARCH_BYTES);
    const end = findEndRecord(this.buf.subarray(tailStart));
    if (!end) throw this.fail('no end-of-central-directory record (truncated?)');
    let dir = end.directory;
    // A ZIP64 locator right before the end record holds the real values, whether or not the
    // classic fields overflowed.
    const eocd = tailStart + end.at;
    const z = eocd >= ZIP64_LOCATOR_BYTES ? zip64EndRecordOffset(this.buf.subarray(eocd - ZIP64_LOCATOR_BYTES, eocd)) : null;
    if (z !== null) {
      if (z + ZIP64_END_RECORD_BYTES > len) throw this.fail(`the ZIP64 end record (at byte ${z}) lies outside the file`);
      const dir64 = readZip64EndRecord(this.buf.subarray(z, z + ZIP64_END_RECORD_BYTES));
      if (!dir64) throw this.fail('ZIP64 locator points at no ZIP64 record');
      dir = dir64;
    }
    const defect = centralDirectoryDefect(dir, len);
    if (defect !== null) throw this.fail(defect);
    const fail = (what: string) => this.fail(what);
    // torch writes UTF-8 names without flagging them.
    for (const entry of parseCentralDirectory(this.buf.subarray(dir.offset, dir.offset + dir.bytes), dir.count, 'utf8', fail)) {
      if (!this.entries.has(entry.name)) this.entries.set(entry.name, entry);
    }
  }

  /**
   * The entry's bytes: a view into the file for stored entries, inflated for deflated ones.
   * `expected`: what the caller knows the entry must hold at most (a storage's declared bytes).
   */
  read(entry: ZipEntry, expected?: number): Uint8Array {
    const h = entry.headerOffset;
    const start = localDataOffset(this.buf.subarray(h, h + LOCAL_HEADER_BYTES), h);
    if (start === null) throw this.fail(`local header of ${entry.name} is missing`);
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
