/**
 * `zoo eval` without --weights, end to end through the hub: the tag's file is fetched from a
 * Hugging Face stand-in on 127.0.0.1 (ZOO_HF_ENDPOINT) into ZOO_CACHE with progress on stderr,
 * `zoo info` then reports it cached, and a second run (even --offline) does not download again.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFlatFolder, runZoo, tempDir, val227Files, writeRecipeCheckpoint } from './support/cli.js';

let dir: string;
let flat: string;
let server: Server;
let endpoint: string;
const requests: string[] = [];

beforeAll(async () => {
  dir = await tempDir('zoo-cli-download-');
  flat = await makeFlatFolder(join(dir, 'flat'), await val227Files(8));
  const body = await readFile(await writeRecipeCheckpoint('rexnet_100', dir));
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.url !== '/timm/rexnet_100.nav_in1k/resolve/main/model.safetensors') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': String(body.length), 'content-type': 'application/octet-stream' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('zoo eval with downloaded weights', () => {
  it('downloads once into the cache, shows progress, then runs from the cache', async () => {
    const env = { ZOO_HF_ENDPOINT: endpoint, ZOO_CACHE: join(dir, 'cache') };
    const first = await runZoo(['eval', 'rexnet_100', '--data', flat, '--batch-size', '8'], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(requests.filter((r) => r.startsWith('GET'))).toHaveLength(1);
    expect(first.stderr).toMatch(/rexnet_100\.nav_in1k/);
    expect(first.stderr).toMatch(/MB/);
    expect(first.stdout).toMatch(/top-1\s+[\d.]+/);

    const info = await runZoo(['info', 'rexnet_100'], { env });
    expect(info.stdout).toMatch(new RegExp(`^cached\\s+${join(dir, 'cache').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/huggingface/timm/rexnet_100\\.nav_in1k/main/model\\.safetensors$`, 'm'));

    const before = requests.length;
    const second = await runZoo(['eval', 'rexnet_100', '--data', flat, '--batch-size', '8', '--offline', '--quiet'], { env });
    expect(second.code, second.stderr).toBe(0);
    expect(requests.length).toBe(before);
    expect(second.stdout).toContain(first.stdout.match(/top-1\s+[\d.]+/)![0]);
  });
});
