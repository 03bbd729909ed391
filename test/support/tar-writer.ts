/**
 * A tar writer for tests, header by header, so tests can make the entries the system `tar` refuses
 * to write (escaping names, links, base-256 sizes, lying pax/GNU records, bad checksums).
 */

export interface TarHeader {
  name: string;
  /** Type flag: '0' regular file (default), '2' symlink, '5' directory, 'L' GNU long name, 'x' pax. */
  type?: string;
  size?: number;
  /** Raw 12-byte size field instead of octal (base-256 tests). */
  sizeField?: Buffer;
  linkname?: string;
  /** 'ustar' writes POSIX magic (prefix honoured); 'gnu' the GNU magic. */
  magic?: 'ustar' | 'gnu';
  prefix?: string;
  /** Corrupt the checksum on purpose. */
  badChecksum?: boolean;
}

/** One 512-byte header, checksummed the way tar writers do. */
export function tarHeader(h: TarHeader): Buffer {
  const b = Buffer.alloc(512);
  b.write(h.name, 0, 100, 'utf8');
  b.write('0000644\0', 100, 'latin1');
  b.write('0001750\0', 108, 'latin1');
  b.write('0001750\0', 116, 'latin1');
  if (h.sizeField) h.sizeField.copy(b, 124);
  else b.write((h.size ?? 0).toString(8).padStart(11, '0') + '\0', 124, 'latin1');
  b.write('14712345670\0', 136, 'latin1');
  b.write(h.type ?? '0', 156, 'latin1');
  if (h.linkname) b.write(h.linkname, 157, 100, 'utf8');
  if ((h.magic ?? 'ustar') === 'ustar') b.write('ustar\x0000', 257, 'latin1');
  else b.write('ustar  \0', 257, 'latin1');
  if (h.prefix) b.write(h.prefix, 345, 155, 'utf8');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  if (h.badChecksum) sum += 1;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return b;
}

/** `data` padded with zeros to a multiple of 512 bytes. */
export function tarPad(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

/** A regular file entry: header and padded data. */
export function tarEntry(name: string, data: Buffer, extra: Partial<TarHeader> = {}): Buffer {
  return Buffer.concat([tarHeader({ name, size: data.length, ...extra }), tarPad(data)]);
}

/** The two zero blocks that end an archive. */
export const TAR_END = Buffer.alloc(1024);
