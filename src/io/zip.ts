/**
 * The zip container's records, parsed from bytes the caller has read: the end-of-central-directory
 * record (and its ZIP64 locator and record, for archives over 4 GiB or 65,535 entries) and the
 * central directory with its ZIP64 extra fields. Below both zip readers: torch's `.pth` checkpoints
 * (models/weights/zip.ts, the whole file in memory) and test-set archives read in place
 * (data/zip.ts, an 8 GB ImageNet-Sketch read through a file handle). Neither reading nor any
 * policy lives here: each caller decides which records to read, what a damaged archive is called
 * (`fail` makes the caller's error), and what it accepts (bomb bounds, entry paths, links).
 *
 * Every read is bounds-checked against the bytes given; 64-bit values above 2^53 read as
 * Number.MAX_SAFE_INTEGER, so a caller's size and offset checks refuse them like any other
 * value past its file.
 */

/** The caller's error for a damaged archive, from what is wrong. */
export type ZipFail = (what: string) => Error;

/** The end-of-central-directory record without its comment. */
export const END_RECORD_BYTES = 22;
/** The end record sits in the last 22 bytes plus a comment of at most 65,535. */
export const END_SEARCH_BYTES = END_RECORD_BYTES + 0xffff;
/** The ZIP64 locator, right before the end record. */
export const ZIP64_LOCATOR_BYTES = 20;
/** The fixed part of the ZIP64 end record (what is read of it). */
export const ZIP64_END_RECORD_BYTES = 56;
/** A central directory header before its name. */
export const CENTRAL_HEADER_BYTES = 46;
/** A local file header before its name and extra field. */
export const LOCAL_HEADER_BYTES = 30;
export const LOCAL_HEADER_SIGNATURE = 0x04034b50;

const END_RECORD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_END_RECORD = 0x06064b50;
const CENTRAL_HEADER = 0x02014b50;

/** Where the central directory is and how many entries it says it holds. */
export interface CentralDirectoryPosition {
  offset: number;
  bytes: number;
  count: number;
}

export interface EndRecord {
  /** Offset of the record in the bytes searched. */
  at: number;
  directory: CentralDirectoryPosition;
  /** Some field reads 0xffff / 0xffffffff: the real values are in the ZIP64 end record. */
  overflowed: boolean;
}

/** One central directory entry, ZIP64 values applied. */
export interface CentralEntry {
  readonly name: string;
  /** Bytes of the stored name (the local header repeats it). */
  readonly nameBytes: number;
  /** General purpose flags (bit 0: encrypted, bit 11: UTF-8 name). */
  readonly flags: number;
  /** 0 stored, 8 deflate, anything else unsupported by both readers. */
  readonly method: number;
  readonly compressedSize: number;
  /** Declared uncompressed size. */
  readonly size: number;
  /** Offset of the local file header. */
  readonly headerOffset: number;
  /** Unix mode from the external attributes, when made on Unix; otherwise null. */
  readonly mode: number | null;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function u64(v: DataView, at: number): number {
  const n = v.getBigUint64(at, true);
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

/** The last end-of-central-directory record in `tail` (the file's last END_SEARCH_BYTES or fewer), or null. */
export function findEndRecord(tail: Uint8Array): EndRecord | null {
  const v = view(tail);
  for (let at = tail.length - END_RECORD_BYTES; at >= 0; at--) {
    if (v.getUint32(at, true) !== END_RECORD) continue;
    const count = v.getUint16(at + 10, true);
    const bytes = v.getUint32(at + 12, true);
    const offset = v.getUint32(at + 16, true);
    return { at, directory: { offset, bytes, count }, overflowed: count === 0xffff || bytes === 0xffffffff || offset === 0xffffffff };
  }
  return null;
}

/** The ZIP64 end record's offset from the ZIP64_LOCATOR_BYTES before the end record, or null when they are no locator. */
export function zip64EndRecordOffset(locator: Uint8Array): number | null {
  if (locator.length < ZIP64_LOCATOR_BYTES) return null;
  const v = view(locator);
  return v.getUint32(0, true) === ZIP64_LOCATOR ? u64(v, 8) : null;
}

/** The central directory as the ZIP64 end record (its first ZIP64_END_RECORD_BYTES) gives it, or null when it is none. */
export function readZip64EndRecord(record: Uint8Array): CentralDirectoryPosition | null {
  if (record.length < ZIP64_END_RECORD_BYTES) return null;
  const v = view(record);
  if (v.getUint32(0, true) !== ZIP64_END_RECORD) return null;
  return { count: u64(v, 32), bytes: u64(v, 40), offset: u64(v, 48) };
}

/** What is wrong with a central directory position in a file of `fileBytes`, or null. */
export function centralDirectoryDefect(d: CentralDirectoryPosition, fileBytes: number): string | null {
  if (d.offset + d.bytes > fileBytes) {
    return `the central directory (${d.bytes} bytes at byte ${d.offset}) lies outside the file of ${fileBytes} bytes`;
  }
  // Each header is at least 46 bytes: a count the directory cannot hold is a lie, not a reason to allocate.
  if (d.count * CENTRAL_HEADER_BYTES > d.bytes) return `${d.count} entries cannot fit in a central directory of ${d.bytes} bytes`;
  return null;
}

/**
 * The `count` entries of the central directory `dir`, in order (duplicates and folders included:
 * what to keep is the caller's choice). Names flagged UTF-8 (bit 11) decode as UTF-8; the others as
 * `legacyNames` says: 'latin1' reads CP437's ASCII part (every real dataset name) the same, 'utf8'
 * suits writers that store UTF-8 without setting the flag (torch).
 */
export function parseCentralDirectory(dir: Uint8Array, count: number, legacyNames: 'latin1' | 'utf8', fail: ZipFail): CentralEntry[] {
  const v = view(dir);
  const out: CentralEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + CENTRAL_HEADER_BYTES > dir.length || v.getUint32(p, true) !== CENTRAL_HEADER) throw fail(`central directory record ${i + 1} is malformed`);
    const madeBy = v.getUint16(p + 4, true) >> 8;
    const flags = v.getUint16(p + 8, true);
    const method = v.getUint16(p + 10, true);
    let compressedSize = v.getUint32(p + 20, true);
    let size = v.getUint32(p + 24, true);
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    const external = v.getUint32(p + 38, true);
    let headerOffset = v.getUint32(p + 42, true);
    const nameAt = p + CENTRAL_HEADER_BYTES;
    const extraAt = nameAt + nameLen;
    const extraEnd = extraAt + extraLen;
    const end = extraEnd + commentLen;
    if (end > dir.length) throw fail(`central directory record ${i + 1} runs past the directory`);
    const name = Buffer.from(dir.buffer, dir.byteOffset + nameAt, nameLen).toString(flags & 0x800 ? 'utf8' : legacyNames);
    // ZIP64 extra field (0x0001): the 64-bit values of the fields that read 0xffffffff, in this order.
    for (let e = extraAt; e + 4 <= extraEnd; ) {
      const id = v.getUint16(e, true);
      const n = v.getUint16(e + 2, true);
      if (e + 4 + n > extraEnd) throw fail(`extra field of '${name}' runs past its entry`);
      if (id === 0x0001) {
        let q = e + 4;
        const take = (): number => {
          if (q + 8 > e + 4 + n) throw fail(`ZIP64 extra field of '${name}' is too short`);
          const x = u64(v, q);
          q += 8;
          return x;
        };
        if (size === 0xffffffff) size = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (headerOffset === 0xffffffff) headerOffset = take();
      }
      e += 4 + n;
    }
    out.push({ name, nameBytes: nameLen, flags, method, compressedSize, size, headerOffset, mode: madeBy === 3 ? external >>> 16 : null });
    p = end;
  }
  return out;
}

/**
 * Where an entry's data starts, from its local header (at least its first LOCAL_HEADER_BYTES,
 * read at `headerOffset`), or null when there is no local header there. The local name and extra
 * field may differ in length from the central directory's.
 */
export function localDataOffset(header: Uint8Array, headerOffset: number): number | null {
  if (header.length < LOCAL_HEADER_BYTES) return null;
  const v = view(header);
  if (v.getUint32(0, true) !== LOCAL_HEADER_SIGNATURE) return null;
  return headerOffset + LOCAL_HEADER_BYTES + v.getUint16(26, true) + v.getUint16(28, true);
}
