/**
 * A truncated JPEG fails with the same reason every time, however many decodes run at once: libvips'
 * own text for it varies under concurrency ("premature end of JPEG image" or "Unknown error"), and a
 * skipped image's reason must read the same in a resumed run as in an uninterrupted one.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeRgb } from '../src/data/decode.js';
import { DataError } from '../src/errors.js';
import { VAL_227 } from './support/fixtures.js';

describe('truncated JPEG reason', () => {
  it('is stable across 48 concurrent decodes of cut files', async () => {
    const names = readdirSync(VAL_227).sort().slice(0, 12);
    const cut = names.map((n) => {
      const b = readFileSync(join(VAL_227, n));
      return b.subarray(0, b.length >> 1);
    });
    const jobs = Array.from({ length: 48 }, (_, i) => decodeRgb(cut[i % cut.length]!, `cut-${i}.JPEG`).then(
      () => 'decoded',
      (e: unknown) => (e instanceof DataError ? e.message : `other: ${String(e)}`),
    ));
    const reasons = new Set(await Promise.all(jobs));
    expect([...reasons]).toEqual(['cannot decode image: truncated JPEG (the data ends before its end-of-image marker)']);
  });

  it('leaves whole JPEGs and other failures alone', async () => {
    const whole = readFileSync(join(VAL_227, readdirSync(VAL_227).sort()[0]!));
    await expect(decodeRgb(whole, 'whole.JPEG')).resolves.toMatchObject({ width: 227, height: 227 });
    await expect(decodeRgb(new TextEncoder().encode('not a picture at all\n'), 'text.JPEG')).rejects.toThrow(/cannot decode image: (?!truncated JPEG)/);
  });
});
