/**
 * The loader on real val images: identical, ordered output for any batch size and worker count,
 * equal to preprocessing each file alone; a corrupt file surfaces as a DataError naming it, and the
 * loader shuts its worker threads down. Workers run dist/data/worker.js: `npm test` builds first.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverDataset, type Sample } from '../src/data/dataset.js';
import { createLoader } from '../src/data/loader.js';
import { preprocessFile } from '../src/data/preprocess.js';
import { DataError } from '../src/errors.js';
import { imagenetConfig, VAL_227 } from './support/fixtures.js';

const cfg = imagenetConfig(224);
const PER = 3 * 224 * 224;
const N = 71; // one full and one short batch of 64; ten of 7 and a short one

let tmp: string;
let samples: Sample[];
let expected: Float32Array[];

function workerThreads(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'MessagePort' || r === 'Worker').length;
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'zoo-loader-'));
  for (const n of readdirSync(VAL_227).sort().slice(0, N)) copyFileSync(join(VAL_227, n), join(tmp, n));
  samples = (await discoverDataset(tmp)).samples;
  expected = [];
  for (const s of samples) expected.push(await preprocessFile(s.file, cfg));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('createLoader', () => {
  for (const workers of [0, 1, 2]) {
    for (const batchSize of [1, 7, 64]) {
      it(`workers ${workers}, batch ${batchSize}: ordered, complete, equal to per-file preprocessing`, async () => {
        const loader = createLoader(samples, cfg, { batchSize, workers });
        let seen = 0;
        let index = 0;
        for await (const b of loader) {
          expect(b.index).toBe(index++);
          expect(b.start).toBe(seen);
          expect(b.n).toBe(Math.min(batchSize, N - seen));
          expect(b.data.length).toBe(b.n * PER);
          expect(b.samples).toEqual(samples.slice(seen, seen + b.n));
          for (let i = 0; i < b.n; i++) {
            const got = b.data.subarray(i * PER, (i + 1) * PER);
            // Exact equality: every value must be the same float32.
            if (!Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(expected[seen + i]!.buffer))) {
              throw new Error(`image ${seen + i} (${samples[seen + i]!.name}) differs`);
            }
          }
          seen += b.n;
        }
        expect(seen).toBe(N);
        await loader.close();
      });
    }
  }

  for (const workers of [0, 2]) {
    it(`workers ${workers}: a truncated JPEG is a DataError naming it; earlier batches arrive; close is clean`, async () => {
      const bad = join(tmp, 'broken');
      rmSync(bad, { recursive: true, force: true });
      const { mkdirSync } = await import('node:fs');
      mkdirSync(bad);
      const good = samples.slice(0, 20).map((s) => {
        copyFileSync(s.file, join(bad, s.name));
        return { ...s, file: join(bad, s.name) };
      });
      const victim = good[13]!;
      const bytes = readFileSync(victim.file);
      writeFileSync(victim.file, bytes.subarray(0, bytes.length >> 1));
      const before = workerThreads();
      const loader = createLoader(good, cfg, { batchSize: 4, workers, prefetch: 1 });
      const got: number[] = [];
      let error: unknown;
      try {
        for await (const b of loader) got.push(b.index);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DataError);
      expect((error as DataError).file).toBe(victim.file);
      expect((error as DataError).oneLine()).toContain(victim.file);
      expect(got).toEqual([0, 1, 2]); // batches before the one holding image 13
      await loader.close(); // idempotent
      expect(workerThreads()).toBe(before);
    });
  }

  it('a zero-byte file with 2 workers fails the same way, and early close() stops the workers', async () => {
    const empty = join(tmp, 'ILSVRC2012_val_99999999.JPEG');
    writeFileSync(empty, '');
    const list = [...samples.slice(0, 3), { file: empty, label: 0, name: 'ILSVRC2012_val_99999999.JPEG' }];
    const loader = createLoader(list, cfg, { batchSize: 2, workers: 2 });
    let error: unknown;
    try {
      for await (const _ of loader) void _;
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).oneLine()).toMatch(/ILSVRC2012_val_99999999\.JPEG: cannot decode image: the file is empty/);

    const before = workerThreads();
    const early = createLoader(samples, cfg, { batchSize: 8, workers: 2 });
    const first = await early.next();
    expect(first.done).toBe(false);
    expect(workerThreads()).toBeGreaterThanOrEqual(before + 2); // the probe does see live workers
    await early.close();
    expect(await early.next()).toEqual({ done: true, value: undefined });
    expect(workerThreads()).toBeLessThanOrEqual(before);
  });
});
