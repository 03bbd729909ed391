/**
 * Reading tar archives in place: `--data ILSVRC2012_img_val.tar` (or a tar of an ImageFolder tree) is
 * read as a stream of 512-byte headers, never extracted, and nothing is written to disk.
 *
 * Formats: POSIX ustar (name + prefix), GNU (long names in `L` entries, base-256 sizes) and pax
 * (`x` records for `path` and `size`). Only regular files are returned. Entries that would be unsafe
 * to extract (absolute paths, `..` components, links, devices, FIFOs) are skipped and reported with a
 * reason, so the caller can warn; a corrupt header or a truncated archive is a DataError naming the
 * tar file and the byte offset where it went wrong.
 *
 * The index pass (`listTarImages`) records each image's data offset and size, so the loader reads an
 * entry with one positional read (`TarFile.read` / `readTarEntry`): ordered, concurrent and resumable
 * loading from a tar works exactly as from a folder.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { DataError } from '../errors.js';
import { normaliseEntryPath as normalise, unsafeEntryPath as unsafePath } from './archive-path.js';
import { IMAGE_EXT } from './folder.js';
import { WNID } from './imagenet.js';

const BLOCK = 512;
/** Long names and pax headers larger than this are hostile: their entry is skipped, not buffered. */
const MAX_META_BYTES = 1 << 20;

/** A regular file read from a tar. */
export interface TarEntry {
  /** Normalised path inside the archive ('val/n01440764/ILSVRC2012_val_00000293.JPEG'). */
  path: string;
  size: number;
  data: Buffer;
  /** Byte offset of the file's data in the tar (for a later `readTarEntry`). */
  offset: number;
}

/** An entry that was ignored because extracting it could be unsafe, or because it is not a file. */
export interface TarSkipped {
  /** The name as stored in the archive (not normalised). */
  path: string;
  /** Byte offset of the entry's header in the tar. */
  offset: number;
  reason: string;
}

export interface ReadTarOptions {
  /** Data is read only for entries the filter accepts (it sees normalised, safe paths). */
  filter?: (path: string) => boolean;
  signal?: AbortSignal;
  /** Called for each unsafe or unsupported entry that is ignored. */
  onSkip?: (skipped: TarSkipped) => void;
}

/** Every regular file of the archive, in archive order; skipped entries' data is seeked past. */
export async function* readTarEntries(file: string, opts: ReadTarOptions = {}): AsyncIterableIterator<TarEntry> {
  const reader = await TarStream.open(file, 1 << 20);
  try {
    for await (const e of scanTar(reader, opts)) {
      if (opts.filter && !opts.filter(e.path)) continue;
      const data = await reader.readData(e);
      yield { path: e.path, size: e.size, data, offset: e.offset };
    }
  } finally {
    await reader.close();
  }
}

/** A regular file of a tar, located for a later positional read. */
export interface TarFileEntry {
  /** Normalised path inside the archive. */
  path: string;
  /** Byte offset of the data in the tar. */
  offset: number;
  size: number;
}

export interface TarListing {
  /** Every safe regular file, one per path (a path stored twice keeps its last copy, as extraction would). */
  files: TarFileEntry[];
  skipped: TarSkipped[];
  /** Paths stored more than once. */
  duplicates: string[];
  bytes: number;
}

/** One pass over the headers (data seeked past): every safe regular file and where its bytes are. */
export async function listTarFiles(file: string, opts: { signal?: AbortSignal } = {}): Promise<TarListing> {
  const reader = await TarStream.open(file, 8 << 10);
  const skipped: TarSkipped[] = [];
  const byPath = new Map<string, TarFileEntry>();
  const duplicates = new Set<string>();
  try {
    const scanOpts: ReadTarOptions = { onSkip: (s) => skipped.push(s) };
    if (opts.signal) scanOpts.signal = opts.signal;
    for await (const e of scanTar(reader, scanOpts)) {
      if (byPath.has(e.path)) duplicates.add(e.path);
      byPath.set(e.path, { path: e.path, offset: e.offset, size: e.size });
    }
  } finally {
    await reader.close();
  }
  return { files: [...byPath.values()], skipped, duplicates: [...duplicates], bytes: reader.fileSize };
}

// ---------------------------------------------------------------------------------------------------
// Index of the images of an ImageNet val tar

/** 'flat': the original ILSVRC2012_img_val.tar; 'imagefolder': `[root/]nXXXXXXXX/*.JPEG`. */
export type TarLayout = 'flat' | 'imagefolder';

export interface TarImage {
  /** Normalised entry path inside the tar. */
  path: string;
  /** Basename: the sample name (val order, ground-truth lookup). */
  name: string;
  /** WordNet id of the class folder in the ImageFolder layout; null in the flat layout. */
  wnid: string | null;
  /** Byte offset of the entry's data in the tar file. */
  offset: number;
  size: number;
}

export interface TarImageIndex {
  file: string;
  layout: TarLayout;
  /** Folder inside the tar that holds the images or class folders ('' for the top level). */
  root: string;
  /** Sorted by name, then path: val order. */
  images: TarImage[];
  /** Unsafe or unsupported entries that were ignored (for a warning). */
  skipped: TarSkipped[];
  /** Paths stored more than once; the last copy is kept, as extraction would. */
  duplicates: string[];
  /** Regular files that are not images of the chosen layout (README, hidden files, other folders...). */
  otherFiles: number;
  /** Size of the tar file in bytes. */
  bytes: number;
}

const FLAT_NAME = /^ILSVRC2012_val_\d{8}\.(jpe?g|png)$/i;

/**
 * One pass over the headers (data is seeked past) that finds the val images and where their bytes
 * are. Throws a DataError when the archive holds no val layout, or more than one.
 */
export async function listTarImages(file: string, opts: { signal?: AbortSignal } = {}): Promise<TarImageIndex> {
  // Headers only: small reads, the data in between is never touched.
  const reader = await TarStream.open(file, 8 << 10);
  const skipped: TarSkipped[] = [];
  const byPath = new Map<string, TarImage & { kind: TarLayout; root: string; copies: number }>();
  let files = 0;
  try {
    const scanOpts: ReadTarOptions = { onSkip: (s) => skipped.push(s) };
    if (opts.signal) scanOpts.signal = opts.signal;
    for await (const e of scanTar(reader, scanOpts)) {
      files++;
      const parts = e.path.split('/');
      // Hidden files and folders (macOS '._*' AppleDouble files) are skipped, as the folder reader does.
      if (parts.some((p) => p.startsWith('.'))) continue;
      const name = parts[parts.length - 1]!;
      const parent = parts.length >= 2 ? parts[parts.length - 2]! : '';
      let kind: TarLayout;
      let root: string;
      if (WNID.test(parent) && IMAGE_EXT.test(name)) {
        kind = 'imagefolder';
        root = parts.slice(0, -2).join('/');
      } else if (FLAT_NAME.test(name)) {
        kind = 'flat';
        root = parts.slice(0, -1).join('/');
      } else continue;
      const copies = (byPath.get(e.path)?.copies ?? 0) + 1;
      // A re-added path replaces the earlier copy, as extraction would.
      byPath.set(e.path, {
        copies,
        path: e.path,
        name,
        wnid: kind === 'imagefolder' ? parent : null,
        offset: e.offset,
        size: e.size,
        kind,
        root,
      });
    }
  } finally {
    await reader.close();
  }
  const candidates = [...byPath.values()];
  const { layout, root } = chooseLayout(file, candidates);
  const chosen = candidates.filter((c) => c.kind === layout && c.root === root);
  const duplicates = chosen.filter((c) => c.copies > 1).map((c) => c.path);
  const images: TarImage[] = chosen
    .map(({ path, name, wnid, offset, size }) => ({ path, name, wnid, offset, size }))
    .sort((a, b) => cmp(a.name, b.name) || cmp(a.path, b.path));
  return {
    file,
    layout,
    root,
    images,
    skipped,
    duplicates,
    otherFiles: files - chosen.reduce((n, c) => n + c.copies, 0),
    bytes: reader.fileSize,
  };
}

function chooseLayout(file: string, candidates: { kind: TarLayout; root: string }[]): { layout: TarLayout; root: string } {
  const expected = 'ILSVRC2012_val_*.JPEG at the top of the tar (ILSVRC2012_img_val.tar), or class folders val/nXXXXXXXX/*.JPEG';
  if (candidates.length === 0) {
    throw new DataError('the tar holds no ImageNet val images', {
      file,
      expected,
      fix: 'pass the ILSVRC2012_img_val.tar from image-net.org, or a tar of an ImageFolder tree',
    });
  }
  const roots = new Map<string, { layout: TarLayout; root: string; n: number }>();
  for (const c of candidates) {
    const key = `${c.kind}\0${c.root}`;
    const r = roots.get(key) ?? { layout: c.kind, root: c.root, n: 0 };
    r.n++;
    roots.set(key, r);
  }
  const all = [...roots.values()];
  if (all.length === 1) return all[0]!;
  // A tar of a whole ImageNet folder (train/ and val/): the val tree is the one named val.
  const val = all.filter((r) => r.root === 'val' || r.root.endsWith('/val'));
  if (val.length === 1) return val[0]!;
  const list = all.map((r) => `${r.root || '(top level)'}: ${r.n} ${r.layout === 'flat' ? 'flat val images' : 'class-folder images'}`);
  throw new DataError(`the tar holds more than one image set (${list.join('; ')})`, {
    file,
    expected: `one set: ${expected}`,
    fix: 'make a tar of the val images only',
  });
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------
// Random access to indexed entries

/** An open tar for positional reads of indexed entries; reads may run concurrently. */
export class TarFile {
  private constructor(
    readonly file: string,
    private readonly fh: FileHandle,
  ) {}

  static async open(file: string): Promise<TarFile> {
    return new TarFile(file, await openTar(file));
  }

  /** The `size` bytes at `offset` (an entry's data, as `listTarImages` indexed it). */
  async read(offset: number, size: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const { bytesRead } = await this.fh.read(buf, got, size - got, offset + got);
      if (bytesRead === 0) {
        throw new DataError(`the tar ends at byte ${offset + got}, inside an entry of ${size} bytes at byte ${offset}`, {
          file: this.file,
          expected: 'the same tar file that was indexed at the start of the run',
          fix: 'the tar was truncated or replaced during the run; check the file and run again',
        });
      }
      got += bytesRead;
    }
    return buf;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** One entry's bytes by (offset, size); opens and closes the tar. Keep a TarFile for many reads. */
export async function readTarEntry(file: string, offset: number, size: number): Promise<Buffer> {
  const t = await TarFile.open(file);
  try {
    return await t.read(offset, size);
  } finally {
    await t.close();
  }
}

async function openTar(file: string): Promise<FileHandle> {
  try {
    return await open(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new DataError(`cannot open the tar: ${code}`, {
      file,
      expected: 'a readable tar file',
      fix: code === 'EACCES' ? 'make the file readable (chmod a+r)' : 'check the --data path',
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// The header scanner

interface RawEntry {
  path: string;
  /** Header offset. */
  header: number;
  /** Data offset. */
  offset: number;
  size: number;
}

/** Sequential reads through a window buffer; skipping data is just moving the position. */
class TarStream {
  pos = 0;
  private readonly win: Buffer;
  private winStart = 0;
  private winLen = 0;

  private constructor(
    readonly file: string,
    private readonly fh: FileHandle,
    readonly fileSize: number,
    chunk: number,
  ) {
    this.win = Buffer.allocUnsafe(chunk);
  }

  static async open(file: string, chunk: number): Promise<TarStream> {
    const fh = await openTar(file);
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new DataError('not a regular file', { file, expected: 'a tar file' });
      return new TarStream(file, fh, st.size, chunk);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Up to n bytes from the position (fewer only at end of file); advances the position. */
  async read(n: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const inWin = this.pos - this.winStart;
      if (inWin >= 0 && inWin < this.winLen) {
        const k = Math.min(this.winLen - inWin, n - filled);
        this.win.copy(out, filled, inWin, inWin + k);
        filled += k;
        this.pos += k;
      } else if (n - filled >= this.win.length) {
        // Big reads go straight into the output, not through the window.
        const { bytesRead } = await this.fh.read(out, filled, n - filled, this.pos);
        if (bytesRead === 0) break;
        filled += bytesRead;
        this.pos += bytesRead;
      } else {
        const { bytesRead } = await this.fh.read(this.win, 0, this.win.length, this.pos);
        this.winStart = this.pos;
        this.winLen = bytesRead;
        if (bytesRead === 0) break;
      }
    }
    return filled === n ? out : out.subarray(0, filled);
  }

  /** The data of the entry just yielded by scanTar (the position is at its start). */
  async readData(e: RawEntry): Promise<Buffer> {
    if (this.pos !== e.offset) throw new Error(`tar reader out of step: at ${this.pos}, entry data at ${e.offset}`);
    const data = await this.read(e.size);
    if (data.length !== e.size) throw truncated(this.file, e, this.pos);
    return data;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

function truncated(file: string, e: RawEntry, end: number): DataError {
  return new DataError(
    `truncated tar: the entry '${e.path}' (header at byte ${e.header}) holds ${e.size} bytes from byte ${e.offset}, but the file ends at byte ${end}`,
    { file, expected: 'a complete tar archive', fix: 'the download or copy was cut short; fetch the tar again' },
  );
}

function corrupt(file: string, offset: number, what: string): DataError {
  return new DataError(`corrupt tar header at byte ${offset}: ${what}`, {
    file,
    expected: 'a ustar, GNU or pax tar archive',
    fix: 'the file is damaged or not a tar; fetch it again (a .tar.gz must be gunzipped first)',
  });
}

const TYPE_REASON: Record<string, string> = {
  '1': 'hard link (links are not followed)',
  '2': 'symbolic link (links are not followed)',
  '3': 'character device',
  '4': 'block device',
  '6': 'FIFO',
};

/**
 * Yields every safe regular file, with the stream positioned at its data. If the consumer does not
 * call `readData` before asking for the next entry, the data is skipped without being read.
 */
async function* scanTar(s: TarStream, opts: ReadTarOptions): AsyncGenerator<RawEntry> {
  const file = s.file;
  // Metadata that applies to the next real entry (GNU long name, pax records).
  let longName: string | null = null;
  let paxPath: string | null = null;
  let paxSize: number | null = null;
  let metaProblem: string | null = null;

  for (;;) {
    opts.signal?.throwIfAborted();
    const header = s.pos;
    const block = await s.read(BLOCK);
    if (block.length === 0) return; // EOF at a block boundary: an archive without end blocks
    if (block.length < BLOCK) {
      throw new DataError(`truncated tar: the file ends at byte ${header + block.length}, inside the header at byte ${header}`, {
        file,
        expected: 'a complete tar archive',
        fix: 'the download or copy was cut short; fetch the tar again',
      });
    }
    if (isZero(block)) {
      // End of archive: two zero blocks (or one, then EOF). A lone zero block is passed over, as GNU tar does.
      const next = await s.read(BLOCK);
      if (next.length < BLOCK || isZero(next)) return;
      s.pos -= BLOCK;
      continue;
    }
    const h = parseHeader(block, file, header);
    const isMeta = h.type === 'L' || h.type === 'K' || h.type === 'x' || h.type === 'g';
    // A pax size overrides the header's (files over 8 GiB), for the entry the pax header describes.
    const size = isMeta ? h.size : (paxSize ?? h.size);
    const offset = header + BLOCK;
    const next = offset + Math.ceil(size / BLOCK) * BLOCK;
    const entry: RawEntry = { path: h.name, header, offset, size };

    if (isMeta) {
      if (offset + size > s.fileSize) throw truncated(file, entry, s.fileSize);
      if (size > MAX_META_BYTES) {
        metaProblem = `${h.type === 'x' || h.type === 'g' ? 'pax header' : 'long name'} of ${size} bytes`;
        s.pos = next;
        continue;
      }
      const data = await s.read(size);
      s.pos = next;
      if (h.type === 'L') longName = cString(data);
      else if (h.type === 'x') {
        const rec = parsePax(data, file, header);
        if (rec.path !== undefined) paxPath = rec.path;
        if (rec.size !== undefined) paxSize = rec.size;
      }
      // 'K' (long link name) and 'g' (global pax defaults) carry nothing a regular file needs.
      continue;
    }

    const rawName = paxPath ?? longName ?? h.name;
    entry.path = rawName;
    const problem = metaProblem;
    longName = paxPath = metaProblem = null;
    paxSize = null;
    if (offset + size > s.fileSize && isRegular(h.type)) throw truncated(file, entry, s.fileSize);

    const skip = (reason: string) => opts.onSkip?.({ path: rawName, offset: header, reason });
    const isDir = h.type === '5' || (isRegular(h.type) && rawName.endsWith('/'));
    if (problem !== null) skip(problem);
    else if (isDir) {
      // Directories are structure, not content: nothing to report.
    } else {
      const unsafe = unsafePath(rawName);
      if (unsafe !== null) skip(unsafe);
      else if (!isRegular(h.type)) skip(TYPE_REASON[h.type] ?? `unsupported entry type '${printable(h.type)}'`);
      else {
        entry.path = normalise(rawName);
        yield entry;
      }
    }
    s.pos = next;
  }
}

function isRegular(type: string): boolean {
  return type === '0' || type === '\0' || type === '7';
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

interface Header {
  name: string;
  size: number;
  type: string;
}

function parseHeader(b: Buffer, file: string, offset: number): Header {
  const stored = parseOctal(b.subarray(148, 156));
  if (stored === null) throw corrupt(file, offset, 'the checksum field is not an octal number');
  // The checksum is the byte sum with its own field read as spaces; old tars summed signed bytes.
  let unsigned = 8 * 0x20;
  let signed = 8 * 0x20;
  for (let i = 0; i < BLOCK; i++) {
    if (i >= 148 && i < 156) continue;
    unsigned += b[i]!;
    signed += (b[i]! << 24) >> 24;
  }
  if (stored !== unsigned && stored !== signed) {
    throw corrupt(file, offset, `checksum ${stored} does not match the header's ${unsigned}`);
  }
  const sizeField = b.subarray(124, 136);
  let size: number | null;
  if (sizeField[0]! & 0x80) {
    // GNU base-256: big-endian, top bit of the first byte is the marker; 0xff marks a negative number.
    if (sizeField[0] === 0xff) throw corrupt(file, offset, 'negative size');
    size = sizeField[0]! & 0x7f;
    for (let i = 1; i < sizeField.length; i++) {
      size = size * 256 + sizeField[i]!;
      if (size > Number.MAX_SAFE_INTEGER) throw corrupt(file, offset, 'size too large');
    }
  } else size = parseOctal(sizeField);
  if (size === null) throw corrupt(file, offset, 'the size field is not a number');
  const type = String.fromCharCode(b[156]!);
  let name = cString(b.subarray(0, 100));
  // POSIX ustar splits long names into prefix/name; GNU ("ustar  \0") uses that area for other things.
  if (b.subarray(257, 263).toString('latin1') === 'ustar\0') {
    const prefix = cString(b.subarray(345, 500));
    if (prefix) name = `${prefix}/${name}`;
  }
  return { name, size, type };
}

/** An octal field: optional leading spaces, digits, then NUL or space padding. null if malformed. */
function parseOctal(f: Buffer): number | null {
  let i = 0;
  while (i < f.length && f[i] === 0x20) i++;
  let v = 0;
  let digits = 0;
  for (; i < f.length; i++) {
    const c = f[i]!;
    if (c >= 0x30 && c <= 0x37) {
      v = v * 8 + (c - 0x30);
      digits++;
    } else break;
  }
  for (; i < f.length; i++) if (f[i] !== 0 && f[i] !== 0x20) return null;
  if (digits === 0) {
    // An all-NUL or all-space field reads as 0 (some writers leave unused numbers empty).
    return 0;
  }
  return v;
}

function cString(b: Buffer): string {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('utf8');
}

/** pax extended header records: "<len> <key>=<value>\n", len counting the whole record. */
function parsePax(data: Buffer, file: string, offset: number): { path?: string; size?: number } {
  const out: { path?: string; size?: number } = {};
  let i = 0;
  while (i < data.length) {
    if (data[i] === 0) break; // NUL padding after the last record
    const sp = data.indexOf(0x20, i);
    const lenText = sp < 0 ? '' : data.subarray(i, sp).toString('latin1');
    const len = /^\d{1,9}$/.test(lenText) ? Number(lenText) : NaN;
    if (!(len > 0) || i + len > data.length || data[i + len - 1] !== 0x0a) {
      throw corrupt(file, offset, `malformed pax record at byte ${i} of the extended header`);
    }
    const rec = data.subarray(sp + 1, i + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw corrupt(file, offset, `pax record without key=value at byte ${i} of the extended header`);
    const key = rec.subarray(0, eq).toString('utf8');
    const value = rec.subarray(eq + 1).toString('utf8');
    if (key === 'path') out.path = value;
    else if (key === 'size') {
      if (!/^\d{1,16}$/.test(value) || Number(value) > Number.MAX_SAFE_INTEGER) {
        throw corrupt(file, offset, `pax size '${value}' is not a byte count`);
      }
      out.size = Number(value);
    }
    i += len;
  }
  return out;
}

function printable(c: string): string {
  return /^[\x20-\x7e]$/.test(c) ? c : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
}
