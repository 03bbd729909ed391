/**
 * Issue 10, "Weights where the ecosystem keeps them" (item 14), as real processes: a fake Hugging
 * Face Hub cache tree (HF_HOME / HF_HUB_CACHE: refs/, snapshots/, blobs/) used read-only and
 * verified, a torch.hub checkpoints folder (TORCH_HOME), new Hub downloads written in the Hub's own
 * layout, HF_ENDPOINT, HF_HUB_OFFLINE, HF_TOKEN (sent to the Hub's host only, never printed or
 * written), and HTTP_PROXY / NO_PROXY through a proxy on 127.0.0.1.
 */
import { createHash } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { statSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findInEcosystem } from '../src/models/weights/ecosystem.js';
import type { EvalResult } from '../src/run/result.js';
import { makeFlatFolder, runZoo, tempDir, val227Files, writeRecipeCheckpoint } from './support/cli.js';

const REPO = 'timm/rexnet_100.nav_in1k';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const TOKEN = 'hf_secretTOKENvalue123';

let dir: string;
let flat: string;
let body: Buffer;
let sha: string;
let hub: Server;
let hubUrl: string;
let proxy: Server;
let proxyUrl: string;
let hubRequests: { url: string; auth?: string; host?: string }[] = [];
let proxied: string[] = [];
/** The next requests need HF_TOKEN (a gated repo). */
let gated = false;

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

beforeAll(async () => {
  dir = await tempDir('zoo-ux-weights-');
  flat = await makeFlatFolder(join(dir, 'flat'), await val227Files(4));
  body = await readFile(await writeRecipeCheckpoint('rexnet_100', dir));
  sha = createHash('sha256').update(body).digest('hex');
  // Hugging Face: /resolve/ answers 302 with the commit and the LFS hash, the CDN (another origin:
  // localhost instead of 127.0.0.1) serves the bytes.
  hub = createServer((req, res) => {
    const url = req.url ?? '/';
    hubRequests.push({ url, ...(req.headers.authorization ? { auth: req.headers.authorization } : {}), ...(req.headers.host ? { host: req.headers.host } : {}) });
    if (url === `/${REPO}/resolve/main/model.safetensors`) {
      if (gated && req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.writeHead(401).end('gated');
        return;
      }
      const port = (hub.address() as AddressInfo).port;
      res.writeHead(302, {
        location: `http://localhost:${port}/cdn/${sha}`,
        'x-repo-commit': COMMIT,
        'x-linked-etag': `"${sha}"`,
        'x-linked-size': String(body.length),
      }).end();
      return;
    }
    if (url === `/cdn/${sha}`) {
      res.writeHead(200, { 'content-length': String(body.length) }).end(body);
      return;
    }
    res.writeHead(404).end();
  });
  hubUrl = await listen(hub);
  // A forward proxy for http:// URLs: requests arrive with the absolute URL.
  proxy = createServer((req: IncomingMessage, res) => {
    proxied.push(req.url ?? '');
    const target = new URL(req.url ?? '');
    const up = request({ host: target.hostname, port: target.port, path: target.pathname, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  proxyUrl = await listen(proxy);
});
afterAll(async () => {
  for (const s of [hub, proxy]) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  await rm(dir, { recursive: true, force: true });
});

/** A Hub cache tree as huggingface_hub writes it, holding `bytes` for the repo's model.safetensors. */
async function hubTree(root: string, bytes: Buffer, blobName = createHash('sha256').update(bytes).digest('hex')): Promise<string> {
  const repo = join(root, `models--${REPO.replace('/', '--')}`);
  await mkdir(join(repo, 'refs'), { recursive: true });
  await mkdir(join(repo, 'blobs'), { recursive: true });
  await mkdir(join(repo, 'snapshots', COMMIT), { recursive: true });
  await writeFile(join(repo, 'refs', 'main'), COMMIT);
  await writeFile(join(repo, 'blobs', blobName), bytes);
  const snapshot = join(repo, 'snapshots', COMMIT, 'model.safetensors');
  await symlink(join('..', '..', 'blobs', blobName), snapshot);
  return snapshot;
}

/** Environment for one case: empty zoo cache, no Hub/torch cache unless given, the fake Hub as HF_ENDPOINT. */
function env(name: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ZOO_CACHE: join(dir, name, 'zoo-cache'), HF_HUB_CACHE: '', HF_HOME: join(dir, name, 'hf-home'), HF_ENDPOINT: hubUrl, ZOO_HF_ENDPOINT: '', ...extra };
}

const evalArgs = (extra: string[] = []) => ['eval', 'rexnet_100', '--data', flat, '--threads', '1', '-q', '--json', '-', ...extra];

describe('weights from the Hugging Face Hub cache', () => {
  it('uses HF_HOME/hub read-only, verified, without a request; zoo info says where it is', async () => {
    const snapshot = await hubTree(join(dir, 'a', 'hf-home', 'hub'), body);
    hubRequests = [];
    const run = await runZoo(evalArgs(['--offline']), { env: env('a') });
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as EvalResult).weights).toBe(snapshot);
    expect(hubRequests).toHaveLength(0);
    const info = await runZoo(['info', 'rexnet_100'], { env: env('a') });
    expect(info.stdout).toMatch(new RegExp(`^cached\\s+${snapshot.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  }, 60_000);

  it('zoo cache says where each tag was found', async () => {
    const snapshot = join(dir, 'a', 'hf-home', 'hub', 'models--timm--rexnet_100.nav_in1k', 'snapshots', COMMIT, 'model.safetensors');
    const run = await runZoo(['cache', 'rexnet_100', '--json'], { env: env('a') });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([{ name: 'rexnet_100.nav_in1k', found_in: 'hub', path: snapshot, bytes: statSync(snapshot).size }]);
    const table = await runZoo(['cache'], { env: env('a') });
    expect(table.stdout).toMatch(/^rexnet_100\.nav_in1k\s+hub\s+\S+model\.safetensors\s+[\d.]+ MB$/m);
  }, 60_000);

  it('HF_HUB_CACHE wins over HF_HOME', async () => {
    const snapshot = await hubTree(join(dir, 'b', 'elsewhere'), body);
    const run = await runZoo(evalArgs(['--offline']), { env: env('b', { HF_HUB_CACHE: join(dir, 'b', 'elsewhere') }) });
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as EvalResult).weights).toBe(snapshot);
  }, 60_000);

  it('a cached file that fails verification (bytes do not hash to the blob name) is not used and not touched', async () => {
    const bad = Buffer.from(body);
    bad[bad.length - 1]! ^= 0xff;
    const snapshot = await hubTree(join(dir, 'c', 'hf-home', 'hub'), bad, sha);
    const run = await runZoo(evalArgs(), { env: env('c', { HF_HUB_OFFLINE: '1' }) });
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/HF_HUB_OFFLINE forbids downloading.*was found but not used: SHA-256/);
    expect((await readFile(snapshot)).equals(bad)).toBe(true);
  }, 60_000);
});

describe('downloads', () => {
  it('HF_ENDPOINT is honoured and a new download lands in the Hub layout (refs, snapshots -> blobs), usable offline afterwards', async () => {
    hubRequests = [];
    const first = await runZoo(evalArgs(), { env: env('d') });
    expect(first.code, first.stderr).toBe(0);
    expect(hubRequests.map((r) => r.url)).toEqual([`/${REPO}/resolve/main/model.safetensors`, `/cdn/${sha}`]);
    const repo = join(dir, 'd', 'hf-home', 'hub', `models--timm--rexnet_100.nav_in1k`);
    const snapshot = join(repo, 'snapshots', COMMIT, 'model.safetensors');
    expect((JSON.parse(first.stdout) as EvalResult).weights).toBe(snapshot);
    expect(await readFile(join(repo, 'refs', 'main'), 'utf8')).toBe(COMMIT);
    expect((await lstat(snapshot)).isSymbolicLink()).toBe(true);
    expect(await readlink(snapshot)).toBe(join('..', '..', 'blobs', sha));
    expect((await readFile(join(repo, 'blobs', sha))).equals(body)).toBe(true);

    // Another zoo cache, HF_HUB_OFFLINE: the Hub layout alone is enough.
    hubRequests = [];
    const second = await runZoo(evalArgs(), { env: env('d', { ZOO_CACHE: join(dir, 'd', 'other-zoo-cache'), HF_HUB_OFFLINE: '1' }) });
    expect(second.code, second.stderr).toBe(0);
    expect(hubRequests).toHaveLength(0);
  }, 60_000);

  it('HF_TOKEN opens a gated repo, goes to the Hub host only, and is never printed or written', async () => {
    gated = true;
    try {
      const denied = await runZoo(evalArgs(), { env: env('e') });
      expect(denied.code).toBe(4);
      expect(denied.stderr).toMatch(/HTTP 401.*set HF_TOKEN/);
      hubRequests = [];
      const run = await runZoo(evalArgs([]), { env: env('e', { HF_TOKEN: TOKEN }) });
      expect(run.code, run.stderr).toBe(0);
      expect(hubRequests[0]).toMatchObject({ url: `/${REPO}/resolve/main/model.safetensors`, auth: `Bearer ${TOKEN}` });
      // The CDN is another origin: no token there.
      expect(hubRequests[1]!.url).toBe(`/cdn/${sha}`);
      expect(hubRequests[1]!.auth).toBeUndefined();
      expect(run.stdout + run.stderr).not.toContain(TOKEN);
      for (const f of await readdir(join(dir, 'e'), { recursive: true })) {
        const p = join(dir, 'e', f);
        if ((await lstat(p)).isFile()) expect((await readFile(p)).includes(TOKEN), p).toBe(false);
      }
    } finally {
      gated = false;
    }
  }, 60_000);

  it('HTTP_PROXY carries the download; NO_PROXY bypasses it', async () => {
    proxied = [];
    const via = await runZoo(evalArgs(), { env: env('f', { HTTP_PROXY: proxyUrl, NO_PROXY: '' }) });
    expect(via.code, via.stderr).toBe(0);
    expect(proxied).toEqual([`${hubUrl}/${REPO}/resolve/main/model.safetensors`, `${hubUrl.replace('127.0.0.1', 'localhost')}/cdn/${sha}`]);
    proxied = [];
    const direct = await runZoo(evalArgs(), { env: env('g', { HTTP_PROXY: proxyUrl, NO_PROXY: '127.0.0.1,localhost' }) });
    expect(direct.code, direct.stderr).toBe(0);
    expect(proxied).toHaveLength(0);
  }, 60_000);
});

describe('torch.hub checkpoints (TORCH_HOME)', () => {
  it('a torchvision file is used when its hash matches the prefix in its name, refused otherwise', async () => {
    const prefix = sha.slice(0, 8);
    const checkpoints = join(dir, 'torch', 'hub', 'checkpoints');
    await mkdir(checkpoints, { recursive: true });
    await writeFile(join(checkpoints, `net-${prefix}.pth`), body);
    await writeFile(join(checkpoints, 'net-00000000.pth'), body);
    const saved = process.env.TORCH_HOME;
    process.env.TORCH_HOME = join(dir, 'torch');
    try {
      expect(await findInEcosystem({ kind: 'url', url: `https://download.pytorch.org/models/net-${prefix}.pth` })).toEqual({
        path: join(checkpoints, `net-${prefix}.pth`),
        where: 'torch.hub cache',
      });
      expect((await findInEcosystem({ kind: 'url', url: 'https://download.pytorch.org/models/net-00000000.pth' }))?.rejected).toMatch(/its name says 00000000/);
    } finally {
      process.env.TORCH_HOME = saved;
    }
  });

  it('zoo eval of a torchvision tag looks in TORCH_HOME first (a file failing its name hash is named, not used)', async () => {
    const checkpoints = join(dir, 'torch2', 'hub', 'checkpoints');
    await mkdir(checkpoints, { recursive: true });
    await writeFile(join(checkpoints, 'resnext50_32x4d-7cdf4587.pth'), body);
    const run = await runZoo(['eval', 'resnext50_32x4d.IMAGENET1K_V1', '--data', flat, '--offline'], { env: env('h', { TORCH_HOME: join(dir, 'torch2') }) });
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/resnext50_32x4d-7cdf4587\.pth was found but not used: SHA-256 [0-9a-f]{64}, its name says 7cdf4587/);
  }, 60_000);
});
