/**
 * A zip writer for tests, entry by entry, so tests can make the archives users download (stored and
 * deflate entries, ZIP64 end records as >4 GiB archives have) and the ones a hostile party would
 * (escaping names, symlinks, lying sizes, entries sharing one deflate stream).
 */
import { crc32, deflateRawSync } from 'node:zlib';

export interface ZipEntrySpec {
  name: string;
  data: Buffer;
  /** 'deflate' (default) or 'store'. */
  method?: 'deflate' | 'store';
  /** Unix mode in the external attributes (0o120777 for a symlink); default a regular file. */
  mode?: number;
  /** Declare this uncompressed size in the central directory instead of the real one. */
  declaredSize?: number;
  /** Point this entry's central record at another entry's local header (by index): overlapping data. */
  sameDataAs?: number;
  flags?: number;
  /** Declare this compressed size in the central directory instead of the real one (0xffffffff: in a ZIP64 extra field). */
  declaredCompressedSize?: number;
  /** The central record's extra field, as raw bytes (a damaged ZIP64 field, ...); default none. */
  extra?: Buffer;
  /**
   * The entry's deflate stream, made elsewhere (a bomb, whose `data` would be too big to hold), written
   * as is instead of deflating `data`; `data` then gives only the CRC and the size (see declaredSize).
   */
  deflated?: Buffer;
}

/** The archive; `zip64` writes the ZIP64 end record and locator (and 0xffff.. in the classic one). */
export function zipArchive(entries: readonly ZipEntrySpec[], opts: { zip64?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  const locals: { at: number; csize: number; crc: number }[] = [];
  let offset = 0;
  const push = (b: Buffer) => {
    parts.push(b);
    offset += b.length;
  };
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const method = e.method === 'store' ? 0 : 8;
    const body = method === 8 ? (e.deflated ?? deflateRawSync(e.data)) : e.data;
    const crc = crc32(e.data);
    let at = offset;
    let csize = body.length;
    if (e.sameDataAs !== undefined) {
      ({ at, csize } = locals[e.sameDataAs]!);
    } else {
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4);
      local.writeUInt16LE(0x0800 | (e.flags ?? 0), 6);
      local.writeUInt16LE(method, 8);
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(body.length, 18);
      local.writeUInt32LE(e.data.length, 22);
      local.writeUInt16LE(name.length, 26);
      push(local);
      push(name);
      push(body);
    }
    locals.push({ at, csize, crc });
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE((3 << 8) | 20, 4); // made by Unix
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0x0800 | (e.flags ?? 0), 8);
    cd.writeUInt16LE(method, 10);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(e.declaredCompressedSize ?? csize, 20);
    cd.writeUInt32LE(e.declaredSize ?? e.data.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt16LE(e.extra?.length ?? 0, 30);
    cd.writeUInt32LE(((e.mode ?? 0o100644) << 16) >>> 0, 38);
    cd.writeUInt32LE(at, 42);
    central.push(cd, name, e.extra ?? Buffer.alloc(0));
  }
  const cdOffset = offset;
  for (const b of central) push(b);
  const cdSize = offset - cdOffset;
  if (opts.zip64) push(zip64EndRecords(entries.length, cdSize, cdOffset, offset));
  push(opts.zip64 ? endRecord(0xffff, 0xffffffff, 0xffffffff) : endRecord(entries.length, cdSize, cdOffset));
  return Buffer.concat(parts);
}

/**
 * The ZIP64 end record of a central directory (`count` entries, `cdSize` bytes at `cdOffset`),
 * written at `at`, and its locator. `madeBy`: the record's "version made by" (4.5 unless given).
 */
export function zip64EndRecords(count: number, cdSize: number, cdOffset: number, at: number, madeBy = 45): Buffer {
  const z = Buffer.alloc(56);
  z.writeUInt32LE(0x06064b50, 0);
  z.writeBigUInt64LE(44n, 4);
  z.writeUInt16LE(madeBy, 12);
  z.writeUInt16LE(45, 14); // needed: 4.5 (ZIP64)
  z.writeBigUInt64LE(BigInt(count), 24);
  z.writeBigUInt64LE(BigInt(count), 32);
  z.writeBigUInt64LE(BigInt(cdSize), 40);
  z.writeBigUInt64LE(BigInt(cdOffset), 48);
  const loc = Buffer.alloc(20);
  loc.writeUInt32LE(0x07064b50, 0);
  loc.writeBigUInt64LE(BigInt(at), 8);
  loc.writeUInt32LE(1, 16);
  return Buffer.concat([z, loc]);
}

/** The classic end record, its fields as given (the real values, or 0xffff.. where only a ZIP64 record holds them). */
export function endRecord(count: number, cdSize: number, cdOffset: number): Buffer {
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(count, 8);
  eocd.writeUInt16LE(count, 10);
  eocd.writeUInt32LE(cdSize, 12);
  eocd.writeUInt32LE(cdOffset, 16);
  return eocd;
}
