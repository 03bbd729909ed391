/**
 * The crop cache (`--crop-cache DIR`): the exact uint8 RGB crop of each image (decoded, resized and
 * cropped, not yet normalised), so a later run with the same crop config reads it instead of
 * decoding. Normalisation stays per run (mean/std are not in the key), so one cache serves models
 * that differ only there.
 *
 * Key: the image's identity (absolute path, size, mtime, SHA-256 of its first and last 64 KiB; for
 * an archive entry, the archive's and the entry's position) and the crop config (size, crop pct,
 * crop mode, interpolation, resize mode). The decoder is not in the key: zoo's decoders are
 * byte-identical. The entry's file name is the SHA-256 of the key text.
 *
 * Entry file: magic, header length, width, height, CRC-32 of the pixels, CRC-32 of the header, the
 * header (the key text, so a hash collision or a renamed file is caught), the pixels. An entry is
 * read with one read into a buffer reused per thread and verified whole (size, magic, key, both
 * checksums) before a pixel is used: a truncated, flipped or mismatched entry counts as `bad`, is
 * decoded again and rewritten. The cache never changes a result.
 *
 * Writes are atomic: a temporary file beside the entry (pid, thread and a random part in its name)
 * renamed over it, so concurrent runs sharing a cache only ever see whole entries. Reads and writes
 * are synchronous on the loader's worker thread: an entry is a few hundred KB from the page cache,
 * and a sync read into one reused buffer cannot be overwritten by another image in flight.
 */
import { randomBytes, createHash } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, writeSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { threadId } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { UsageError } from '../errors.js';
import { borderFill, type EvalConfig } from '../models/eval-config.js';
import type { RgbImage } from './decode.js';
import type { ArchiveEntryRef, ImageSource, ResizeMode } from './pipeline.js';
import { readFully } from '../io/read-fully.js';

const MAGIC = Buffer.from('ZOOCROP1', 'latin1');
const FIXED = 28; // magic 8 + header length, width, height, pixel crc, header crc (u32 each)
const EDGE = 64 * 1024;
/** Entries end with this; anything else in the directory (besides the tag) is not ours. */
export const ENTRY_SUFFIX = '.crop';
/** Marks a directory as a zoo crop cache (the CACHEDIR.TAG convention: backup tools skip it). */
export const CACHE_TAG = 'CACHEDIR.TAG';
const TAG_TEXT = 'Signature: 8a477f597d28d172789f06886806bc55\n# zoo crop cache (--crop-cache); entries are *.crop files, safe to delete.\n';

/** What happened to one image: read from the cache, decoded and stored (miss), or a bad entry replaced. */
export type CacheOutcome = 'hit' | 'miss' | 'bad';

/** The crop config part of the key: what decides the uint8 crop. */
export function cropKeyConfig(cfg: EvalConfig, resize: ResizeMode): string {
  // Crop mode border pads with the mean's colour, and a trimmed border changes every pixel: both are
  // in the key only when they apply, so the keys of existing entries stay what they were.
  const fill = cfg.cropMode === 'border' ? ` fill=${borderFill(cfg.mean).join(',')}` : '';
  const trim = cfg.cropBorderPixels ? ` crop_border_pixels=${cfg.cropBorderPixels}` : '';
  return `size=${cfg.inputSize[1]}x${cfg.inputSize[2]} crop_pct=${cfg.cropPct} crop_mode=${cfg.cropMode} interpolation=${cfg.interpolation} resize=${resize}${fill}${trim}`;
}

/**
 * Creates the cache directory (and its tag) if needed. A directory that holds other files and no
 * tag is refused: zoo writes (and `zoo cache prune` deletes) only in a directory that is its cache.
 */
export function prepareCropCache(dir: string): void {
  const tag = join(dir, CACHE_TAG);
  try {
    if (existsSync(dir) && !existsSync(tag) && readdirSync(dir).length > 0) {
      throw new UsageError('--crop-cache: the directory is not empty and is not a zoo crop cache', {
        file: dir,
        expected: `an empty or new directory, or one with zoo's ${CACHE_TAG}`,
        fix: 'name a new directory for the cache',
      });
    }
    mkdirSync(dir, { recursive: true });
    if (!existsSync(tag)) writeFileSync(tag, TAG_TEXT);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new UsageError(`--crop-cache: cannot create the cache directory (${why})`, { file: dir, fix: 'name a directory you can write to' });
  }
}

/** True when `dir` carries zoo's crop-cache tag. */
export function isCropCache(dir: string): boolean {
  return existsSync(join(dir, CACHE_TAG));
}

export class CropCache {
  private readonly dir: string;
  private readonly config: string;
  /** Reused for every read on this thread (reads are synchronous, so never two at once). */
  private buf = Buffer.alloc(0);
  private readonly edge = Buffer.alloc(EDGE);

  constructor(dir: string, cfg: EvalConfig, resize: ResizeMode) {
    this.dir = resolve(dir);
    this.config = cropKeyConfig(cfg, resize);
  }

  /** The key text of an image: its identity and the crop config. Reads at most 128 KiB of it. */
  keyOf(src: ImageSource): string {
    const ref: ArchiveEntryRef | undefined = src.tar;
    const container = resolve(ref ? ref.file : src.file);
    const fd = openSync(container, 'r');
    try {
      const st = fstatSync(fd);
      const start = ref ? ref.offset : 0;
      const size = ref ? ref.size : st.size;
      const hash = createHash('sha256');
      const head = Math.min(EDGE, size);
      hash.update(this.edge.subarray(0, readFully(fd, this.edge, head, start)));
      if (size > EDGE) {
        const tail = Math.min(EDGE, size - EDGE);
        hash.update(this.edge.subarray(0, readFully(fd, this.edge, tail, start + size - tail)));
      }
      const where = ref ? ` entry=${src.file} offset=${ref.offset} stored=${ref.size}${ref.local ? ' zip' : ''}` : '';
      return `zoo-crop v1\nimage=${container}${where} size=${st.size} mtime_ms=${st.mtimeMs} edges_sha256=${hash.digest('hex')}\n${this.config}\n`;
    } finally {
      closeSync(fd);
    }
  }

  pathOf(key: string): string {
    const name = createHash('sha256').update(key).digest('hex');
    return join(this.dir, name.slice(0, 2), name + ENTRY_SUFFIX);
  }

  /**
   * The cached crop for `key`, or why not: 'absent', or 'bad' (truncated, damaged, another key).
   * The crop's pixels are a view of this thread's read buffer: valid until the next read.
   */
  read(key: string): RgbImage | 'absent' | 'bad' {
    const file = this.pathOf(key);
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      return 'absent';
    }
    try {
      const size = fstatSync(fd).size;
      if (size < FIXED) return 'bad';
      if (this.buf.length < size) this.buf = Buffer.alloc(Math.max(size, this.buf.length * 2));
      if (readFully(fd, this.buf, size, 0) !== size) return 'bad';
      const b = this.buf;
      if (!b.subarray(0, 8).equals(MAGIC)) return 'bad';
      const headerLen = b.readUInt32LE(8);
      const width = b.readUInt32LE(12);
      const height = b.readUInt32LE(16);
      const pixels = width * height * 3;
      if (FIXED + headerLen + pixels !== size) return 'bad';
      const header = b.subarray(FIXED, FIXED + headerLen);
      if (crc32(header) !== b.readUInt32LE(24) || header.toString('utf8') !== key) return 'bad';
      const data = new Uint8Array(b.buffer, b.byteOffset + FIXED + headerLen, pixels);
      if (crc32(data) !== b.readUInt32LE(20)) return 'bad';
      return { width, height, data };
    } catch {
      return 'bad';
    } finally {
      closeSync(fd);
    }
  }

  /** Stores `crop` under `key` atomically. A failure (disk full, read-only) only loses the entry. */
  write(key: string, crop: RgbImage): void {
    const file = this.pathOf(key);
    const header = Buffer.from(key, 'utf8');
    const fixed = Buffer.alloc(FIXED);
    MAGIC.copy(fixed, 0);
    fixed.writeUInt32LE(header.length, 8);
    fixed.writeUInt32LE(crop.width, 12);
    fixed.writeUInt32LE(crop.height, 16);
    fixed.writeUInt32LE(crc32(crop.data), 20);
    fixed.writeUInt32LE(crc32(header), 24);
    const tmp = `${file}.${process.pid}-${threadId}-${randomBytes(4).toString('hex')}.tmp`;
    try {
      mkdirSync(join(file, '..'), { recursive: true });
      const fd = openSync(tmp, 'wx');
      try {
        writeSync(fd, fixed);
        writeSync(fd, header);
        writeSync(fd, crop.data);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, file);
    } catch {
      rmSync(tmp, { force: true });
    }
  }
}

/** What a crop cache holds, per crop config. */
export interface CropCacheSurvey {
  dir: string;
  entries: number;
  bytes: number;
  /** Temporary files of writes (a run killed mid-write, or one writing now). */
  temps: number;
  /** Entries per crop config (the key's config line; `unreadable` for an entry whose header is not ours). */
  configs: { config: string; entries: number; bytes: number }[];
  /** mtime of the oldest and newest entry (ms since the epoch), null when empty. */
  oldest: number | null;
  newest: number | null;
}

/** The shard folders' files: entries (`*.crop`) and write temporaries (`*.tmp`) only. */
function* cacheFiles(dir: string): Generator<{ file: string; name: string }> {
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    if (!d.isDirectory() || !/^[0-9a-f]{2}$/.test(d.name)) continue;
    for (const name of readdirSync(join(dir, d.name))) {
      if (name.endsWith(ENTRY_SUFFIX) || name.endsWith('.tmp')) yield { file: join(dir, d.name, name), name };
    }
  }
}

/** The config line of an entry, read from its header (a few hundred bytes), or 'unreadable'. */
function configOfEntry(file: string): string {
  const head = Buffer.alloc(4096);
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const n = readFully(fd, head, head.length, 0);
    if (n < FIXED || !head.subarray(0, 8).equals(MAGIC)) return 'unreadable';
    const len = head.readUInt32LE(8);
    if (FIXED + len > n) return 'unreadable';
    return head.subarray(FIXED, FIXED + len).toString('utf8').split('\n')[2] ?? 'unreadable';
  } catch {
    return 'unreadable';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Counts and sizes a crop cache (`zoo cache --crop-cache DIR`). */
export function surveyCropCache(dir: string): CropCacheSurvey {
  requireCropCache(dir);
  const survey: CropCacheSurvey = { dir: resolve(dir), entries: 0, bytes: 0, temps: 0, configs: [], oldest: null, newest: null };
  const byConfig = new Map<string, { config: string; entries: number; bytes: number }>();
  for (const { file, name } of cacheFiles(dir)) {
    if (name.endsWith('.tmp')) {
      survey.temps++;
      continue;
    }
    let st;
    try {
      st = statSync(file);
    } catch {
      continue; // pruned meanwhile
    }
    survey.entries++;
    survey.bytes += st.size;
    survey.oldest = Math.min(survey.oldest ?? Infinity, st.mtimeMs);
    survey.newest = Math.max(survey.newest ?? -Infinity, st.mtimeMs);
    const config = configOfEntry(file);
    const c = byConfig.get(config) ?? { config, entries: 0, bytes: 0 };
    c.entries++;
    c.bytes += st.size;
    byConfig.set(config, c);
  }
  survey.configs = [...byConfig.values()].sort((a, b) => b.entries - a.entries || a.config.localeCompare(b.config));
  return survey;
}

/** A write temporary older than this is left over from a killed run (a live write takes milliseconds). */
const STALE_TEMP_MS = 60 * 60 * 1000;

/**
 * Deletes crop entries last written before `olderThanMs` (ms since the epoch; all entries when
 * null) and write temporaries older than an hour. Only `*.crop` / `*.tmp` in the shard folders of
 * a tagged cache are touched. Returns what went.
 */
export function pruneCropCache(dir: string, olderThanMs: number | null, now = Date.now()): { removed: number; bytes: number } {
  requireCropCache(dir);
  let removed = 0;
  let bytes = 0;
  for (const { file, name } of cacheFiles(dir)) {
    let st;
    try {
      st = statSync(file);
    } catch {
      continue;
    }
    const stale = name.endsWith('.tmp') ? now - st.mtimeMs > STALE_TEMP_MS : olderThanMs === null || st.mtimeMs < olderThanMs;
    if (!stale) continue;
    rmSync(file, { force: true });
    removed++;
    bytes += st.size;
  }
  return { removed, bytes };
}

/** Refuses a directory that is not a zoo crop cache: nothing is read or deleted there. */
function requireCropCache(dir: string): void {
  if (!existsSync(dir)) throw new UsageError('--crop-cache: no such directory', { file: dir, fix: 'name the directory a run used as --crop-cache' });
  if (!isCropCache(dir)) {
    throw new UsageError(`--crop-cache: not a zoo crop cache (no ${CACHE_TAG})`, { file: dir, fix: 'name the directory a run used as --crop-cache' });
  }
}
