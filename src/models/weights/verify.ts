/**
 * A cheap check that a file on disk is a whole checkpoint, without reading its tensors: for
 * downloads nobody can verify by hash (every Hugging Face tag without an LFS hash), and for
 * cached files before they are reused or listed as cached. It catches what such downloads
 * really go wrong with: an HTML error page or a proxy's answer saved as weights, random bytes,
 * a truncated file.
 *
 *   safetensors  the JSON header parses, every tensor's byte range matches its dtype and shape,
 *                and the ranges end exactly at the end of the file (the format has no slack)
 *   torch zip    the end-of-central-directory record is there and the directory lies inside the file
 *   pickle       the file ends with the STOP opcode
 *   torch legacy the magic number (its storages follow the pickles, so nothing cheaper is checkable)
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, statSync } from 'node:fs';
import { readFully } from '../../io/read-fully.js';
import { detectFormat, FORMAT_PROBE_BYTES } from './format.js';
import { ITEM_SIZE } from './safetensors.js';

/** A safetensors header bigger than this is not a real checkpoint (as safetensors.ts). */
const MAX_HEADER = 100 * 1024 * 1024;
/** End-of-central-directory record: 22 bytes plus a comment of up to 65535. */
const EOCD_SEARCH = 22 + 0xffff;

function readAt(fd: number, at: number, n: number): Buffer {
  const buf = Buffer.alloc(n);
  return buf.subarray(0, readFully(fd, buf, n, at));
}

/** Printable start of a file, for saying what it is instead ("<!DOCTYPE html>..."). */
function preview(head: Uint8Array): string {
  const text = Buffer.from(head.subarray(0, 16)).toString('latin1').replace(/[^\x20-\x7e]/g, '.');
  return JSON.stringify(text);
}

function checkSafetensors(fd: number, size: number): string | undefined {
  if (size < 8) return 'shorter than the 8-byte safetensors header length';
  const n = Number(readAt(fd, 0, 8).readBigUInt64LE(0));
  if (n > Math.min(MAX_HEADER, size - 8)) return `safetensors header length ${n} exceeds the file`;
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(readAt(fd, 8, n)));
  } catch {
    return 'safetensors header is not JSON';
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return 'safetensors header is not an object';
  const dataLen = size - 8 - n;
  let end = 0;
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const e = (entry ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const item = typeof e.dtype === 'string' && Object.hasOwn(ITEM_SIZE, e.dtype) ? ITEM_SIZE[e.dtype]! : 0;
    const shape = Array.isArray(e.shape) && e.shape.every((d) => Number.isSafeInteger(d) && d >= 0) ? (e.shape as number[]) : undefined;
    const offs = Array.isArray(e.data_offsets) && e.data_offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ? (e.data_offsets as number[]) : [];
    if (!item || !shape || offs.length !== 2) return `safetensors entry ${JSON.stringify(name.slice(0, 80))} is malformed`;
    const [b, f] = offs as [number, number];
    if (f - b !== shape.reduce((p, d) => p * d, 1) * item) return `safetensors entry ${JSON.stringify(name.slice(0, 80))} has a byte range that does not fit its shape`;
    end = Math.max(end, f);
  }
  if (end > dataLen) return `the safetensors header describes ${end} bytes of data, the file holds ${dataLen} (truncated)`;
  if (end < dataLen) return `the file has ${dataLen - end} bytes after the data the safetensors header describes`;
  return undefined;
}

function checkZip(fd: number, size: number): string | undefined {
  const tailAt = Math.max(0, size - EOCD_SEARCH);
  const tail = readAt(fd, tailAt, size - tailAt);
  for (let at = tail.length - 22; at >= 0; at--) {
    if (tail.readUInt32LE(at) !== 0x06054b50) continue;
    const cdSize = tail.readUInt32LE(at + 12);
    const cdOffset = tail.readUInt32LE(at + 16);
    // ZIP64 archives put 0xFFFFFFFF here and the real values in the ZIP64 record before it.
    if (cdOffset === 0xffffffff || cdSize === 0xffffffff) return undefined;
    return cdOffset + cdSize <= tailAt + at ? undefined : 'the zip central directory lies outside the file (truncated)';
  }
  return 'no zip end-of-central-directory record (truncated)';
}

/**
 * Why `path` is not a whole checkpoint, or undefined when it looks like one. Never throws: an
 * unreadable file is reported as the reason.
 */
export function checkpointDefect(path: string): string | undefined {
  let fd: number;
  try {
    // Opening a FIFO would block until a writer comes: look before opening.
    if (!statSync(path).isFile()) return 'not a regular file';
    fd = openSync(path, 'r');
  } catch (e) {
    return `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return 'not a regular file';
    if (st.size === 0) return 'empty';
    const head = readAt(fd, 0, FORMAT_PROBE_BYTES);
    switch (detectFormat(head)) {
      case 'safetensors':
        return checkSafetensors(fd, st.size);
      case 'torch-zip':
        return checkZip(fd, st.size);
      case 'pickle':
        return readAt(fd, st.size - 1, 1)[0] === 0x2e ? undefined : 'the pickle does not end with its STOP opcode (truncated)';
      case 'torch-legacy':
        return undefined;
      default:
        return `not a checkpoint in any known format (it starts with ${preview(head)})`;
    }
  } catch (e) {
    return `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  } finally {
    closeSync(fd);
  }
}

/** Feeds the file's bytes into `hash` (a download resumed from a .part hashes what it has first). */
export async function hashFileInto(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

/** The file's SHA-256, hex. */
export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await hashFileInto(path, hash);
  return hash.digest('hex');
}
