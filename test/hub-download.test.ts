/**
 * Weights download against a real HTTP server on 127.0.0.1 (node:http, random port), with
 * ZOO_HF_ENDPOINT pointed at it and ZOO_CACHE at a temporary folder: progress, caching, resume
 * with Range after a dropped connection, servers that ignore Range, truncated / wrong-size /
 * wrong-hash responses never used, offline mode, manual sources, network errors.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WeightsError } from '../src/errors.js';
import { cacheDir } from '../src/io/cache-dir.js';
import { cachePathFor } from '../src/models/weights/cache.js';
import { cachedPath, fetchWeights } from '../src/models/weights/hub.js';
import type { WeightsSource } from '../src/models/weights/source.js';
import { rejection } from './support/fixtures.js';

const SIZE = 1_500_000;

/**
 * A real safetensors file of exactly `size` bytes (one U8 tensor of seeded random bytes): a
 * download nobody can hash must still be a whole checkpoint in its format.
 */
function payload(seed: number, size = SIZE): Buffer {
  let headerLen = 64;
  let json = '';
  for (;;) {
    const n = size - 8 - headerLen;
    json = JSON.stringify({ w: { dtype: 'U8', shape: [n], data_offsets: [0, n] } });
    const need = Math.ceil(json.length / 8) * 8;
    if (need === headerLen) break;
    headerLen = need;
  }
  const b = Buffer.alloc(size);
  b.writeBigUInt64LE(BigInt(headerLen), 0);
  b.write(json.padEnd(headerLen, ' '), 8, 'latin1');
  let x = seed >>> 0 || 1;
  for (let i = 8 + headerLen; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** How the fake hub behaves for the next requests. */
interface Behaviour {
  body: Buffer;
  etag: string;
  /** Drop the connection after sending this many body bytes (once). */
  dropAfter?: number;
  /** Send this many body bytes, then nothing more, keeping the connection open (once). */
  stallAfter?: number;
  /** Answer every request with 200 and the whole file. */
  ignoreRange?: boolean;
  /** Send only this many bytes, with a matching Content-Length (the server's copy is truncated). */
  serveOnly?: number;
  /** Extra headers on the /resolve/ redirect (Hugging Face's X-Linked-Etag / X-Linked-Size). */
  linked?: Record<string, string>;
  status?: number;
}

let server: Server;
let base = '';
let behaviour: Behaviour;
let requests: { url: string; range?: string; ifRange?: string }[] = [];
let cache = '';

function serve(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  requests.push({ url, ...(req.headers.range ? { range: req.headers.range } : {}), ...(req.headers['if-range'] ? { ifRange: String(req.headers['if-range']) } : {}) });
  if (behaviour.status) {
    res.writeHead(behaviour.status).end('nope');
    return;
  }
  // Hugging Face answers /resolve/ with a redirect to its CDN, carrying the LFS hash and size.
  if (url.includes('/resolve/')) {
    res.writeHead(302, { location: url.replace('/resolve/', '/cdn/'), ...(behaviour.linked ?? {}) }).end();
    return;
  }
  const full = behaviour.serveOnly !== undefined ? behaviour.body.subarray(0, behaviour.serveOnly) : behaviour.body;
  let start = 0;
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const ifRange = req.headers['if-range'];
  if (m && !behaviour.ignoreRange && (!ifRange || ifRange === behaviour.etag)) {
    start = Number(m[1]);
    if (start >= full.length) {
      res.writeHead(416, { 'content-range': `bytes */${full.length}` }).end();
      return;
    }
    res.writeHead(206, {
      'content-length': full.length - start,
      'content-range': `bytes ${start}-${full.length - 1}/${full.length}`,
      etag: behaviour.etag,
    });
  } else {
    res.writeHead(200, { 'content-length': full.length, etag: behaviour.etag, 'accept-ranges': 'bytes' });
  }
  const body = full.subarray(start);
  if (behaviour.dropAfter !== undefined) {
    const cut = behaviour.dropAfter;
    delete behaviour.dropAfter;
    res.write(body.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
    return;
  }
  if (behaviour.stallAfter !== undefined) {
    const cut = behaviour.stallAfter;
    delete behaviour.stallAfter;
    res.write(body.subarray(0, cut));
    return;
  }
  res.end(body);
}

const hf = (file = 'model.safetensors', extra: Partial<Extract<WeightsSource, { kind: 'hf' }>> = {}): Extract<WeightsSource, { kind: 'hf' }> => ({
  kind: 'hf',
  repo: 'timm/test_model.in1k',
  file,
  ...extra,
});

const failure = (p: Promise<unknown>) => rejection(p, WeightsError);

beforeAll(async () => {
  server = createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  cache = mkdtempSync(join(tmpdir(), 'zoo-hub-'));
  process.env.ZOO_CACHE = cache;
  process.env.ZOO_HF_ENDPOINT = base;
  behaviour = { body: payload(1), etag: '"v1"' };
  requests = [];
});

afterEach(() => {
  rmSync(cache, { recursive: true, force: true });
});

describe('fetchWeights from a Hugging Face endpoint', () => {
  it('downloads with progress into the cache, and a second call does not hit the server', async () => {
    const seen: [number, number | undefined][] = [];
    const path = await fetchWeights(hf(), { onProgress: (r, t) => seen.push([r, t]) });
    expect(path).toBe(join(cache, 'huggingface', 'timm', 'test_model.in1k', 'main', 'model.safetensors'));
    expect(readFileSync(path).equals(behaviour.body)).toBe(true);
    expect(existsSync(`${path}.part`)).toBe(false);
    // The request went to <endpoint>/<repo>/resolve/main/<file>, then followed the redirect.
    expect(requests.map((r) => r.url)).toEqual(['/timm/test_model.in1k/resolve/main/model.safetensors', '/timm/test_model.in1k/cdn/main/model.safetensors']);
    expect(seen.length).toBeGreaterThan(2);
    expect(seen[0]).toEqual([0, SIZE]);
    expect(seen.at(-1)).toEqual([SIZE, SIZE]);
    for (let i = 1; i < seen.length; i++) expect(seen[i]![0]).toBeGreaterThanOrEqual(seen[i - 1]![0]);
    expect(cachedPath(hf())).toBe(path);

    const before = requests.length;
    const again = await fetchWeights(hf(), { onProgress: () => expect.fail('no download expected') });
    expect(again).toBe(path);
    expect(requests.length).toBe(before);
  });

  it('resumes a dropped download with a Range request, byte-identical', async () => {
    behaviour.dropAfter = 400_000;
    const url = `${base}/timm/test_model.in1k/resolve/main/model.safetensors`;
    const err = await failure(fetchWeights(hf()));
    expect(err.message).toMatch(/interrupted after \d+ of 1500000 bytes/);
    expect(err.file).toBe(url);
    expect(err.fix).toMatch(/resumes/);
    const dest = cachePathFor(hf());
    expect(existsSync(dest)).toBe(false);
    expect(cachedPath(hf())).toBeUndefined();
    const partial = statSync(`${dest}.part`).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(SIZE);

    const seen: number[] = [];
    const path = await fetchWeights(hf(), { onProgress: (r) => seen.push(r) });
    expect(requests.at(-1)).toEqual({ url: '/timm/test_model.in1k/cdn/main/model.safetensors', range: `bytes=${partial}-`, ifRange: '"v1"' });
    expect(seen[0]).toBe(partial);
    expect(readFileSync(path).equals(behaviour.body)).toBe(true);
    expect(existsSync(`${dest}.part`)).toBe(false);
  });

  it('starts over when the server ignores Range (200 to a resume)', async () => {
    behaviour.dropAfter = 300_000;
    await failure(fetchWeights(hf()));
    behaviour.ignoreRange = true;
    const path = await fetchWeights(hf());
    expect(requests.at(-1)!.range).toMatch(/^bytes=\d+-$/);
    expect(readFileSync(path).equals(behaviour.body)).toBe(true);
  });

  it('starts over when the file changed upstream between attempts (If-Range)', async () => {
    behaviour.dropAfter = 300_000;
    await failure(fetchWeights(hf()));
    behaviour = { body: payload(2), etag: '"v2"' };
    const path = await fetchWeights(hf());
    expect(readFileSync(path).equals(payload(2))).toBe(true);
  });

  it('two concurrent fetches of one file download it once (lock), a stale lock is taken over', async () => {
    const [a, b] = await Promise.all([fetchWeights(hf()), fetchWeights(hf())]);
    expect(a).toBe(b);
    expect(readFileSync(a).equals(behaviour.body)).toBe(true);
    expect(requests.filter((r) => r.url.includes('/cdn/'))).toHaveLength(1);
    expect(existsSync(`${a}.lock`)).toBe(false);

    // A lock left by a process that no longer exists does not block.
    const other = hf('other.safetensors');
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim();
    mkdirSync(dirname(cachePathFor(other)), { recursive: true });
    writeFileSync(`${cachePathFor(other)}.lock`, dead);
    expect(readFileSync(await fetchWeights(other)).equals(behaviour.body)).toBe(true);
  });

  it('a lock naming this very pid but not held by this process (PID 1 in a restarted container) is taken over, and said', async () => {
    mkdirSync(dirname(cachePathFor(hf())), { recursive: true });
    writeFileSync(`${cachePathFor(hf())}.lock`, JSON.stringify({ pid: process.pid, since: Date.now() }));
    const notices: string[] = [];
    const path = await fetchWeights(hf(), { onNotice: (l) => notices.push(l) });
    expect(readFileSync(path).equals(behaviour.body)).toBe(true);
    expect(notices).toEqual([expect.stringMatching(new RegExp(`taking over the download lock .*: it names pid ${process.pid}, which is this process`))]);
  });

  it("records the server's ETag and X-Linked-Size beside the file, and a cached file that no longer matches them is fetched again", async () => {
    behaviour.linked = { 'x-linked-size': String(SIZE) };
    const path = await fetchWeights(hf());
    expect(JSON.parse(readFileSync(`${path}.meta.json`, 'utf8'))).toMatchObject({ size: SIZE, etag: '"v1"', linked_size: SIZE });
    writeFileSync(path, payload(1, SIZE - 8));
    expect(cachedPath(hf())).toBeUndefined();
    const notices: string[] = [];
    await fetchWeights(hf(), { onNotice: (l) => notices.push(l) });
    expect(notices.join('\n')).toMatch(/unusable \(1499992 bytes, 1500000 were downloaded\); moved it to .*\.bad/);
    expect(readFileSync(path).equals(behaviour.body)).toBe(true);
  });

  it('gives up on a stalled server after the idle timeout, keeping the part for a resume', async () => {
    behaviour.stallAfter = 200_000;
    const t0 = performance.now();
    const err = await failure(fetchWeights(hf(), { idleTimeoutMs: 300 }));
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(err.message).toMatch(/no data for 0.3 s/);
    const part = `${cachePathFor(hf())}.part`;
    const partial = statSync(part).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThanOrEqual(200_000);
    const path = await fetchWeights(hf());
    expect(requests.at(-1)!.range).toBe(`bytes=${partial}-`);
    expect(readFileSync(path).equals(behaviour.body)).toBe(true);
  });

  it('stops when the caller aborts (Ctrl-C), rethrowing its reason and keeping the part', async () => {
    behaviour.stallAfter = 100_000;
    const ctl = new AbortController();
    const reason = new Error('interrupted by the user');
    const e = await fetchWeights(hf(), { signal: ctl.signal, onProgress: (r) => r > 0 && ctl.abort(reason) }).catch((x: unknown) => x);
    expect(e).toBe(reason);
    expect(existsSync(`${cachePathFor(hf())}.part`)).toBe(true);
    expect(existsSync(cachePathFor(hf()))).toBe(false);
  });

  it('never uses a truncated or wrong-size response', async () => {
    behaviour.serveOnly = SIZE - 1000;
    const err = await failure(fetchWeights(hf('model.safetensors', { size: SIZE })));
    expect(err.message).toMatch(/offers 1499000 bytes but the weights are 1500000 bytes/);
    const dest = cachePathFor(hf());
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(`${dest}.part`)).toBe(false);
    // Hugging Face's X-Linked-Size on the redirect is checked the same way.
    behaviour = { body: payload(1), etag: '"v1"', linked: { 'x-linked-size': String(SIZE + 5) } };
    await failure(fetchWeights(hf()));
    expect(existsSync(dest)).toBe(false);
  });

  it('refuses a file whose SHA-256 is wrong, and deletes it', async () => {
    const wrong = sha256(payload(3));
    const err = await failure(fetchWeights(hf('model.safetensors', { sha256: wrong })));
    expect(err.message).toContain(`expected ${wrong}`);
    expect(err.message).toContain(sha256(behaviour.body));
    expect(existsSync(cachePathFor(hf()))).toBe(false);
    expect(existsSync(`${cachePathFor(hf())}.part`)).toBe(false);
    // The right hash is accepted.
    const path = await fetchWeights(hf('model.safetensors', { sha256: sha256(behaviour.body), size: SIZE }));
    expect(readFileSync(path).equals(behaviour.body)).toBe(true);
  });

  it("checks Hugging Face's X-Linked-Etag (the LFS SHA-256) when the catalogue has no hash", async () => {
    behaviour.linked = { 'x-linked-etag': `"${sha256(payload(4))}"` };
    const err = await failure(fetchWeights(hf()));
    expect(err.message).toMatch(/SHA-256 mismatch/);
    behaviour.linked = { 'x-linked-etag': `"${sha256(behaviour.body)}"` };
    await fetchWeights(hf());
  });

  it('offline: a clear error when nothing is cached, the cached file when it is', async () => {
    const err = await failure(fetchWeights(hf(), { offline: true }));
    expect(err.message).toMatch(/not in the cache and --offline/);
    expect(err.fix).toMatch(/without --offline/);
    expect(requests).toHaveLength(0);
    const path = await fetchWeights(hf());
    const n = requests.length;
    expect(await fetchWeights(hf(), { offline: true })).toBe(path);
    expect(requests).toHaveLength(n);
  });

  it('names the URL on HTTP errors and unreachable servers', async () => {
    behaviour.status = 404;
    const err = await failure(fetchWeights(hf()));
    expect(err.message).toContain('HTTP 404');
    expect(err.file).toBe(`${base}/timm/test_model.in1k/resolve/main/model.safetensors`);
    // A port nothing listens on.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    process.env.ZOO_HF_ENDPOINT = `http://127.0.0.1:${port}`;
    const down = await failure(fetchWeights(hf()));
    expect(down.file).toBe(`http://127.0.0.1:${port}/timm/test_model.in1k/resolve/main/model.safetensors`);
    expect(down.message).toMatch(/cannot download/);
  });
});

describe('fetchWeights from a direct (torchvision) URL', () => {
  it('verifies the SHA-256 prefix in the file name', async () => {
    const prefix = sha256(behaviour.body).slice(0, 8);
    const good: WeightsSource = { kind: 'url', url: `${base}/models/resnext50_32x4d-${prefix}.pth` };
    const path = await fetchWeights(good);
    expect(path).toBe(join(cache, 'url', `127.0.0.1_${new URL(base).port}`, 'models', `resnext50_32x4d-${prefix}.pth`));
    expect(readFileSync(path).equals(behaviour.body)).toBe(true);

    const bad: WeightsSource = { kind: 'url', url: `${base}/models/resnext50_32x4d-deadbeef.pth` };
    const err = await failure(fetchWeights(bad));
    expect(err.message).toMatch(/name says it starts with deadbeef/);
    expect(cachedPath(bad)).toBeUndefined();
  });
});

describe('sources and cache location', () => {
  it('manual sources explain where to get the file', async () => {
    const src: WeightsSource = { kind: 'manual', url: 'https://example.org/cdnv2_a.pth', instructions: 'Download cdnv2_a.pth from the CondenseNetV2 README' };
    const err = await failure(fetchWeights(src));
    expect(err.message).toContain('Download cdnv2_a.pth from the CondenseNetV2 README');
    expect(err.message).toContain('https://example.org/cdnv2_a.pth');
    expect(err.fix).toMatch(/--weights/);
    expect(cachedPath(src)).toBeUndefined();
  });

  it('cacheDir: $ZOO_CACHE, else $XDG_CACHE_HOME/zoo, else ~/.cache/zoo', () => {
    const saved = { z: process.env.ZOO_CACHE, x: process.env.XDG_CACHE_HOME, h: process.env.HOME };
    try {
      process.env.ZOO_CACHE = '/a/zoo-cache';
      process.env.XDG_CACHE_HOME = '/b/xdg';
      expect(cacheDir()).toBe('/a/zoo-cache');
      delete process.env.ZOO_CACHE;
      expect(cacheDir()).toBe('/b/xdg/zoo');
      delete process.env.XDG_CACHE_HOME;
      process.env.HOME = '/c/home';
      expect(cacheDir()).toBe('/c/home/.cache/zoo');
    } finally {
      for (const [k, v] of [['ZOO_CACHE', saved.z], ['XDG_CACHE_HOME', saved.x], ['HOME', saved.h]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
