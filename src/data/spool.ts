/**
 * A `.tar.gz` (ImageNetV2 as downloaded) has no random access, and positional reads are what make
 * subsets, shards, ordered loading and resume work. So the decompressed tar is spooled once into
 * the cache (`<cache>/spool/<pid>-XXXX/data.tar`), then read in place like any tar. The spool is
 * bounded by the free space there (the stream stops when the next bytes would not fit, so a gzip
 * bomb fills nothing), said on stderr, and removed when the run ends: on return, on an error, on
 * SIGINT/SIGTERM (the process exits through its 'exit' handlers), and, for a run killed with -9, by
 * the next run that spools (folders of processes that no longer exist are swept).
 */
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, statfs } from 'node:fs/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DataError } from '../errors.js';
import { cacheDir } from '../io/cache-dir.js';

export interface Spool {
  /** The decompressed tar. */
  tar: string;
  bytes: number;
  /** Removes the spool now (idempotent). */
  dispose(): Promise<void>;
}

/** Free bytes to leave alone on the cache's file system (the user's disk is not ours to fill). */
function reserve(free: number): number {
  return Math.min(1 << 30, Math.floor(free / 10));
}

const live = new Set<string>();
let exitHookInstalled = false;

function removeAtExit(dir: string): void {
  live.add(dir);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const d of live) rmSync(d, { recursive: true, force: true });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Spools of runs that were killed before they could clean up. */
async function sweepStale(root: string): Promise<void> {
  const names = await readdir(root).catch(() => [] as string[]);
  for (const n of names) {
    const pid = Number(n.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)) await rm(join(root, n), { recursive: true, force: true });
  }
}

/** Decompresses `gz` into a fresh spool folder; `limitBytes` (tests) lowers the free-space bound. */
export async function spoolGzip(gz: string, opts: { limitBytes?: number } = {}): Promise<Spool> {
  const root = join(cacheDir(), 'spool');
  try {
    await mkdir(root, { recursive: true });
  } catch (e) {
    throw new DataError(`cannot create the spool folder for the decompressed tar: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
      file: root,
      fix: 'set ZOO_CACHE to a writable folder with room for the decompressed tar, or pass the extracted folder',
    });
  }
  await sweepStale(root);
  const dir = await mkdtemp(join(root, `${process.pid}-`));
  removeAtExit(dir);
  const tar = join(dir, 'data.tar');
  const dispose = async () => {
    live.delete(dir);
    await rm(dir, { recursive: true, force: true });
  };
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  const limit = Math.min(opts.limitBytes ?? Infinity, free - reserve(free));
  let bytes = 0;
  const bound = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > limit) done(new SpoolFull());
      else done(null, chunk);
    },
  });
  try {
    await pipeline(createReadStream(gz), createGunzip(), bound, createWriteStream(tar));
  } catch (e) {
    await dispose();
    if (e instanceof SpoolFull) {
      throw new DataError(`the .tar.gz decompresses to more than the ${limit} bytes that fit in the spool folder ${root}`, {
        file: gz,
        expected: 'room in the cache for the decompressed tar (ImageNetV2: about 1.3 GB)',
        fix: 'free space there, point ZOO_CACHE at a larger disk, or extract the archive and pass the folder',
      });
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES') throw new DataError(`cannot read the archive: ${code}`, { file: gz, fix: 'check the --data path and its permissions' });
    throw new DataError(`not a readable gzip: ${(e as Error).message}`, {
      file: gz,
      expected: 'a complete .tar.gz (ImageNetV2 as downloaded)',
      fix: 'the download or copy was cut short or damaged; fetch it again',
    });
  }
  return { tar, bytes, dispose };
}

class SpoolFull extends Error {}
