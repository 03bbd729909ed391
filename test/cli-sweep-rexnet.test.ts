/**
 * Issue 12 acceptance: a sweep of every ReXNet tag that shares 224/0.875/bicubic (enumerated from
 * the catalogue: the timm nav_in1k tags and the clova v1 and lite ones) gives every model exactly
 * the JSON numbers and per-image predictions of its single run, on a few val-227 images with recipe
 * weights (WEIGHTS.md). Each model gets its checkpoint the way a user gives a manual download: the
 * single run with --weights, the sweep with a --models-file line "MODEL WEIGHTS".
 *
 * The sweep runs one model at a time and still decodes each image once: the first model decodes
 * into the group's temporary crop cache under ZOO_CACHE, every other model reads all its crops, and
 * the folder is gone when the sweep ends.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSafetensors } from '../src/models/weights/safetensors.js';
import { recordGraph } from '../src/models/record.js';
import { allTags, requireArchitecture, resolveModel } from '../src/models/registry.js';
import { architectures } from '../src/models/rexnet.js';
import type { HostTensor } from '../src/models/graph.js';
import { cropGroupKey } from '../src/run/sweep.js';
import { makeFlatFolder, runZoo, tempDir, val227Files } from './support/cli.js';
import { recipeCheckpoint } from './support/golden.js';
import { readJson, resultNumbers as numbers } from './support/trust.js';

const N = 4;
const key = cropGroupKey(resolveModel('rexnet_100').tag.evalConfig);
const tags = allTags().filter((t) => t.arch.startsWith('rexnet') && cropGroupKey(t.evalConfig) === key);
let dir: string;
let flat: string;
let cache: string;
const weightsOf = new Map<string, string>();

/**
 * The recipe checkpoint of an architecture: its golden key's; for an official v1 width without one
 * (rexnetv1_1.3x ... 3.0x, the same network as timm's rexnet_130 ... 300 under clova's names), the
 * timm width's recipe tensors under the official names, matched in the order the forward pass reads
 * them (the head's linear weight becomes the 1x1 conv it is upstream).
 */
function recipeFor(name: string): Map<string, HostTensor> {
  const arch = requireArchitecture(resolveModel(name));
  if (arch.goldenKey !== undefined) return recipeCheckpoint(arch.goldenKey);
  const width = /^rexnetv1_(\d\.\d)x$/.exec(arch.name)?.[1];
  const timm = architectures.find((a) => a.name === `rexnet_${Math.round(Number(width) * 100)}`);
  if (!timm?.goldenKey) throw new Error(`${name}: no recipe`);
  const from = recipeCheckpoint(timm.goldenKey);
  const order = (forward: typeof arch.forward) => [...recordGraph(forward, { size: [224, 224] }).constants];
  const src = order(timm.forward);
  const dst = order(arch.forward);
  expect(dst.length).toBe(src.length);
  return new Map(
    dst.map(([dstName, t], i) => {
      const data = from.get(src[i]![0])!.data as Float32Array;
      expect(data.length, dstName).toBe(t.shape.reduce((a, b) => a * b, 1));
      return [dstName, { dtype: 'float32', shape: t.shape, data }];
    }),
  );
}

const common = () => ['--data', flat, '--offline', '--batch-size', String(N), '--workers', '1', '--threads', '1'];
const env = () => ({ ZOO_CACHE: cache });

beforeAll(async () => {
  dir = await tempDir('zoo-cli-sweep-rexnet-');
  cache = join(dir, 'cache');
  flat = await makeFlatFolder(join(dir, 'val'), await val227Files(N));
  for (const t of tags) {
    const file = join(dir, `${t.name}.safetensors`);
    await writeFile(file, encodeSafetensors(recipeFor(t.name)));
    weightsOf.set(t.name, file);
  }
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a sweep of the ReXNet tags sharing 224/0.875/bicubic', () => {
  it('gives every model exactly its single run\'s JSON numbers and per-image predictions, decoding each image once', async () => {
    // The timm tags, the clova v1 and lite tags: at least the issue's 12.
    expect(tags.length).toBeGreaterThanOrEqual(12);
    expect(tags.some((t) => t.weights.kind === 'manual')).toBe(true);
    const singles = new Map<string, Record<string, unknown>>();
    for (const t of tags) {
      const json = join(dir, `single-${t.name}.json`);
      const run = await runZoo(['eval', t.name, ...common(), '--quiet', '--weights', weightsOf.get(t.name)!, '--json', json, '--state', join(dir, `single-${t.name}.state.json`)], { env: env() });
      expect(run.code, run.stderr).toBe(0);
      singles.set(t.name, (await readJson(json)) as Record<string, unknown>);
    }
    const list = join(dir, 'models.txt');
    await writeFile(list, `# every ReXNet at 224/0.875/bicubic, with its weights\n${tags.map((t) => `${t.name}  ${t.name}.safetensors`).join('\n')}\n`);
    const out = join(dir, 'sweep-json');
    await mkdir(out);
    const sweep = await runZoo(['eval', '--models-file', list, ...common(), '--json-dir', out], { env: env() });
    expect(sweep.code, sweep.stderr).toBe(0);
    for (const t of tags) {
      const swept = (await readJson(join(out, `${t.name}.json`))) as Record<string, unknown>;
      expect(numbers(swept), t.name).toEqual(numbers(singles.get(t.name)!));
      expect((swept.per_image as { file: unknown[] }).file).toHaveLength(N);
    }
    // One model at a time over one shared crop cache: the first decodes and stores, the others read.
    const cropLines = [...sweep.stderr.matchAll(/zoo: crop cache (.+): (\d+) read, (\d+) decoded and stored, 0 bad/g)];
    expect(cropLines.map((m) => [Number(m[2]), Number(m[3])])).toEqual(tags.map((_, i) => (i === 0 ? [0, N] : [N, 0])));
    expect(new Set(cropLines.map((m) => m[1])).size).toBe(1);
    expect(cropLines[0]![1]!.startsWith(join(cache, 'sweep-crops'))).toBe(true);
    // Deleted when the group ended.
    expect(await readdir(join(cache, 'sweep-crops'))).toEqual([]);
  }, 300_000);
});
