/** A blocking positional read that goes on until it has what it asked for or the file ends. */
import { readSync } from 'node:fs';

/** Reads up to `length` bytes at `position` into buf[0 ...]; returns how many (short only at EOF). */
export function readFully(fd: number, buf: Uint8Array, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}
