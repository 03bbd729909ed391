/**
 * A blocking read of a whole regular file, for threads that do nothing else (the loader's workers):
 * the promise-based readFile costs four round trips through libuv's thread pool (open, fstat, read,
 * close), and on a machine whose cores are all busy decoding, each round trip waits for a pool thread
 * to get a core while the worker sits idle. A read that could block for long is left to the async
 * path, which the loader's per-image timeout covers: anything but a regular file (a FIFO, a device;
 * opened non-blocking so a FIFO without a writer cannot hold us), a file whose size says 0, and any
 * error (the async path reports it, with the same words as always). A regular file on a stalled
 * network mount still blocks here, as it blocked a pool thread before: the loader's per-image timeout
 * then replaces the worker, as it replaces one stuck in the decoder.
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { readFully } from '../io/read-fully.js';

/** The file's bytes, or undefined when it is not a plain readable regular file (read it the usual way then). */
export function readRegularFileSync(path: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    // A size of 0 may not be the truth (procfs and the like): the async read reads those to their end.
    if (!st.isFile() || st.size === 0) return undefined;
    // Not zero-filled: every byte up to `got` is read; a file that shrank meanwhile is cut to what was there.
    const buf = Buffer.allocUnsafeSlow(st.size);
    const got = readFully(fd, buf, buf.length, 0);
    return got === buf.length ? buf : buf.subarray(0, got);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
