/**
 * Issue 12, decode once per config: the members of a sweep group read one real loader
 * (src/run/shared-pass.ts) over real val-227 JPEGs. Every member gets the very same decoded batch
 * (one decode, not one per model), equal to the per-file preprocessing; the pass does not move on
 * while a member still reads the current batch (its pool buffer stays intact); a member that leaves
 * (its model failed to load, or its run ended) holds nobody up; a member asking for other images
 * gets a loader of its own.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverDataset, type Sample } from '../src/data/dataset.js';
import type { Batch } from '../src/data/loader.js';
import { preprocessFile } from '../src/data/preprocess.js';
import { SharedPass } from '../src/run/shared-pass.js';
import { imagenetConfig, VAL_227 } from './support/fixtures.js';

const cfg = imagenetConfig(224);
const PER = 3 * 224 * 224;
const N = 5;
const opts = { batchSize: 2, workers: 1 };

let tmp: string;
let samples: Sample[];
let expected: Float32Array[];

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'zoo-shared-pass-'));
  for (const n of readdirSync(VAL_227).sort().slice(0, N)) copyFileSync(join(VAL_227, n), join(tmp, n));
  samples = (await discoverDataset(tmp)).samples;
  expected = [];
  for (const s of samples) expected.push(await preprocessFile(s.file, cfg));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function expectExact(b: Batch): void {
  for (let i = 0; i < b.n; i++) {
    const got = b.data.subarray(i * PER, (i + 1) * PER);
    expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(expected[b.start + i]!.buffer)), `image ${b.start + i}`).toBe(true);
  }
}

describe('SharedPass', () => {
  it('gives every member the same decoded batches, and waits for the slowest before decoding on', async () => {
    const pass = new SharedPass(2);
    const a = pass.opener(0)(samples, cfg, opts);
    const b = pass.opener(1)([...samples], { ...cfg }, opts); // another run's equal selection and config
    let batches = 0;
    let pa = a.next();
    let pb = b.next();
    for (;;) {
      const [ra, rb] = await Promise.all([pa, pb]);
      if (ra.done) {
        expect(rb.done).toBe(true);
        break;
      }
      batches++;
      // One decode: the same batch object for both.
      expect(rb.value).toBe(ra.value);
      // a is done with the batch and asks for the next; b still reads it: a must wait, and b's
      // batch (a loader pool buffer, reused once the loader is asked for more) must stay intact.
      let aGotNext = false;
      pa = a.next();
      void pa.then(() => (aGotNext = true));
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      expect(aGotNext).toBe(false);
      expectExact(rb.value as Batch);
      pb = b.next();
    }
    expect(batches).toBe(Math.ceil(N / opts.batchSize));
    await a.close();
    await b.close();
  });

  it('goes on without a member that left, and gives a member asking for other images its own loader', async () => {
    const pass = new SharedPass(3);
    const a = pass.opener(0)(samples, cfg, opts);
    pass.leave(1); // its model failed to load: it never opens
    const c = pass.opener(2)(samples.slice(1), cfg, opts); // a resumed run starting at image 1
    const seenA: number[] = [];
    for await (const batch of a) {
      expectExact(batch);
      seenA.push(batch.start);
    }
    const seenC: number[] = [];
    for await (const batch of c) {
      seenC.push(batch.n);
      expect(batch.samples[0]).toBe(samples[1 + batch.start]);
    }
    expect(seenA).toEqual([0, 2, 4]);
    expect(seenC).toEqual([2, 2]);
    await a.close();
    await c.close();
  });
});
