/**
 * Reading a zip in place (ImageNet-Sketch is downloaded as one 8 GB `.zip`): the central directory
 * at the end of the file lists every entry, so one read of it locates every image; the loader then
 * reads an entry's local header and its data, side by side on disk (reading all 50,889 local headers
 * up front cost 4.8 s here, and on a disk would be 50,889 seeks before the first image); nothing is
 * extracted. Stored (0) and deflate (8) entries are supported, ZIP64 included (archives over 4 GiB
 * or 65,535 entries); the records themselves are parsed by io/zip.ts, below this reader and the
 * torch checkpoint one.
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
import { centralDirectoryDefect, END_RECORD_BYTES, END_SEARCH_BYTES, findEndRecord, LOCAL_HEADER_BYTES, parseCentralDirectory, readZip64EndRecord, zip64EndRecordOffset, ZIP64_END_RECORD_BYTES, ZIP64_LOCATOR_BYTES, type CentralDirectoryPosition, type CentralEntry } from '../io/zip.js';
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

/** The central directory's position: the end record, and the ZIP64 one where the classic fields overflow. */
async function findCentralDirectory(fh: FileHandle, file: string, size: number): Promise<CentralDirectoryPosition> {
  if (size < END_RECORD_BYTES) throw bad(file, 'too short to be a zip');
  const tailStart = size - Math.min(size, END_SEARCH_BYTES);
  const end = findEndRecord(await readAt(fh, file, tailStart, size - tailStart));
  if (!end) {
    throw new DataError('not a zip: no end-of-central-directory record', {
      file,
      expected: 'a zip archive',
      fix: 'the file is damaged or not a zip; fetch it again',
    });
  }
  let dir = end.directory;
  if (end.overflowed) {
    const eocdAt = tailStart + end.at;
    if (eocdAt < ZIP64_LOCATOR_BYTES) throw bad(file, 'ZIP64 fields without a ZIP64 locator');
    const rec64At = zip64EndRecordOffset(await readAt(fh, file, eocdAt - ZIP64_LOCATOR_BYTES, ZIP64_LOCATOR_BYTES));
    if (rec64At === null) throw bad(file, 'ZIP64 fields without a ZIP64 locator');
    if (rec64At + ZIP64_END_RECORD_BYTES > size) throw bad(file, 'the ZIP64 end record lies outside the file');
    const dir64 = readZip64EndRecord(await readAt(fh, file, rec64At, ZIP64_END_RECORD_BYTES));
    if (!dir64) throw bad(file, `no ZIP64 end record at byte ${rec64At}`);
    dir = dir64;
  }
  const defect = centralDirectoryDefect(dir, size);
  if (defect !== null) throw bad(file, defect);
  return dir;
}

function skipReason(c: CentralEntry): string | null {
  const unsafe = unsafeEntryPath(c.name);
  if (unsafe !== null) return unsafe;
  if (c.mode !== null && (c.mode & 0xf000) === 0xa000) return 'symbolic link (links are not followed)';
  if (c.mode !== null && (c.mode & 0xf000) !== 0 && (c.mode & 0xf000) !== 0x8000) return 'not a regular file';
  if (c.flags & 0x1) return 'encrypted entry';
  if (c.method !== 0 && c.method !== 8) return `unsupported compression method ${c.method} (only stored and deflate)`;
  if (c.method === 0 && c.compressedSize !== c.size) return 'stored entry whose sizes differ';
  if (c.size > MAX_ZIP_ENTRY_BYTES) return `declares ${c.size} bytes uncompressed, more than any image (a zip bomb?)`;
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
    // Bit 11 unset: CP437, whose ASCII part (every real dataset name) reads the same as latin1.
    const central = parseCentralDirectory(await readAt(fh, file, cd.offset, cd.bytes), cd.count, 'latin1', (what) => bad(file, what));
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
    const byOffset = [...kept].sort((x, y) => x.headerOffset - y.headerOffset);
    for (let i = 0; i < byOffset.length; i++) {
      const c = byOffset[i]!;
      const end = c.headerOffset + LOCAL_HEADER_BYTES + c.nameBytes + c.compressedSize;
      if (end > cd.offset) throw bad(file, `the data of '${c.name}' (${c.compressedSize} bytes after its header at byte ${c.headerOffset}) runs past the entries`);
      const next = byOffset[i + 1];
      if (next && next.headerOffset < end) {
        throw new DataError(`entries '${c.name}' and '${next.name}' share bytes (an overlapping-entry zip bomb)`, {
          file,
          expected: 'a zip whose entries each have their own data',
          fix: 'this archive is not a dataset as published; fetch it from its source',
        });
      }
    }
    const files: ZipFileEntry[] = kept.map((c) => ({
      path: normaliseEntryPath(c.name),
      offset: c.headerOffset,
      size: c.compressedSize,
      local: true as const,
      ...(c.method === 8 ? { inflate: c.size } : {}),
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
