/**
 * Reading a zip in place (ImageNet-Sketch is downloaded as one 8 GB `.zip`): the central directory
 * at the end of the file lists every entry, so one read of it locates every image; the loader then
 * reads an entry's local header and its data, side by side on disk (reading all 50,889 local headers
 * up front cost 4.8 s here, and on a disk would be 50,889 seeks before the first image); nothing is
 * extracted. Stored (0) and deflate (8) entries are
 * supported, ZIP64 included (archives over 4 GiB or 65,535 entries).
 *
 * Hostile archives: names that are absolute, climb with `..` or hold NUL are skipped with a reason
 * (archive-path.ts, as for tar); so are links, encrypted entries, other compression methods and
 * entries that declare more bytes than any image has. A deflate entry is inflated to at most its
 * declared size and must come out exactly that size (pipeline.ts), so a bomb cannot grow past it;
 * entries whose data overlap another's (the overlapping-file zip bomb) or lie outside the file
 * make the archive a DataError naming the zip.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { DataError } from '../errors.js';
import { normaliseEntryPath, unsafeEntryPath } from './archive-path.js';

/** No image of any test set comes near this; a larger declared size is a bomb or not an image. */
export const MAX_ZIP_ENTRY_BYTES = 256 << 20;

export interface ZipFileEntry {
  /** Normalised path inside the archive. */
  path: string;
  /** Byte offset of the entry's local header in the zip (its data follows the header's name and extra field). */
  offset: number;
  /** Compressed size: the bytes to read. */
  size: number;
  /** Always set: `offset` is a local header, not the data (pipeline.ts reads the header first). */
  local: true;
  /** For deflate entries, the declared uncompressed size; absent for stored entries. */
  inflate?: number;
}

export interface ZipSkipped {
  path: string;
  reason: string;
}

export interface ZipListing {
  files: ZipFileEntry[];
  skipped: ZipSkipped[];
  /** Paths stored more than once (the last is kept). */
  duplicates: string[];
  bytes: number;
}

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const EOCD64 = 0x06064b50;
const CENTRAL = 0x02014b50;

function bad(file: string, what: string): DataError {
  return new DataError(`corrupt zip: ${what}`, {
    file,
    expected: 'a complete zip archive (ImageNet-Sketch as downloaded)',
    fix: 'the download or copy was cut short or damaged; fetch the zip again',
  });
}

async function readAt(fh: FileHandle, file: string, offset: number, size: number): Promise<Buffer> {
  const buf = Buffer.alloc(size);
  let got = 0;
  while (got < size) {
    const { bytesRead } = await fh.read(buf, got, size - got, offset + got);
    if (bytesRead === 0) throw bad(file, `the file ends at byte ${offset + got}, inside a record at byte ${offset}`);
    got += bytesRead;
  }
  return buf;
}

const u64 = (b: Buffer, at: number): number => {
  const v = b.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  return Number(v);
};

/** The central directory's offset, size and entry count (ZIP64 where the classic fields overflow). */
async function findCentralDirectory(fh: FileHandle, file: string, size: number): Promise<{ offset: number; bytes: number; count: number }> {
  const tail = Math.min(size, 22 + 0xffff);
  if (size < 22) throw bad(file, 'too short to be a zip');
  const buf = await readAt(fh, file, size - tail, tail);
  let at = -1;
  for (let i = tail - 22; i >= 0; i--) {
    if (buf.readUInt32LE(i) === EOCD) {
      at = i;
      break;
    }
  }
  if (at < 0) {
    throw new DataError('not a zip: no end-of-central-directory record', {
      file,
      expected: 'a zip archive',
      fix: 'the file is damaged or not a zip; fetch it again',
    });
  }
  let count = buf.readUInt16LE(at + 10);
  let bytes = buf.readUInt32LE(at + 12);
  let offset = buf.readUInt32LE(at + 16);
  if (count === 0xffff || bytes === 0xffffffff || offset === 0xffffffff) {
    const eocdAt = size - tail + at;
    if (eocdAt < 20) throw bad(file, 'ZIP64 fields without a ZIP64 locator');
    const loc = await readAt(fh, file, eocdAt - 20, 20);
    if (loc.readUInt32LE(0) !== EOCD64_LOCATOR) throw bad(file, 'ZIP64 fields without a ZIP64 locator');
    const rec64At = u64(loc, 8);
    if (rec64At + 56 > size) throw bad(file, 'the ZIP64 end record lies outside the file');
    const rec = await readAt(fh, file, rec64At, 56);
    if (rec.readUInt32LE(0) !== EOCD64) throw bad(file, `no ZIP64 end record at byte ${rec64At}`);
    count = u64(rec, 32);
    bytes = u64(rec, 40);
    offset = u64(rec, 48);
  }
  if (offset + bytes > size) throw bad(file, `the central directory (${bytes} bytes at byte ${offset}) lies outside the file of ${size} bytes`);
  // Each record is at least 46 bytes: a count the directory cannot hold is a lie, not a reason to allocate.
  if (count * 46 > bytes) throw bad(file, `${count} entries cannot fit in a central directory of ${bytes} bytes`);
  return { offset, bytes, count };
}

interface CentralEntry {
  name: string;
  /** Bytes of the stored name (the local header repeats it). */
  nameBytes: number;
  method: number;
  flags: number;
  csize: number;
  usize: number;
  local: number;
  /** Unix mode from the external attributes, when made on Unix. */
  mode: number | null;
}

function parseCentral(dir: Buffer, count: number, file: string): CentralEntry[] {
  const out: CentralEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > dir.length || dir.readUInt32LE(p) !== CENTRAL) throw bad(file, `central directory record ${i + 1} is malformed`);
    const madeBy = dir.readUInt16LE(p + 4) >> 8;
    const flags = dir.readUInt16LE(p + 8);
    const method = dir.readUInt16LE(p + 10);
    let csize = dir.readUInt32LE(p + 20);
    let usize = dir.readUInt32LE(p + 24);
    const nameLen = dir.readUInt16LE(p + 28);
    const extraLen = dir.readUInt16LE(p + 30);
    const commentLen = dir.readUInt16LE(p + 32);
    const ext = dir.readUInt32LE(p + 38);
    let local = dir.readUInt32LE(p + 42);
    const end = p + 46 + nameLen + extraLen + commentLen;
    if (end > dir.length) throw bad(file, `central directory record ${i + 1} runs past the directory`);
    // Bit 11: UTF-8 names; otherwise CP437, whose ASCII part (every real dataset name) reads the same.
    const name = dir.subarray(p + 46, p + 46 + nameLen).toString(flags & 0x800 ? 'utf8' : 'latin1');
    // ZIP64 extra field (0x0001): the 64-bit values of the fields that overflowed, in this order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = dir.readUInt16LE(e);
      const len = dir.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        const take = (): number => {
          if (q + 8 > e + 4 + len) throw bad(file, `ZIP64 extra field of '${name}' is too short`);
          const v = u64(dir, q);
          q += 8;
          return v;
        };
        if (usize === 0xffffffff) usize = take();
        if (csize === 0xffffffff) csize = take();
        if (local === 0xffffffff) local = take();
      }
      e += 4 + len;
    }
    out.push({ name, nameBytes: nameLen, method, flags, csize, usize, local, mode: madeBy === 3 ? ext >>> 16 : null });
    p = end;
  }
  return out;
}

function skipReason(c: CentralEntry): string | null {
  const unsafe = unsafeEntryPath(c.name);
  if (unsafe !== null) return unsafe;
  if (c.mode !== null && (c.mode & 0xf000) === 0xa000) return 'symbolic link (links are not followed)';
  if (c.mode !== null && (c.mode & 0xf000) !== 0 && (c.mode & 0xf000) !== 0x8000) return 'not a regular file';
  if (c.flags & 0x1) return 'encrypted entry';
  if (c.method !== 0 && c.method !== 8) return `unsupported compression method ${c.method} (only stored and deflate)`;
  if (c.method === 0 && c.csize !== c.usize) return 'stored entry whose sizes differ';
  if (c.usize > MAX_ZIP_ENTRY_BYTES) return `declares ${c.usize} bytes uncompressed, more than any image (a zip bomb?)`;
  return null;
}

/** Every safe regular file of the zip and where its local header is, from the central directory alone. */
export async function listZipFiles(file: string): Promise<ZipListing> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    throw new DataError(`cannot open the zip: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file, fix: 'check the --data path and its permissions' });
  }
  try {
    const size = (await fh.stat()).size;
    const cd = await findCentralDirectory(fh, file, size);
    const central = parseCentral(await readAt(fh, file, cd.offset, cd.bytes), cd.count, file);
    const skipped: ZipSkipped[] = [];
    const kept: CentralEntry[] = [];
    for (const c of central) {
      if (c.name.endsWith('/')) continue; // a folder: structure, not content
      const why = skipReason(c);
      if (why !== null) skipped.push({ path: c.name, reason: why });
      else kept.push(c);
    }
    // Each entry needs at least its local header, name and data before the central directory, and
    // no entry may start inside another: many names pointing into one deflate stream is the
    // overlapping zip bomb (real zips never share bytes).
    const byOffset = [...kept].sort((x, y) => x.local - y.local);
    for (let i = 0; i < byOffset.length; i++) {
      const c = byOffset[i]!;
      const end = c.local + 30 + c.nameBytes + c.csize;
      if (end > cd.offset) throw bad(file, `the data of '${c.name}' (${c.csize} bytes after its header at byte ${c.local}) runs past the entries`);
      const next = byOffset[i + 1];
      if (next && next.local < end) {
        throw new DataError(`entries '${c.name}' and '${next.name}' share bytes (an overlapping-entry zip bomb)`, {
          file,
          expected: 'a zip whose entries each have their own data',
          fix: 'this archive is not a dataset as published; fetch it from its source',
        });
      }
    }
    const files: ZipFileEntry[] = kept.map((c) => ({
      path: normaliseEntryPath(c.name),
      offset: c.local,
      size: c.csize,
      local: true as const,
      ...(c.method === 8 ? { inflate: c.usize } : {}),
    }));
    const byPath = new Map<string, ZipFileEntry>();
    const duplicates = new Set<string>();
    for (const f of files) {
      if (byPath.has(f.path)) duplicates.add(f.path);
      byPath.set(f.path, f);
    }
    return { files: [...byPath.values()], skipped, duplicates: [...duplicates], bytes: size };
  } finally {
    await fh.close();
  }
}
