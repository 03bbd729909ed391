/**
 * Downloads that go wrong, through the CLI as a process (issue 9 items 9-11), against a Hugging
 * Face stand-in on 127.0.0.1 that serves the real file, drips it a byte at a time (a slow loris),
 * or answers 200 with an HTML error page; download locks left behind by other processes; a
 * broken file already in the cache. The rexnet_100 tag is an unverifiable download (no hash in the
 * catalogue, no X-Linked-Etag here), as every Hugging Face tag is.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { processStart } from '../src/io/process.js';
import { makeFlatFolder, runZoo, tempDir, val227Files, writeRecipeCheckpoint, type ZooRun } from './support/cli.js';

const PATH = '/timm/rexnet_100.nav_in1k/resolve/main/model.safetensors';
const HTML = '<!DOCTYPE html><html><body><h1>503 Service Unavailable</h1></body></html>\n';

let dir: string;
let flat: string;
let body: Buffer;
let server: Server;
let endpoint: string;
/** How the stand-in answers the next requests. */
let mode: 'good' | 'html' | 'drip' = 'good';
let cache: string;
let dest: string;

beforeAll(async () => {
  dir = await tempDir('zoo-cli-hostile-dl-');
  flat = await makeFlatFolder(join(dir, 'flat'), await val227Files(1));
  body = await readFile(await writeRecipeCheckpoint('rexnet_100', dir));
  server = createServer((req, res) => {
    if (req.url !== PATH) {
      res.writeHead(404).end();
      return;
    }
    if (mode === 'html') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(HTML);
      return;
    }
    if (mode === 'drip') {
      // One byte every 100 ms for as long as the client listens: never idle, never done.
      res.writeHead(200, { 'content-length': String(body.length), etag: '"e1"' }).flushHeaders();
      let at = 0;
      const timer = setInterval(() => res.write(body.subarray(at, ++at)), 100);
      res.on('close', () => clearInterval(timer));
      return;
    }
    res.writeHead(200, { 'content-length': String(body.length), etag: '"e1"' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  mode = 'good';
  cache = await tempDir('zoo-cli-hostile-cache-');
  dest = join(cache, 'huggingface', 'timm', 'rexnet_100.nav_in1k', 'main', 'model.safetensors');
  return () => rm(cache, { recursive: true, force: true });
});

const zoo = (args: string[], env: Record<string, string> = {}): Promise<ZooRun> =>
  runZoo(args, { env: { ZOO_HF_ENDPOINT: endpoint, ZOO_CACHE: cache, ...env }, timeoutMs: 60_000 });
// The state goes to this test's cache folder: the default (./zoo-eval.state.json in the checkout) is shared and locked.
const evalArgs = () => ['eval', 'rexnet_100', '--data', flat, '--threads', '1', '--workers', '1', '--state', join(cache, 'run.state.json')];

/** The failure line: the last stderr line, one line, no stack trace. */
function failureLine(r: ZooRun): string {
  expect(r.stderr).not.toMatch(/^\s+at /m);
  return r.stderr.trim().split('\n').at(-1)!;
}

async function listsAsCached(): Promise<boolean> {
  const r = await zoo(['list', '--filter', 'rexnet_100']);
  expect(r.code, r.stderr).toBe(0);
  return /^rexnet_100\s.*\bcached\b/m.test(r.stdout);
}

describe('slow downloads end (issue 9.10)', () => {
  it('a server dripping a byte every 100 ms fails the minimum rate over ZOO_DOWNLOAD_RATE_WINDOW, keeping the .part', async () => {
    mode = 'drip';
    const r = await zoo(evalArgs(), { ZOO_DOWNLOAD_RATE_WINDOW: '0.5' });
    expect(r.code, r.stderr).toBe(4);
    expect(failureLine(r)).toMatch(/: the server sent \d+ bytes in 0\.5 s, below the minimum of 1024 bytes\/s .*; run the command again later: the download resumes/);
    expect(existsSync(`${dest}.part`)).toBe(true);
    expect(existsSync(dest)).toBe(false);
  }, 90_000);

  it('ZOO_DOWNLOAD_TIMEOUT is an overall deadline, and a bad value is a usage error', async () => {
    mode = 'drip';
    const r = await zoo(evalArgs(), { ZOO_DOWNLOAD_TIMEOUT: '1' });
    expect(r.code, r.stderr).toBe(4);
    expect(failureLine(r)).toMatch(/the download took longer than 1 s \(ZOO_DOWNLOAD_TIMEOUT\)/);
    expect(existsSync(`${dest}.part`)).toBe(true);

    const bad = await zoo(evalArgs(), { ZOO_DOWNLOAD_TIMEOUT: 'soon' });
    expect(bad.code, bad.stderr).toBe(2);
    expect(failureLine(bad)).toMatch(/ZOO_DOWNLOAD_TIMEOUT="soon" is not a positive number of seconds/);
  }, 90_000);
});

describe('unverifiable downloads are checked (issue 9.11)', () => {
  it('an HTML error page served as the weights is refused before it enters the cache', async () => {
    mode = 'html';
    const r = await zoo(evalArgs());
    expect(r.code, r.stderr).toBe(4);
    expect(failureLine(r)).toMatch(/not a usable checkpoint: not a checkpoint in any known format \(it starts with "<!DOCTYPE html><"\)/);
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(`${dest}.part`)).toBe(false);
    expect(await listsAsCached()).toBe(false);
  }, 90_000);

  it('a broken cached file is not listed as cached, is moved aside and fetched again; the ETag is recorded', async () => {
    await mkdir(join(dest, '..'), { recursive: true });
    await writeFile(dest, body.subarray(0, body.length - 4096)); // a truncated copy
    expect(await listsAsCached()).toBe(false);
    const r = await zoo(evalArgs());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/the cached .*model\.safetensors is unusable \(the safetensors header describes \d+ bytes of data, the file holds \d+ \(truncated\)\); moved it to .*model\.safetensors\.bad/);
    expect(readFileSync(dest).equals(body)).toBe(true);
    expect(readFileSync(`${dest}.bad`).length).toBe(body.length - 4096);
    expect(JSON.parse(readFileSync(`${dest}.meta.json`, 'utf8'))).toMatchObject({ size: body.length, etag: '"e1"' });
    expect(await listsAsCached()).toBe(true);

    // A cached file whose size no longer matches what was downloaded is not used either.
    await writeFile(dest, Buffer.concat([body, Buffer.alloc(8)]));
    expect(await listsAsCached()).toBe(false);
  }, 120_000);
});

describe('a cached file that does not parse (issue 9.11)', () => {
  it('is moved aside and fetched again, even when it passes the cheap checks', async () => {
    // Two tensors over the same bytes: every range fits the file, but the format forbids overlaps.
    const json = JSON.stringify({ a: { dtype: 'U8', shape: [8], data_offsets: [0, 8] }, b: { dtype: 'U8', shape: [8], data_offsets: [0, 8] } });
    const header = json.padEnd(Math.ceil(json.length / 8) * 8, ' ');
    const overlapping = Buffer.alloc(8 + header.length + 8);
    overlapping.writeBigUInt64LE(BigInt(header.length), 0);
    overlapping.write(header, 8, 'latin1');
    await mkdir(join(dest, '..'), { recursive: true });
    await writeFile(dest, overlapping);
    expect(await listsAsCached()).toBe(true); // nothing short of reading it tells
    const r = await zoo(evalArgs());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/the cached .*model\.safetensors is unusable \(it does not parse: not a valid safetensors file: b overlaps a\); moved it to .*\.bad/);
    expect(readFileSync(dest).equals(body)).toBe(true);
    expect(readFileSync(`${dest}.bad`).equals(overlapping)).toBe(true);
  }, 120_000);
});

describe('download locks left by others (issue 9.9)', () => {
  const lockFile = () => `${dest}.lock`;
  async function writeLock(content: string): Promise<void> {
    await mkdir(join(dest, '..'), { recursive: true });
    await writeFile(lockFile(), content);
  }

  it('a live owner is waited for, said on stderr, and only while it makes progress', async () => {
    // This test process is alive on this host: a real owner, as far as zoo can tell.
    const start = processStart(process.pid);
    await writeLock(JSON.stringify({ pid: process.pid, host: hostname(), ...(start ? { start } : {}), since: Date.now() }));
    const r = await zoo(evalArgs(), { ZOO_DOWNLOAD_RATE_WINDOW: '0.5' });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain(`zoo: waiting for another zoo (pid ${process.pid} on ${hostname()}, since `);
    expect(failureLine(r)).toMatch(/model\.safetensors\.lock: another zoo \(pid \d+ .*\) holds the download lock and made no progress for 1 s; .*delete .*\.lock/);
    expect(existsSync(lockFile())).toBe(true); // not ours to remove
  }, 90_000);

  it('a lock older than the process now holding its pid (a reused pid) is taken over', async () => {
    // A bare pid, as older zoo versions wrote; the pid is alive (this process) but started long after 2001.
    await writeLock(String(process.pid));
    await utimes(lockFile(), new Date('2001-01-01'), new Date('2001-01-01'));
    const r = await zoo(evalArgs());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`taking over the download lock .*: it is older than process ${process.pid}, which reused the pid`));
    expect(readFileSync(dest).equals(body)).toBe(true);
    expect(existsSync(lockFile())).toBe(false);
  }, 120_000);

  it("a lock from another host is taken over (that host's pids mean nothing here)", async () => {
    mode = 'html'; // the take-over is what is tested; the download then fails fast
    await writeLock(JSON.stringify({ pid: process.pid, host: `not-${hostname()}`, since: Date.now() }));
    const r = await zoo(evalArgs());
    expect(r.stderr).toMatch(new RegExp(`taking over the download lock .*: it was taken on host not-${hostname()}`));
    expect(r.code, r.stderr).toBe(4);
    expect(existsSync(lockFile())).toBe(false);
  }, 90_000);
});
