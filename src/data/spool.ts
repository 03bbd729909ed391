/**
 * A `.tar.gz` (ImageNetV2 as downloaded) has no random access, and positional reads are what make
 * subsets, shards, ordered loading and resume work. So the decompressed tar is spooled once into
 * the cache (`<cache>/spool/<pid>-XXXX/data.tar`), then read in place like any tar. The spool is
 * bounded by the free space there (the stream stops when the next bytes would not fit, so a gzip
 * bomb fills nothing), said on stderr, and removed when the run ends: on return, on an error, on
 * SIGINT/SIGTERM (the process exits through its 'exit' handlers), and, for a run killed with -9, by
 * the next run that spools (folders of processes that no longer exist are swept): src/io/scratch-dir.ts.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DataError } from '../errors.js';
import { cacheDir } from '../io/cache-dir.js';
import { roomIn, scratchDir, type ScratchDir } from '../io/scratch-dir.js';

export interface Spool {
  /** The decompressed tar. */
  tar: string;
  bytes: number;
  /** Removes the spool now (idempotent). */
  dispose(): Promise<void>;
}

/** Decompresses `gz` into a fresh spool folder; `limitBytes` (tests) lowers the free-space bound. */
export async function spoolGzip(gz: string, opts: { limitBytes?: number } = {}): Promise<Spool> {
  const root = join(cacheDir(), 'spool');
  let scratch: ScratchDir;
  try {
    scratch = scratchDir(root);
  } catch (e) {
    throw new DataError(`cannot create the spool folder for the decompressed tar: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
      file: root,
      fix: 'set ZOO_CACHE to a writable folder with room for the decompressed tar, or pass the extracted folder',
    });
  }
  const tar = join(scratch.dir, 'data.tar');
  const dispose = () => scratch.dispose();
  const limit = Math.min(opts.limitBytes ?? Infinity, roomIn(scratch.dir));
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
