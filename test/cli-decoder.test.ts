/**
 * Which JPEG decoder runs, as the user sees it: `zoo engines` lists the libjpeg-turbo addon and sharp
 * with the one in use, ZOO_DECODER forces either (and a bad value is a usage error), `zoo eval` says
 * once which decoder it runs, and a copy of zoo without the built addon falls back to sharp, says so
 * with the command that builds it, refuses ZOO_DECODER=turbo with that fix, and that command works.
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, rm, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADDON_PATH } from '../src/data/jpeg-turbo.js';
import { ExitCode } from '../src/errors.js';
import { makeFlatFolder, ROOT, runZoo, tempDir, val227Files, writeRecipeCheckpoint, type ZooRun } from './support/cli.js';

interface Row {
  engine: string;
  backend: string;
  available: boolean;
  reason: string;
  fix?: string;
}

function decoderRows(run: ZooRun): Row[] {
  expect(run.code, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as Row[]).filter((r) => r.engine === 'jpeg-decoder');
}

let dir: string;
/** A copy of the package whose native/ holds the sources but no build: dist and bin copied (they find the addon relative to themselves), the rest linked. */
let bare: string;
let flat: string;
let weights: string;
beforeAll(async () => {
  dir = await tempDir('zoo-cli-decoder-');
  bare = join(dir, 'zoo');
  await mkdir(bare);
  await cp(join(ROOT, 'dist'), join(bare, 'dist'), { recursive: true });
  await cp(join(ROOT, 'bin'), join(bare, 'bin'), { recursive: true });
  await cp(join(ROOT, 'package.json'), join(bare, 'package.json'));
  await cp(join(ROOT, 'native'), join(bare, 'native'), { recursive: true, filter: (src) => src !== join(ROOT, 'native', 'build') });
  for (const linked of ['node_modules', 'assets', 'wasm']) await symlink(join(ROOT, linked), join(bare, linked));
  flat = await makeFlatFolder(join(dir, 'flat'), await val227Files(2));
  weights = await writeRecipeCheckpoint('rexnet_100', dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!existsSync(ADDON_PATH))('with the addon built', () => {
  it('zoo engines: libjpeg-turbo in use; ZOO_DECODER=sharp switches to sharp; a bad value is a usage error', async () => {
    const auto = decoderRows(await runZoo(['engines', '--json'], { env: { ZOO_DECODER: '' } }));
    expect(auto.map((r) => [r.backend, r.available])).toEqual([
      ['libjpeg-turbo', true],
      ['sharp', true],
    ]);
    expect(auto[0]!.reason).toMatch(/^in use: native addon, libjpeg API \d+/);
    expect(auto[1]!.reason).not.toMatch(/in use/);

    const forced = decoderRows(await runZoo(['engines', '--json'], { env: { ZOO_DECODER: 'sharp' } }));
    expect(forced[0]!.reason).toMatch(/not used: ZOO_DECODER=sharp/);
    expect(forced[1]!.reason).toMatch(/^in use: /);

    const bad = await runZoo(['engines'], { env: { ZOO_DECODER: 'pillow' } });
    expect(bad.code).toBe(ExitCode.USAGE);
    expect(bad.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^zoo: ZOO_DECODER=pillow is not a decoder .*turbo or sharp/)]);
  });

  it('zoo eval says once which decoder runs', async () => {
    for (const [env, line] of [
      ['', /^zoo: JPEG decoder: libjpeg-turbo \(native addon, libjpeg API \d+\)$/m],
      ['sharp', /^zoo: JPEG decoder: sharp \(ZOO_DECODER=sharp\)$/m],
    ] as const) {
      const run = await runZoo(['eval', 'rexnet_100', '--data', flat, '--weights', weights, '--workers', '1', '--batch-size', '2'], { env: { ZOO_DECODER: env } });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(line);
      expect(run.stderr.match(/JPEG decoder/g)).toHaveLength(1);
    }
  }, 120_000);
});

describe('without the addon', () => {
  it('falls back to sharp, says so with the build command, and refuses ZOO_DECODER=turbo', async () => {
    const bin = join(bare, 'bin', 'zoo.js');
    const rows = decoderRows(await runZoo(['engines', '--json'], { bin, env: { ZOO_DECODER: '' } }));
    expect(rows[0]).toMatchObject({ backend: 'libjpeg-turbo', available: false });
    expect(rows[0]!.reason).toMatch(/not built/);
    expect(rows[0]!.fix).toContain(`node ${join(bare, 'native', 'build.mjs')}`);
    expect(rows[1]!.reason).toMatch(/^in use: /);

    const run = await runZoo(['eval', 'rexnet_100', '--data', flat, '--weights', weights, '--workers', '1', '--batch-size', '2'], { bin, env: { ZOO_DECODER: '' } });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^zoo: JPEG decoder: sharp \(the libjpeg-turbo addon is not built; .*\); for the fast one: node \S+build\.mjs/m);

    const forced = await runZoo(['eval', 'rexnet_100', '--data', flat, '--weights', weights], { bin, env: { ZOO_DECODER: 'turbo' } });
    expect(forced.code).toBe(ExitCode.USAGE);
    expect(forced.stderr).toMatch(/^zoo: .*ZOO_DECODER=turbo but the libjpeg-turbo addon is not built; build it: node \S+build\.mjs/m);
  }, 120_000);

  // The fix zoo prints builds the addon in place (where a compiler and libjpeg-turbo's headers are).
  it.skipIf(!existsSync(ADDON_PATH))('the printed build command builds it, and zoo then uses it', async () => {
    const build = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [join(bare, 'native', 'build.mjs'), '--strict'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out }));
    });
    expect(build.code, build.out).toBe(0);
    expect(build.out.trim().split('\n')).toEqual([expect.stringMatching(/^zoo: built the libjpeg-turbo JPEG decoder/)]);
    const rows = decoderRows(await runZoo(['engines', '--json'], { bin: join(bare, 'bin', 'zoo.js'), env: { ZOO_DECODER: '' } }));
    expect(rows[0]).toMatchObject({ backend: 'libjpeg-turbo', available: true });
    expect(rows[0]!.reason).toMatch(/^in use: /);
  }, 120_000);
});
