/**
 * The loader workers' blocking read (src/data/read-sync.ts): a regular file's exact bytes; anything
 * that could block or is not a file (a FIFO without a writer, a device, a folder, a missing file)
 * declined at once, so the async read and the loader's per-image timeout handle it as before. A FIFO
 * opened without O_NONBLOCK would hang here until vitest's timeout.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRegularFileSync } from '../src/data/read-sync.js';
import { VAL_227 } from './support/fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zoo-read-sync-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readRegularFileSync', () => {
  it('reads a regular file whole, byte for byte; declines one whose size says 0 (the async read reads to the end)', async () => {
    const jpeg = join(VAL_227, readdirSync(VAL_227).find((f) => /\.jpe?g$/i.test(f))!);
    const got = readRegularFileSync(jpeg)!;
    expect(Buffer.compare(got, readFileSync(jpeg))).toBe(0);
    const empty = join(dir, 'empty.JPEG');
    await writeFile(empty, '');
    expect(readRegularFileSync(empty)).toBeUndefined();
  });

  it('declines a FIFO nobody writes to without blocking, and a device, a folder, a missing file', () => {
    const fifo = join(dir, 'pipe.JPEG');
    execFileSync('mkfifo', [fifo]);
    expect(readRegularFileSync(fifo)).toBeUndefined();
    expect(readRegularFileSync('/dev/zero')).toBeUndefined();
    expect(readRegularFileSync(dir)).toBeUndefined();
    expect(readRegularFileSync(join(dir, 'missing.JPEG'))).toBeUndefined();
  }, 10_000);
});
