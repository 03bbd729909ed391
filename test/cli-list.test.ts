/** `zoo list` / `zoo list --json` / `zoo info` content through the built CLI. */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TagJson } from '../src/cli/catalogue.js';
import { ARCHITECTURES } from '../src/models/architectures.js';
import { allTags } from '../src/models/registry.js';
import { cachePathFor } from '../src/models/weights/cache.js';
import { SHARED } from './support/fixtures.js';
import { goldenManifest } from './support/golden.js';
import { runZoo, tempDir } from './support/cli.js';
import { camelKeys } from '../src/io/json-keys.js';
import { camelCaseKeyPaths } from './support/json-keys.js';

let cache: string;
beforeAll(async () => {
  cache = await tempDir('zoo-cli-list-cache-');
});
afterAll(async () => {
  await rm(cache, { recursive: true, force: true });
});

describe('zoo list', () => {
  it('shows every model and tag with published top-1/top-5 and params', async () => {
    const run = await runZoo(['list']);
    expect(run.code, run.stderr).toBe(0);
    for (const a of ARCHITECTURES) expect(run.stdout).toMatch(new RegExp(`^${a.name.replace(/\./g, '\\.')}\\s`, 'm'));
    expect(run.stdout).toMatch(/^rexnet_100\s+nav_in1k\s+77\.862\s+93\.890\s+4\.80\s+224\s+hf\s+\*\s*$/m);
    expect(run.stdout).toMatch(/^tf_efficientnetv2_m\s+in1k\s+85\.208\s+97\.358\s+54\.14\s+480\s+hf\s+[-*]\s*$/m);
    expect(run.stdout).toMatch(/^resnext50_32x4d\s+IMAGENET1K_V2\s+81\.198\s+95\.340\s+25\.03\s+224\s+url\s+-\s*$/m);
    expect(run.stdout).toMatch(/^cdnv2_c\s+official_in1k\s+75\.900\s+-\s+6\.18\s+224\s+manual\s+\*\s*$/m);
    expect(run.stderr).toContain(`${allTags().length} pretrained tags`);
  });

  it('--json: one entry per tag with its config, source, params and published numbers', async () => {
    const run = await runZoo(['list', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const raw: unknown = JSON.parse(run.stdout);
    // snake_case names in the file (issue 10.13); the checks below read the code's names.
    expect(camelCaseKeyPaths(raw)).toEqual([]);
    const list = camelKeys<TagJson[]>(raw);
    expect(list).toHaveLength(allTags().length);
    const manifest = goldenManifest();
    for (const e of list) {
      expect(Object.keys(e).sort()).toEqual(
        ['cached', 'default', 'evalConfig', 'gmacs', 'implemented', 'license', 'model', 'name', 'note', 'origin', 'params',
          'published', 'publishedAll', 'tag', 'trainInputSize', 'weights'].sort(),
      );
      expect(e.name).toBe(`${e.model}.${e.tag}`);
      expect(e.implemented).toBe(true);
      expect(e.evalConfig.inputSize).toHaveLength(3);
      expect(['hf', 'url', 'manual', 'embedded']).toContain(e.weights.kind);
      // A model file shipped in the package is always on disk; nothing else is cached in the empty test cache.
      if (e.weights.kind === 'embedded') {
        expect(e.cached).toMatch(/assets\/models\//);
        expect(e.params).toBeGreaterThan(3_000_000);
        continue;
      }
      expect(e.cached).toBeNull();
      // Parameter counts equal the upstream models' (golden manifest), for every tagged architecture there.
      const key = Object.keys(manifest).find((k) => k.replace(/^(official|torchvision)\//, '') === e.model);
      if (key) expect(e.params, e.name).toBe(manifest[key]!.params);
      expect(e.gmacs).toBeGreaterThan(0);
    }
    const r = list.find((e) => e.name === 'rexnet_100.nav_in1k')!;
    expect(r).toMatchObject({ default: true, params: 4796873, published: { top1: 77.862, top5: 93.89 } });
    expect(r.gmacs).toBeCloseTo(0.398, 2);
    expect(new Set(list.filter((e) => e.default).map((e) => e.model)).size).toBe(new Set(list.map((e) => e.model)).size);
  });
});

describe('zoo info', () => {
  it('cdnv2_c: params, GMACs, official eval config, manual source, both published sets side by side', async () => {
    const run = await runZoo(['info', 'cdnv2_c']);
    expect(run.code, run.stderr).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/^model\s+cdnv2_c\.official_in1k \(default tag of cdnv2_c\)$/m);
    expect(out).toMatch(/^family\s+condensenetv2 \(official naming\)$/m);
    expect(out).toMatch(/^params\s+6,177,512$/m);
    expect(out).toMatch(/^GMACs\s+0\.\d{3} at 224x224$/m);
    expect(out).toMatch(/^eval config\s+224x224, bilinear, crop_pct 0\.875 \(center: resize 256, crop 224x224\)/m);
    expect(out).toMatch(/^weights\s+manual download: .*jianghaojun\/CondenseNetV2 README.*drive\.google\.com/m);
    expect(out).toMatch(/jianghaojun\/CondenseNetV2 README\s+imagenet\s+224\s+0\.875\s+bilinear\s+75\.900\s+-\s+<- compared/);
    expect(out).toMatch(/Paddle-Image-Models \(ppim\) docs\s+imagenet\s+224\s+0\.875\s+-\s+75\.830\s+92\.680/);
    expect(out).toMatch(/^other tags: ppim_in1k$/m);
  });

  it('a timm tag with test-time size: eval at the test size, train size noted, cached or not', async () => {
    const tag = allTags().find((t) => t.name === 'tf_efficientnetv2_s.in1k')!;
    const env = { ZOO_CACHE: cache };
    const before = await runZoo(['info', 'tf_efficientnetv2_s.in1k'], { env });
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toMatch(/^eval config\s+384x384, bicubic, crop_pct 1 \(center: resize 384, crop 384x384\), mean 0\.5,0\.5,0\.5, std 0\.5,0\.5,0\.5$/m);
    expect(before.stdout).toMatch(/^train size\s+300x300/m);
    expect(before.stdout).toMatch(/^weights\s+Hugging Face timm\/tf_efficientnetv2_s\.in1k model\.safetensors$/m);
    expect(before.stdout).toMatch(/^cached\s+no$/m);
    expect(before.stdout).toMatch(/timm results\/results-imagenet\.csv\s+imagenet\s+384\s+1\s+bicubic\s+83\.\d{3}\s+96\.\d{3}\s+<- compared/);
    expect(before.stdout).toMatch(/efficientnetv2_s \(paper\)|google\/automl efficientnetv2 README/);
    // A file in the cache (hub.ts' layout) makes it "cached".
    if (tag.weights.kind === 'manual' || tag.weights.kind === 'embedded') throw new Error('expected a downloadable tag');
    const saved = process.env.ZOO_CACHE;
    process.env.ZOO_CACHE = cache;
    const file = cachePathFor(tag.weights);
    if (saved === undefined) delete process.env.ZOO_CACHE;
    else process.env.ZOO_CACHE = saved;
    await mkdir(dirname(file), { recursive: true });
    // A file that is no checkpoint (an error page saved by an older zoo) is not "cached" (issue 9.11)...
    await writeFile(file, 'x');
    const junk = await runZoo(['info', 'tf_efficientnetv2_s.in1k'], { env });
    expect(junk.stdout).toMatch(/^cached\s+no$/m);
    // ...a whole one is (an empty safetensors file: 8-byte length, then "{}" padded to 8).
    const empty = Buffer.alloc(16, 0x20);
    empty.writeBigUInt64LE(8n, 0);
    empty.write('{}', 8);
    await writeFile(file, empty);
    const after = await runZoo(['info', 'tf_efficientnetv2_s.in1k'], { env });
    expect(after.stdout).toContain(`cached       ${file}`);
  });

  it('--json has the same fields as a list entry', async () => {
    const run = await runZoo(['info', 'rexnet_100', '--json']);
    const e = camelKeys<TagJson>(JSON.parse(run.stdout));
    expect(e).toMatchObject({ name: 'rexnet_100.nav_in1k', params: 4796873, weights: { kind: 'hf' } });
    // Every set's number from the shared published.csv (read independently of src/): one row per set.
    const shared = readFileSync(join(SHARED, 'imagenet', 'published.csv'), 'utf8')
      .split(/\r?\n/)
      .filter((l) => l.startsWith('rexnet_100.nav_in1k,timm results/'))
      .map((l) => l.split(','))
      .map((f) => ({ dataset: f[2], top1: Number(f[6]), top5: Number(f[7]) }));
    expect(shared).toHaveLength(8);
    const timmRows = e.publishedAll.filter((r) => r.source.startsWith('timm results/'));
    expect(timmRows.map((r) => ({ dataset: r.dataset, top1: r.top1, top5: r.top5 }))).toEqual(shared);
    expect(e.publishedAll).toHaveLength(9); // + the Paddle port's row
  });

  it('lists every test set\'s published number in the text view', async () => {
    const run = await runZoo(['info', 'rexnet_100']);
    for (const [set, top1] of [['imagenet-a', '8.800'], ['imagenet-r', '37.063'], ['sketch', '26.874'], ['imagenet-r-clean', '92.840'], ['imagenetv2-matched-frequency', '65.820']]) {
      expect(run.stdout).toMatch(new RegExp(`${set}\\s.*${top1.replace('.', '\\.')}`));
    }
  });
});
