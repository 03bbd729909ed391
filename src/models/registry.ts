/**
 * The model registry: pretrained tags (registry-tags.ts) joined with the architectures the family
 * files implement and the published numbers of assets/imagenet/published.csv.
 *
 * `<model>` on the command line is an architecture (meaning its default tag) or `arch.tag` as in
 * timm. Tags can be catalogued before their family code exists; such a model lists and shows
 * `info`, and says it is not implemented when asked to run.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { editDistance, suggest } from './suggest.js';
import { UsageError } from '../errors.js';
import type { Architecture } from './arch.js';
import { ARCHITECTURES, findArchitecture } from './architectures.js';
import { borderPixels, IMAGENET_MEAN, IMAGENET_STD, type EvalConfig } from './eval-config.js';
import { TAG_SPECS, type TagSpec } from './registry-tags.js';
import type { WeightsSource } from './weights/source.js';

/** One row of published.csv. */
export interface PublishedResult {
  /** The weights name in published.csv (`rexnet_100.nav_in1k`, `cdnv2_a`, ...). */
  model: string;
  /** Who published it: `timm results/results-imagenet.csv`, `clovaai/rexnet README`, ... */
  source: string;
  /** `imagenet`, `imagenet-real`, `imagenetv2-matched-frequency`. */
  dataset: string;
  imgSize: number;
  cropPct: number;
  interpolation: string | null;
  top1: number;
  top5: number | null;
  paramsM: number | null;
  note: string;
}

export interface PretrainedTag {
  arch: string;
  tag: string;
  /** `arch.tag`. */
  name: string;
  isDefault: boolean;
  weights: WeightsSource;
  /** What timm's validate.py evaluates with (test-time size and crop where the tag has them). */
  evalConfig: EvalConfig;
  /** The train-time input size, when it differs from the eval one. */
  trainInputSize?: readonly [number, number, number];
  origin: string;
  license?: string;
  note?: string;
  /** Every published.csv row for these weights, in file order. */
  published: readonly PublishedResult[];
}

export interface ResolvedModel {
  /** What the user typed. */
  spec: string;
  tag: PretrainedTag;
  /** The implementation; undefined while the family is catalogued but not written yet. */
  architecture: Architecture | undefined;
}

// ---------------------------------------------------------------- published.csv

/** RFC 4180 fields: quoted fields may hold commas and doubled quotes. */
export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out;
}

export function parsePublishedCsv(text: string): PublishedResult[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  const header = parseCsvLine(lines[0] ?? '');
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`published.csv: no column ${name}`);
    return i;
  };
  const c = {
    model: col('model'),
    source: col('source'),
    dataset: col('dataset'),
    imgSize: col('img_size'),
    cropPct: col('crop_pct'),
    interpolation: col('interpolation'),
    top1: col('top1'),
    top5: col('top5'),
    params: col('params_m'),
    note: col('note'),
  };
  const num = (s: string | undefined) => (s === undefined || s.trim() === '' ? null : Number(s));
  return lines.slice(1).map((line) => {
    const f = parseCsvLine(line);
    return {
      model: f[c.model]!,
      source: f[c.source]!,
      dataset: f[c.dataset]!,
      imgSize: Number(f[c.imgSize]),
      cropPct: Number(f[c.cropPct]),
      interpolation: f[c.interpolation] ? f[c.interpolation]! : null,
      top1: Number(f[c.top1]),
      top5: num(f[c.top5]),
      paramsM: num(f[c.params]),
      note: f[c.note] ?? '',
    };
  });
}

/** assets/ sits two levels above both src/models (tests) and dist/models (the built CLI). */
export const PUBLISHED_CSV = fileURLToPath(new URL('../../assets/imagenet/published.csv', import.meta.url));

let publishedCache: PublishedResult[] | undefined;
export function publishedResults(): readonly PublishedResult[] {
  publishedCache ??= parsePublishedCsv(readFileSync(PUBLISHED_CSV, 'utf8'));
  return publishedCache;
}

// ---------------------------------------------------------------- tags

function buildTag(spec: TagSpec, isDefault: boolean, rows: readonly PublishedResult[]): PretrainedTag {
  const name = `${spec.arch}.${spec.tag}`;
  const names = new Set([name, ...(spec.publishedAs ?? [])]);
  if (isDefault) names.add(spec.arch);
  const cfg = spec.cfg;
  const size = cfg.testInputSize ?? cfg.inputSize;
  const evalConfig: EvalConfig = {
    inputSize: size,
    interpolation: cfg.interpolation,
    mean: cfg.mean,
    std: cfg.std,
    cropPct: cfg.testCropPct ?? cfg.cropPct,
    cropMode: cfg.cropMode,
  };
  const tag: PretrainedTag = {
    arch: spec.arch,
    tag: spec.tag,
    name,
    isDefault,
    weights: spec.weights,
    evalConfig,
    origin: spec.origin,
    published: rows.filter((r) => names.has(r.model)),
  };
  if (cfg.testInputSize && cfg.testInputSize[1] !== cfg.inputSize[1]) tag.trainInputSize = cfg.inputSize;
  if (spec.license) tag.license = spec.license;
  if (spec.note) tag.note = spec.note;
  return tag;
}

let tagsCache: PretrainedTag[] | undefined;

/** Every pretrained tag, grouped by architecture in catalogue order, default tag first. */
export function allTags(): readonly PretrainedTag[] {
  if (tagsCache) return tagsCache;
  const rows = publishedResults();
  const byArch = new Map<string, TagSpec[]>();
  for (const s of TAG_SPECS) {
    const list = byArch.get(s.arch) ?? [];
    if (list.some((t) => t.tag === s.tag)) throw new Error(`registry: duplicate tag ${s.arch}.${s.tag}`);
    list.push(s);
    byArch.set(s.arch, list);
  }
  tagsCache = [...byArch.values()].flatMap((list) => list.map((s, i) => buildTag(s, i === 0, rows)));
  return tagsCache;
}

/** Architecture names in catalogue order (those with tags, then implemented ones without). */
export function modelNames(): string[] {
  const names = [...new Set(allTags().map((t) => t.arch))];
  for (const a of ARCHITECTURES) if (!names.includes(a.name)) names.push(a.name);
  return names;
}

export function tagsOf(arch: string): PretrainedTag[] {
  return allTags().filter((t) => t.arch === arch);
}

/**
 * The tag for an architecture without catalogued weights: timm's generic defaults at the family's
 * input size. Only reachable for an implemented architecture the catalogue has no entry for.
 */
function untaggedTag(a: Architecture): PretrainedTag {
  return {
    arch: a.name,
    tag: 'untrained',
    name: `${a.name}.untrained`,
    isDefault: true,
    weights: { kind: 'manual', url: '', instructions: 'no pretrained weights are catalogued: pass --weights FILE' },
    evalConfig: {
      inputSize: [3, a.defaultSize[0], a.defaultSize[1]],
      interpolation: 'bicubic',
      mean: IMAGENET_MEAN,
      std: IMAGENET_STD,
      cropPct: 0.875,
      cropMode: 'center',
    },
    origin: '',
    published: [],
  };
}

// ---------------------------------------------------------------- resolution

export { editDistance };

/** The fix line for an unknown model name (see suggest.ts for the order of preference). */
export function unknownModelFix(name: string): string {
  const s = suggest(name, modelNames(), allTags().map((t) => t.name));
  if (s.kind === 'timm-only') {
    const families = [...new Set(ARCHITECTURES.map((a) => a.family))].join(', ');
    // zoo evaluates any ONNX export as a model file (issue 11), so the way forward is one export away.
    const onnx = `${name.replace(/[^\w.-]/g, '_')}.onnx`;
    return (
      `${name} is a timm architecture (${s.family}) that zoo does not implement; zoo implements ${families} (\`zoo list\` shows every model); ` +
      `to evaluate it, export it to ONNX (timm's onnx_export.py: \`python onnx_export.py --model ${name} ${onnx}\`, or torch.onnx.export of timm.create_model('${name}', pretrained=True)) and run \`zoo eval ${onnx} --data DIR\``
    );
  }
  if (s.names.length === 0) return '`zoo list` shows every model';
  return `did you mean ${s.names.join(', ')}? (\`zoo list\` shows every model)`;
}

/** golden keys and torchvision-style names (`torchvision/efficientnet_v2_s.IMAGENET1K_V1`) map onto arch names. */
function canonicalArch(name: string): string {
  const a = findArchitecture(name);
  if (a) return a.name;
  const bare = name.replace(/^(torchvision|official|timm)\//, '');
  // Names ignore case: REXNET_100 is rexnet_100.
  return modelNames().find((n) => n.toLowerCase() === bare.toLowerCase()) ?? bare;
}

/**
 * `arch` (its default tag) or `arch.tag`. Architecture names themselves contain dots
 * (`rexnetv1_1.0x`), so the longest known architecture prefix wins.
 */
export function resolveModel(spec: string): ResolvedModel {
  const s = spec.trim();
  const names = modelNames();
  const whole = canonicalArch(s);
  if (names.includes(whole)) return withArch(s, defaultTag(whole));
  const dots = [...s.matchAll(/\./g)].map((m) => m.index).reverse();
  for (const i of dots) {
    const arch = canonicalArch(s.slice(0, i));
    const tagName = s.slice(i + 1);
    if (!names.includes(arch)) continue;
    const tags = tagsOf(arch);
    const tag = tags.find((t) => t.tag === tagName) ?? tags.find((t) => t.tag.toLowerCase() === tagName.toLowerCase());
    if (tag) return withArch(s, tag);
    throw new UsageError(`unknown pretrained tag '${tagName}' for ${arch}`, {
      expected: tags.length ? `one of ${tags.map((t) => t.tag).join(', ')}` : 'no tag: the architecture has none catalogued',
      fix: `see \`zoo info ${arch}\``,
    });
  }
  throw new UsageError(`unknown model '${s}'`, { fix: unknownModelFix(s) });
}

function defaultTag(arch: string): PretrainedTag {
  const tags = tagsOf(arch);
  const found = tags.find((t) => t.isDefault) ?? tags[0];
  if (found) return found;
  const a = findArchitecture(arch);
  if (!a) throw new Error(`registry: ${arch} has neither tags nor an implementation`);
  return untaggedTag(a);
}

function withArch(spec: string, tag: PretrainedTag): ResolvedModel {
  return { spec, tag, architecture: findArchitecture(tag.arch) };
}

/** The implementation of a resolved model, or a usage error saying it is catalogued only. */
export function requireArchitecture(m: ResolvedModel): Architecture {
  if (m.architecture) return m.architecture;
  throw new UsageError(`${m.tag.arch} is catalogued but its architecture is not implemented in this build`, {
    fix: `implemented: ${ARCHITECTURES.map((a) => a.name).join(', ') || 'none yet'}`,
  });
}

/**
 * The published row to compare a run with: the test set's (`dataset` column of published.csv:
 * ImageNet-1k by default) at the same eval size, crop and interpolation; none when no row matches
 * or when the run changed what a row does not record from the tag's config (normalisation, crop
 * mode, a trimmed border). A tag without a config of its own (a model file's) has nothing to differ from.
 */
export function primaryPublished(
  tag: Pick<PretrainedTag, 'published'> & { readonly evalConfig?: EvalConfig },
  cfg: EvalConfig = tag.evalConfig!,
  dataset = 'imagenet',
): PublishedResult | undefined {
  const imagenet = tag.published.filter((r) => r.dataset === dataset);
  const size = cfg.inputSize[1];
  const exact = imagenet.find(
    (r) =>
      r.imgSize === size &&
      Math.abs(r.cropPct - cfg.cropPct) < 1e-3 &&
      (r.interpolation === null || r.interpolation === cfg.interpolation),
  );
  // Only a row at the same eval size, crop and interpolation (and the tag's normalisation, crop
  // mode and no trimmed border) compares: a run at --img-size 256 is not the 224 row's run (issue 10.1).
  const base = tag.evalConfig;
  const sameRest =
    !base ||
    (cfg.cropMode === base.cropMode && borderPixels(cfg) === borderPixels(base) && cfg.mean.every((v, i) => Math.abs(v - base.mean[i]!) < 1e-6) && cfg.std.every((v, i) => Math.abs(v - base.std[i]!) < 1e-6));
  return sameRest ? exact : undefined;
}

/** The configs a tag has published numbers for on `dataset`, in words (`224px crop 0.875 bicubic`). */
export function publishedConfigs(tag: Pick<PretrainedTag, 'published'>, dataset = 'imagenet'): string[] {
  const rows = tag.published.filter((r) => r.dataset === dataset);
  return [...new Set(rows.map((r) => `--img-size ${r.imgSize} --crop-pct ${r.cropPct}${r.interpolation ? ` --interpolation ${r.interpolation}` : ''}`))];
}
