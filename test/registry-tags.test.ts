/**
 * The registry against its sources: eval configs equal the configs timm's own transform was built
 * from (golden/preprocess/manifest.json), every timm tag's eval config is one timm's results tables
 * were measured with, published rows are all attached, and names resolve like timm's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import {
  allTags,
  editDistance,
  parseCsvLine,
  primaryPublished,
  publishedResults,
  resolveModel,
  tagsOf,
} from '../src/models/registry.js';
import { SHARED } from './support/golden.js';

interface ManifestCfg {
  input_size: number[];
  interpolation: string;
  mean: number[];
  std: number[];
  crop_pct: number;
  crop_mode: string;
}

describe('registry eval configs', () => {
  it('equal every config of golden/preprocess/manifest.json', () => {
    const manifest = JSON.parse(readFileSync(join(SHARED, 'golden', 'preprocess', 'manifest.json'), 'utf8')) as {
      configs: Record<string, ManifestCfg>;
    };
    const names = Object.keys(manifest.configs);
    expect(names.length).toBeGreaterThanOrEqual(7);
    for (const name of names) {
      const ref = manifest.configs[name]!;
      const cfg = resolveModel(name).tag.evalConfig;
      expect({ name, ...cfg }).toEqual({
        name,
        inputSize: ref.input_size,
        interpolation: ref.interpolation,
        mean: ref.mean,
        std: ref.std,
        cropPct: ref.crop_pct,
        cropMode: ref.crop_mode,
      });
    }
  });

  it('are the settings timm measured each timm tag with (published.csv results rows)', () => {
    const timmRows = publishedResults().filter((r) => r.source.startsWith('timm results') && r.dataset === 'imagenet');
    const timmTagged = allTags().filter((t) => t.weights.kind === 'hf');
    let checked = 0;
    for (const t of timmTagged) {
      const rows = timmRows.filter((r) => r.model === t.name);
      if (rows.length === 0) continue;
      checked++;
      const c = t.evalConfig;
      const match = rows.find(
        (r) => r.imgSize === c.inputSize[1] && Math.abs(r.cropPct - c.cropPct) < 1e-6 && r.interpolation === c.interpolation,
      );
      expect(match, `${t.name}: ${JSON.stringify(c)} vs ${JSON.stringify(rows)}`).toBeDefined();
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('torchvision tags match torchvision docs rows and name their sha256 prefix', () => {
    const tv = allTags().filter((t) => t.weights.kind === 'url');
    expect(tv.length).toBe(8);
    for (const t of tv) {
      if (t.weights.kind !== 'url') continue;
      expect(t.weights.url).toMatch(/^https:\/\/download\.pytorch\.org\/models\/.*-[0-9a-f]{8}\.pth$/);
      expect(t.weights.url).toContain(`-${t.weights.sha256Prefix}.pth`);
      for (const r of t.published) {
        expect(r.imgSize).toBe(t.evalConfig.inputSize[1]);
        expect(Math.floor(r.imgSize / r.cropPct)).toBe(Math.floor(t.evalConfig.inputSize[1] / t.evalConfig.cropPct));
        expect(r.interpolation).toBe(t.evalConfig.interpolation);
      }
    }
  });
});

describe('published numbers', () => {
  it('every published.csv row belongs to some tag', () => {
    const attached = new Set(allTags().flatMap((t) => t.published));
    const orphans = publishedResults().filter((r) => !attached.has(r));
    expect(orphans.map((r) => `${r.model} (${r.source})`)).toEqual([]);
  });

  it('rexnet_100 carries timm results on every test set (ReaL, V2, A, R, Sketch, -clean) and the Paddle row; primary is the 224 ImageNet one', () => {
    const t = resolveModel('rexnet_100').tag;
    expect(t.name).toBe('rexnet_100.nav_in1k');
    expect(new Set(t.published.map((r) => r.dataset))).toEqual(
      new Set(['imagenet', 'imagenet-real', 'imagenetv2-matched-frequency', 'imagenet-a', 'imagenet-a-clean', 'imagenet-r', 'imagenet-r-clean', 'sketch']),
    );
    expect(t.published.some((r) => r.source.includes('Paddle'))).toBe(true);
    const p = primaryPublished(t)!;
    expect([p.top1, p.top5, p.source]).toEqual([77.862, 93.89, 'timm results/results-imagenet.csv']);
  });

  it('cdnv2_c shows the official README and the Paddle port side by side', () => {
    const t = resolveModel('cdnv2_c').tag;
    expect(t.tag).toBe('official_in1k');
    expect(t.evalConfig.interpolation).toBe('bilinear');
    expect(t.published.map((r) => [r.source, r.top1, r.top5])).toEqual([
      ['jianghaojun/CondenseNetV2 README', 75.9, null],
      ['Paddle-Image-Models (ppim) docs', 75.83, 92.68],
    ]);
    expect(t.weights.kind).toBe('manual');
  });

  it('parses quoted CSV fields with commas', () => {
    expect(parseCsvLine('a,"b, c ""d""",,e')).toEqual(['a', 'b, c "d"', '', 'e']);
  });
});

describe('resolveModel', () => {
  it('takes an architecture (its default tag, as timm picks it) or arch.tag', () => {
    expect(resolveModel('resnext50_32x4d').tag.tag).toBe('a1h_in1k');
    expect(resolveModel('resnext101_32x4d').tag.tag).toBe('fb_ssl_yfcc100m_ft_in1k');
    expect(resolveModel('tf_efficientnetv2_s').tag.tag).toBe('in21k_ft_in1k');
    expect(resolveModel('rexnetv1_1.0x').tag.name).toBe('rexnetv1_1.0x.clova_in1k');
    expect(resolveModel('rexnet_lite_1.5x.clova_in1k').tag.arch).toBe('rexnet_lite_1.5x');
    expect(resolveModel('resnext50_32x4d.IMAGENET1K_V2').tag.evalConfig.cropPct).toBe(0.965);
    expect(resolveModel('torchvision/efficientnet_v2_l').tag.name).toBe('efficientnet_v2_l.IMAGENET1K_V1');
    for (const arch of new Set(allTags().map((t) => t.arch))) {
      expect(tagsOf(arch).filter((t) => t.isDefault)).toHaveLength(1);
    }
  });

  it('timm tags fetch model.safetensors from timm/<arch>.<tag>', () => {
    const w = resolveModel('rexnetr_300').tag.weights;
    expect(w).toEqual({ kind: 'hf', repo: 'timm/rexnetr_300.sw_in12k_ft_in1k', file: 'model.safetensors' });
  });

  it('rejects unknown names with the nearest suggestions', () => {
    const oneLine = (spec: string): string => {
      try {
        resolveModel(spec);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as UsageError).oneLine();
      }
      throw new Error(`${spec} resolved`);
    };
    expect(oneLine('rexnet_10')).toMatch(/unknown model 'rexnet_10'.*did you mean rexnet_100/);
    expect(oneLine('resnext50_32x4')).toMatch(/did you mean resnext50_32x4d/);
    expect(oneLine('rexnet_100.nope')).toMatch(/unknown pretrained tag 'nope' for rexnet_100.*nav_in1k/);
  });

  it('editDistance is Levenshtein', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('rexnet_100', 'rexnet_100')).toBe(0);
  });
});
