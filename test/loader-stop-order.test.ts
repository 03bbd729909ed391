/**
 * In stop mode a batch holding several bad images names the first of them in input order, whatever
 * order the workers finish in: the message a CI log shows must not depend on timing. The slow bad
 * file (a large file of junk, slower to reject than a zero-byte one) comes first in the batch, so a
 * loader that reports "first failure to arrive" would name the other one on most runs.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sample } from '../src/data/dataset.js';
import { createLoader } from '../src/data/loader.js';
import { DataError } from '../src/errors.js';
import { imagenetConfig, VAL_227 } from './support/fixtures.js';

const cfg = imagenetConfig(64);

let tmp: string;
let samples: Sample[];

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'zoo-stop-order-'));
  const names = readdirSync(VAL_227).sort().slice(0, 8);
  samples = names.map((name) => {
    const file = join(tmp, name);
    copyFileSync(join(VAL_227, name), file);
    return { file, name, label: 0 };
  });
  // Index 2: a big truncated JPEG (decoder works through it before failing); index 5: zero bytes.
  const jpeg = Buffer.alloc(4 << 20, 0x55);
  jpeg.set([0xff, 0xd8, 0xff, 0xe0], 0);
  writeFileSync(samples[2]!.file, jpeg);
  writeFileSync(samples[5]!.file, Buffer.alloc(0));
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('stop mode names the first bad image of the batch in input order', () => {
  for (const workers of [0, 2]) {
    it(`workers ${workers}`, async () => {
      for (let round = 0; round < 3; round++) {
        const loader = createLoader(samples, cfg, { batchSize: 8, workers });
        let error: unknown;
        try {
          for await (const _ of loader) void _;
        } catch (e) {
          error = e;
        } finally {
          await loader.close();
        }
        expect(error).toBeInstanceOf(DataError);
        expect((error as DataError).file).toBe(samples[2]!.file);
      }
    });
  }
});
