/**
 * The loader on a corpus of broken files this test makes itself: truncated JPEG, zero bytes, not an
 * image, a pixel-limit bomb (a real PNG header claiming 30000 x 30000), a FIFO nobody writes (a read
 * that blocks forever: must time out, not hang), and a file the reading user may not open (EACCES,
 * run in a child process as an unprivileged user when the tests run as root).
 *
 * With onError 'skip' every broken file is a clean per-image failure, batches still cover their
 * [start, end) slice and hold exactly the images that decoded, equal to preprocessing them alone;
 * with 'stop' the first one ends the run with a DataError naming the file and the flag that skips it.
 * Workers run dist/data/worker.js: `npm test` builds first.
 */
import { spawnSync, execFileSync } from 'node:child_process';
import { chmodSync, constants, copyFileSync, cpSync, existsSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Sample } from '../src/data/dataset.js';
import { createLoader, type Batch } from '../src/data/loader.js';
import { preprocessFile } from '../src/data/preprocess.js';
import { DataError } from '../src/errors.js';
import { imagenetConfig, VAL_227 } from './support/fixtures.js';

const ROOT = join(import.meta.dirname, '..');
const cfg = imagenetConfig(64);
const PER = 3 * 64 * 64;
const TIMEOUT_MS = 2500;

let tmp: string;
let good: Sample[];
let broken: { kind: string; sample: Sample; message: RegExp }[];
let fifo: string;
const expected = new Map<string, Float32Array>();

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A well-formed PNG whose header claims width x height (only a few bytes of pixel data follow). */
function bombPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(1024))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Let any read blocked on the FIFO finish (a writer that opens and closes gives readers EOF). */
function releaseFifo(): void {
  try {
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // ENXIO: no reader is waiting.
  }
}

const sample = (file: string, name: string, label = 0): Sample => ({ file, name, label });

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'zoo-loader-skip-'));
  chmodSync(tmp, 0o755);
  const names = readdirSync(VAL_227).sort().slice(0, 9);
  good = names.map((n, i) => {
    copyFileSync(join(VAL_227, n), join(tmp, n));
    return sample(join(tmp, n), n, i);
  });
  for (const s of good) expected.set(s.file, await preprocessFile(s.file, cfg));
  const bytes = readFileSync(good[0]!.file);
  const make = (name: string, content: Buffer | string) => {
    writeFileSync(join(tmp, name), content);
    return sample(join(tmp, name), name);
  };
  fifo = join(tmp, 'fifo.JPEG');
  execFileSync('mkfifo', [fifo]);
  broken = [
    { kind: 'truncated', sample: make('truncated.JPEG', bytes.subarray(0, bytes.length >> 1)), message: /cannot decode image/ },
    { kind: 'zero-byte', sample: make('empty.JPEG', ''), message: /the file is empty \(0 bytes\)/ },
    { kind: 'not an image', sample: make('text.JPEG', 'this is not a JPEG\n'.repeat(20)), message: /cannot decode image/ },
    { kind: 'pixel bomb', sample: make('bomb.png', bombPng(30000, 30000)), message: /larger than 178956970 pixels/ },
    { kind: 'missing', sample: sample(join(tmp, 'gone.JPEG'), 'gone.JPEG'), message: /cannot read image: ENOENT/ },
    { kind: 'blocking FIFO', sample: sample(fifo, 'fifo.JPEG'), message: /timed out: no result after 2.5 s/ },
  ];
});
afterEach(releaseFifo);
afterAll(() => {
  releaseFifo();
  rmSync(tmp, { recursive: true, force: true });
});

/** Good and broken files interleaved so failures land at batch starts, middles and ends. */
function corpus(): Sample[] {
  const g = [...good];
  const out: Sample[] = [];
  for (const b of broken) out.push(b.sample, ...g.splice(0, 2));
  return [...out, ...g];
}

async function drain(list: readonly Sample[], workers: number, batchSize: number): Promise<Batch[]> {
  const loader = createLoader(list, cfg, { batchSize, workers, onError: 'skip', imageTimeoutMs: TIMEOUT_MS, prefetch: 1 });
  const out: Batch[] = [];
  try {
    // A batch's data is a pool buffer, valid until the next batch is asked for: keep a copy.
    for await (const b of loader) out.push({ ...b, data: b.data.slice() });
  } finally {
    await loader.close();
  }
  return out;
}

describe('createLoader onError skip', () => {
  for (const workers of [0, 1, 2]) {
    it(`workers ${workers}: every broken file fails alone; batches cover their slice, compacted, exact`, async () => {
      const list = corpus();
      const batchSize = 4;
      const batches = await drain(list, workers, batchSize);
      expect(batches.map((b) => [b.index, b.start, b.end])).toEqual(
        Array.from({ length: Math.ceil(list.length / batchSize) }, (_, k) => [k, k * batchSize, Math.min((k + 1) * batchSize, list.length)]),
      );
      const failed = batches.flatMap((b) => b.failed);
      expect(failed.map((f) => f.index)).toEqual(broken.map((b) => list.indexOf(b.sample)));
      for (const b of broken) {
        const f = failed.find((x) => x.sample === b.sample)!;
        expect(f.message, b.kind).toMatch(b.message);
        expect(f.message.startsWith(`${b.sample.file}: `), b.kind).toBe(true);
      }
      for (const b of batches) {
        expect(b.n).toBe(b.end - b.start - b.failed.length);
        expect(b.samples).toEqual(list.slice(b.start, b.end).filter((s) => !b.failed.some((f) => f.sample === s)));
        expect(b.data.length).toBe(b.n * PER);
        b.samples.forEach((s, i) => {
          const got = b.data.subarray(i * PER, (i + 1) * PER);
          expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(expected.get(s.file)!.buffer)), s.name).toBe(true);
        });
      }
      expect(batches.reduce((n, b) => n + b.n, 0)).toBe(good.length);
    }, 30_000);
  }

  it('a batch whose images all fail is yielded empty, not dropped', async () => {
    const list = [good[0]!, broken[1]!.sample, broken[2]!.sample, good[1]!];
    const batches = await drain(list, 1, 2);
    expect(batches.map((b) => [b.n, b.failed.length, b.data.length])).toEqual([
      [1, 1, PER],
      [1, 1, PER],
    ]);
    const all = await drain([broken[1]!.sample, broken[2]!.sample], 2, 2);
    expect(all.map((b) => [b.start, b.end, b.n, b.samples.length, b.failed.length])).toEqual([[0, 2, 0, 0, 2]]);
  }, 20_000);
});

describe('createLoader onError stop (default)', () => {
  for (const workers of [0, 2]) {
    it(`workers ${workers}: each broken kind ends the run with a DataError naming it and the skip flag`, async () => {
      for (const b of broken) {
        const list = [good[0]!, good[1]!, b.sample, good[2]!];
        const loader = createLoader(list, cfg, { batchSize: 2, workers, imageTimeoutMs: TIMEOUT_MS });
        const seen: number[] = [];
        let error: unknown;
        try {
          for await (const batch of loader) seen.push(batch.index);
        } catch (e) {
          error = e;
        }
        await loader.close();
        releaseFifo();
        expect(error, b.kind).toBeInstanceOf(DataError);
        const line = (error as DataError).oneLine();
        expect(line, b.kind).toContain(b.sample.file);
        expect(line, b.kind).toMatch(b.message);
        expect(line, b.kind).toMatch(/or pass --on-error skip to exclude it$/);
        expect(seen, b.kind).toEqual([0]);
      }
    }, 40_000);
  }
});

/** Bare module specifiers (packages) that `file`'s import graph reaches, following relative imports. */
function packagesImported(file: string, seen = new Set<string>(), found = new Set<string>()): Set<string> {
  if (seen.has(file)) return found;
  seen.add(file);
  const code = readFileSync(file, 'utf8');
  for (const m of code.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
    const spec = m[1]!;
    if (spec.startsWith('node:')) continue;
    if (spec.startsWith('.')) packagesImported(join(dirname(file), spec), seen, found);
    else found.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
  }
  return found;
}

/** Copies node_modules/<name> and everything it depends on (that is installed here) under `into`. */
function copyPackage(name: string, into: string, seen = new Set<string>()): void {
  if (seen.has(name)) return;
  seen.add(name);
  const src = join(ROOT, 'node_modules', name);
  if (!existsSync(src)) return; // an optional dependency for another platform
  cpSync(src, join(into, 'node_modules', name), { recursive: true, dereference: true });
  const pkg = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8')) as { dependencies?: object; optionalDependencies?: object };
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) copyPackage(dep, into, seen);
}

/**
 * What the unprivileged child runs, copied where it can reach it: the checkout may lie under a
 * directory only root may traverse (a 0700 home, a `mktemp -d` folder), and then the child would
 * fail to load the loader at all, for the wrong reason (issue 9.18). The copy is dist/, the wasm
 * resampler, package.json (ESM) and the packages the loader and its worker import.
 */
function reachableRuntime(into: string): string {
  cpSync(join(ROOT, 'dist'), join(into, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'wasm', 'resize.wasm'), join(into, 'wasm', 'resize.wasm'));
  cpSync(join(ROOT, 'package.json'), join(into, 'package.json'));
  const entry = join(into, 'dist', 'data', 'loader.js');
  for (const name of packagesImported(join(into, 'dist', 'data', 'worker.js'), new Set(), packagesImported(entry))) copyPackage(name, into);
  return entry;
}

/** Every directory from / down to `dir` lets others through (x for "other"). */
function traversableByOthers(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return d;
    if (dirname(d) === d) return undefined;
  }
}

describe('unreadable permissions', () => {
  it('EACCES is a per-image failure (skip) and a DataError (stop), as an unprivileged user', () => {
    const asRoot = process.getuid?.() === 0;
    const blocked = traversableByOthers(tmp);
    if (asRoot && blocked) throw new Error(`${blocked} is not traversable by others: set TMPDIR to a directory uid 65534 can reach`);
    const loaderJs = asRoot ? reachableRuntime(join(tmp, 'runtime')) : join(ROOT, 'dist', 'data', 'loader.js');
    const locked = join(tmp, 'locked.JPEG');
    copyFileSync(good[0]!.file, locked);
    const list = [good[0]!, sample(locked, 'locked.JPEG'), good[1]!];
    const script = `
      const { createLoader } = await import(${JSON.stringify(loaderJs)});
      const cfg = ${JSON.stringify(cfg)};
      const list = ${JSON.stringify(list)};
      const out = {};
      const skip = createLoader(list, cfg, { batchSize: 2, workers: 1, onError: 'skip' });
      out.skip = [];
      for await (const b of skip) out.skip.push({ n: b.n, failed: b.failed.map((f) => f.message) });
      try { for await (const b of createLoader(list, cfg, { batchSize: 2, workers: 0 })) void b; }
      catch (e) { out.stop = e.oneLine(); }
      console.log(JSON.stringify(out));`;
    // A file, not -e: worker threads inherit the parent's execArgv.
    const file = join(tmp, 'eacces-probe.mjs');
    writeFileSync(file, script);
    const probe = () => {
      const r = spawnSync(process.execPath, [file], {
        encoding: 'utf8',
        timeout: 30_000,
        ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
      });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { skip: { n: number; failed: string[] }[]; stop?: string };
    };
    // The same child reads everything while the file is readable: any failure below is the permission's.
    const readable = probe();
    expect(readable.skip.map((b) => [b.n, b.failed])).toEqual([
      [2, []],
      [1, []],
    ]);
    expect(readable.stop).toBeUndefined();

    chmodSync(locked, 0o000);
    const out = probe();
    expect(out.skip.map((b) => b.n)).toEqual([1, 1]);
    expect(out.skip[0]!.failed).toEqual([`${locked}: cannot read image: EACCES`]);
    expect(out.stop).toContain(`${locked}: cannot read image: EACCES`);
    expect(out.stop).toMatch(/or pass --on-error skip to exclude it$/);
  }, 60_000);
});
