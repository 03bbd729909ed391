/**
 * The eval config of a model file, resolved field by field from layers in priority order (first match
 * wins): command-line flags, the timm `config.json` beside the model, `--config-of arch.tag`, and the
 * model's own fixed input size. Every value keeps the name of the layer it came from, so the table and
 * the JSON can say where the 224 or the bicubic came from.
 */
import { LIST_MAX_BYTES, readInputText } from '../../io/input.js';
import { ExitCode, UsageError, WeightsError } from '../../errors.js';
import type { CropMode, EvalConfig, Interpolation } from '../eval-config.js';

/** The config fields, in timm's names (the JSON's `config_sources` keys). */
export const CONFIG_FIELDS = ['input_size', 'interpolation', 'crop_pct', 'crop_mode', 'mean', 'std'] as const;
export type ConfigField = (typeof CONFIG_FIELDS)[number];

/**
 * Where each resolved value came from, e.g. `{ input_size: 'config.json test_input_size', mean: '--mean' }`;
 * `crop_border_pixels` only when a layer trims a border (timm's default is none).
 */
export type ConfigSources = Record<ConfigField, string> & { crop_border_pixels?: string };

export interface PartialConfig {
  inputSize?: readonly [number, number, number];
  interpolation?: Interpolation;
  cropPct?: number;
  cropMode?: CropMode;
  cropBorderPixels?: number;
  mean?: readonly [number, number, number];
  std?: readonly [number, number, number];
}

/** One source of values; `sources` names each value it holds (defaults to `name`). */
export interface ConfigLayer {
  name: string;
  values: PartialConfig;
  sources?: Partial<ConfigSources>;
}

const KEY: Record<ConfigField, keyof PartialConfig> = {
  input_size: 'inputSize',
  interpolation: 'interpolation',
  crop_pct: 'cropPct',
  crop_mode: 'cropMode',
  mean: 'mean',
  std: 'std',
};

/** The flag that sets each field (named in the refusal). */
const FLAG: Record<ConfigField, string> = {
  input_size: '--img-size N',
  interpolation: '--interpolation bicubic|bilinear',
  crop_pct: '--crop-pct F',
  crop_mode: '--crop-mode center|squash|border',
  mean: '--mean R,G,B',
  std: '--std R,G,B',
};

export interface ResolvedFileConfig {
  cfg: EvalConfig;
  sources: ConfigSources;
}

/**
 * First match wins per field. crop_mode alone has a default (`center`, timm's); a config missing any
 * other field is refused naming the flags that would supply it, since guessing mean/std or the crop
 * silently changes the accuracy.
 */
export function resolveConfig(model: string, layers: readonly ConfigLayer[]): ResolvedFileConfig {
  const out: Partial<Record<keyof PartialConfig, unknown>> = {};
  const sources: Partial<ConfigSources> = {};
  for (const f of CONFIG_FIELDS) {
    for (const l of layers) {
      const v = l.values[KEY[f]];
      if (v === undefined) continue;
      out[KEY[f]] = v;
      sources[f] = l.sources?.[f] ?? l.name;
      break;
    }
  }
  if (out.cropMode === undefined) {
    out.cropMode = 'center';
    sources.crop_mode = 'default (timm: center)';
  }
  // crop_border_pixels: optional, absent (timm's default) unless a layer trims a border.
  const trim = layers.find((l) => l.values.cropBorderPixels !== undefined);
  if (trim?.values.cropBorderPixels) {
    out.cropBorderPixels = trim.values.cropBorderPixels;
    sources.crop_border_pixels = trim.sources?.crop_border_pixels ?? trim.name;
  }
  const missing = CONFIG_FIELDS.filter((f) => sources[f] === undefined);
  if (missing.length > 0) {
    const have = CONFIG_FIELDS.filter((f) => sources[f] !== undefined).map((f) => `${f} from ${sources[f]}`);
    throw new UsageError(`no eval config for ${missing.join(', ')}${have.length ? ` (have ${have.join('; ')})` : ''}`, {
      file: model,
      expected: "a timm config.json beside the model, --config-of <arch.tag>, or the values as flags",
      fix: `pass ${missing.map((f) => FLAG[f]).join(' ')}, or --config-of <arch.tag> to borrow a catalogued tag's config`,
    });
  }
  return { cfg: out as unknown as EvalConfig, sources: sources as ConfigSources };
}

/** An EvalConfig as a layer (a borrowed tag's config). */
export function layerOf(name: string, cfg: EvalConfig): ConfigLayer {
  return { name, values: { ...cfg } };
}

// ------------------------------------------------------------------ timm config.json

const isTriple = (v: unknown): v is [number, number, number] =>
  Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/**
 * A timm `config.json` (Hugging Face form: `{architecture, num_classes, pretrained_cfg: {...}}`, or a
 * bare pretrained_cfg) as a config layer, resolved as validate.py does with `use_test_size=True`:
 * `test_input_size` over `input_size`, `test_crop_pct` over `crop_pct`.
 */
export function timmConfigLayer(json: unknown, file: string): ConfigLayer & { numClasses: number | null; architecture: string | null } {
  const bad = (what: string) =>
    new WeightsError(`config.json ${what}`, { file, expected: "timm's config.json with pretrained_cfg (input_size, interpolation, crop_pct, mean, std)", fix: 'fix or remove it, or pass the values as flags' });
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('is not a JSON object');
  const root = json as Record<string, unknown>;
  const pc = (typeof root.pretrained_cfg === 'object' && root.pretrained_cfg !== null ? root.pretrained_cfg : root) as Record<string, unknown>;
  const values: PartialConfig = {};
  const sources: Partial<ConfigSources> = {};
  const size = pc.test_input_size ?? pc.input_size;
  if (size !== undefined) {
    if (!isTriple(size) || !size.every((x) => Number.isInteger(x) && x > 0)) throw bad(`has a bad input_size ${JSON.stringify(size)}`);
    values.inputSize = size;
    sources.input_size = `config.json ${pc.test_input_size !== undefined ? 'test_input_size' : 'input_size'}`;
  }
  if (pc.interpolation !== undefined) {
    if (pc.interpolation !== 'bicubic' && pc.interpolation !== 'bilinear') {
      throw bad(`asks for interpolation '${String(pc.interpolation)}', which zoo does not implement (bicubic, bilinear)`);
    }
    values.interpolation = pc.interpolation;
  }
  const crop = pc.test_crop_pct ?? pc.crop_pct;
  if (crop !== undefined && crop !== null) {
    if (typeof crop !== 'number' || !(crop > 0 && crop <= 1)) throw bad(`has a bad crop_pct ${JSON.stringify(crop)}`);
    values.cropPct = crop;
    sources.crop_pct = `config.json ${pc.test_crop_pct !== undefined && pc.test_crop_pct !== null ? 'test_crop_pct' : 'crop_pct'}`;
  }
  if (pc.crop_mode !== undefined) {
    if (pc.crop_mode !== 'center' && pc.crop_mode !== 'squash' && pc.crop_mode !== 'border') {
      throw bad(`asks for crop_mode '${String(pc.crop_mode)}' (zoo implements center, squash, border)`);
    }
    values.cropMode = pc.crop_mode;
  }
  if (pc.crop_border_pixels !== undefined && pc.crop_border_pixels !== null) {
    const n = pc.crop_border_pixels;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw bad(`has a bad crop_border_pixels ${JSON.stringify(n)}`);
    values.cropBorderPixels = n;
  }
  if (pc.mean !== undefined) {
    if (!isTriple(pc.mean)) throw bad('has a bad mean');
    values.mean = pc.mean;
  }
  if (pc.std !== undefined) {
    if (!isTriple(pc.std)) throw bad('has a bad std');
    values.std = pc.std;
  }
  const n = root.num_classes ?? pc.num_classes;
  const arch = root.architecture ?? pc.architecture;
  return {
    name: 'config.json',
    values,
    sources,
    numClasses: typeof n === 'number' ? n : null,
    architecture: typeof arch === 'string' ? arch : null,
  };
}

export async function readTimmConfig(file: string): Promise<ReturnType<typeof timmConfigLayer>> {
  const text = await readInputText(file, { what: 'config.json', maxBytes: LIST_MAX_BYTES, exitCode: ExitCode.WEIGHTS, fix: 'check its permissions, or remove it and pass the config as flags' });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new WeightsError('config.json is not JSON', { file, fix: 'fix or remove it, or pass the config as flags' });
  }
  return timmConfigLayer(json, file);
}

/** One line: `input_size 160 (config.json test_input_size), ...` for the table. */
export function describeSources(cfg: EvalConfig, s: ConfigSources): string {
  const v: Record<ConfigField, string> = {
    input_size: String(cfg.inputSize[1] === cfg.inputSize[2] ? cfg.inputSize[1] : `${cfg.inputSize[1]}x${cfg.inputSize[2]}`),
    interpolation: cfg.interpolation,
    crop_pct: String(cfg.cropPct),
    crop_mode: cfg.cropMode,
    mean: cfg.mean.join(','),
    std: cfg.std.join(','),
  };
  // crop_border_pixels is named only when it trims (and then with where it came from).
  const fields: (ConfigField | 'crop_border_pixels')[] = cfg.cropBorderPixels ? [...CONFIG_FIELDS, 'crop_border_pixels'] : [...CONFIG_FIELDS];
  const value = (f: ConfigField | 'crop_border_pixels') => (f === 'crop_border_pixels' ? String(cfg.cropBorderPixels) : v[f]);
  const src = (f: ConfigField | 'crop_border_pixels') => (f === 'crop_border_pixels' ? (s.crop_border_pixels ?? s.crop_mode) : s[f]);
  const from = new Set(fields.map(src));
  if (from.size === 1) return `${fields.map((f) => `${f} ${value(f)}`).join('; ')} (all from ${s.input_size})`;
  // Grouped by where the values came from: the overrides stand out from the catalogue's.
  return [...from].map((w) => `${fields.filter((f) => src(f) === w).map((f) => `${f} ${value(f)}`).join(', ')} (${w})`).join('; ');
}
