/**
 * Test support for the golden parity chain: rebuilds a full checkpoint in upstream naming from the
 * closed-form recipe of shared/golden/WEIGHTS.md, plus the recorded BN statistics, and reads the
 * reference logits. Lives in test/ because the shipped tool never needs it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostTensor } from '../../src/models/graph.js';
import { parseSafetensors } from '../../src/models/weights/safetensors.js';
import { parseNpy, type NpyArray } from '../../src/data/npy.js';
import { SHARED } from './fixtures.js';

export { SHARED };
export const GOLDEN_MODELS = join(SHARED, 'golden', 'models');

export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b) >>> 0;
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** s[i] in [-1, 1) for a tensor name, as float64. */
export function recipeUniform(name: string, n: number): Float64Array {
  const seed = fnv1a32(name);
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = fmix32((Math.imul(i, 0x9e3779b9) + seed) >>> 0);
    s[i] = (u / 2 ** 32) * 2 - 1;
  }
  return s;
}

export interface KeyRow {
  name: string;
  shape: number[];
  dtype: string;
  kind: string;
}

export function goldenFileKey(key: string): string {
  return key.replace('/', '__');
}

export function readKeys(key: string): KeyRow[] {
  const text = readFileSync(join(GOLDEN_MODELS, `${goldenFileKey(key)}.keys.tsv`), 'utf8');
  return text
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [name, shape, dtype, kind] = line.split('\t') as [string, string, string, string];
      return { name, shape: shape === 'scalar' ? [] : shape.split('x').map(Number), dtype, kind };
    });
}

/** The whole upstream state_dict of a golden model, bit for bit as the reference had it. */
export function recipeCheckpoint(key: string): Map<string, HostTensor> {
  const bnstats = parseSafetensors(readFileSync(join(GOLDEN_MODELS, `${goldenFileKey(key)}.bnstats.safetensors`)));
  const out = new Map<string, HostTensor>();
  for (const row of readKeys(key)) {
    const n = row.shape.reduce((a, b) => a * b, 1);
    const s = () => recipeUniform(row.name, n);
    const f32 = (f: (v: number) => number): HostTensor => {
      const src = s();
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = Math.fround(f(src[i]!));
      return { dtype: 'float32', shape: row.shape, data };
    };
    switch (row.kind) {
      case 'weight': {
        const fanIn = row.shape.slice(1).reduce((a, b) => a * b, 1);
        const k = Math.sqrt(6 / fanIn);
        out.set(row.name, f32((v) => v * k));
        break;
      }
      case 'bias':
      case 'bn_bias':
        out.set(row.name, f32((v) => 0.1 * v));
        break;
      case 'bn_weight':
        out.set(row.name, f32((v) => 1 + 0.2 * v));
        break;
      case 'bn_mean':
      case 'bn_var': {
        const t = bnstats.get(row.name);
        if (!t) throw new Error(`${key}: no bnstats for ${row.name}`);
        out.set(row.name, t);
        break;
      }
      case 'select_matrix':
        out.set(row.name, f32((v) => (v > 0.6 ? 1 : 0)));
        break;
      case 'gather_index': {
        const src = s();
        const data = new BigInt64Array(n);
        for (let i = 0; i < n; i++) data[i] = BigInt(Math.min(Math.floor(((src[i]! + 1) / 2) * n), n - 1));
        out.set(row.name, { dtype: 'int64', shape: row.shape, data });
        break;
      }
      case 'skip':
        out.set(row.name, { dtype: 'int64', shape: row.shape, data: new BigInt64Array(Math.max(n, 1)) });
        break;
      default:
        throw new Error(`${key}: unknown kind ${row.kind} for ${row.name}`);
    }
  }
  return out;
}

export interface GoldenOutputs {
  input: NpyArray;
  logits: NpyArray;
}

export const GOLDEN_INPUTS = ['a_224', 'b_239'] as const;

export function readGolden(key: string, input: string): GoldenOutputs {
  return {
    input: parseNpy(readFileSync(join(GOLDEN_MODELS, 'inputs', `${input}.npy`))),
    logits: parseNpy(readFileSync(join(GOLDEN_MODELS, `${goldenFileKey(key)}.${input}.npy`))),
  };
}

export interface GoldenManifestEntry {
  outputs: Record<string, { shape: number[]; margin_top1_top2: number[]; top5: number[][]; absmax: number }>;
  params: number;
  source: string;
  tensors: number;
}

export function goldenManifest(): Record<string, GoldenManifestEntry> {
  return JSON.parse(readFileSync(join(GOLDEN_MODELS, 'manifest.json'), 'utf8')) as Record<string, GoldenManifestEntry>;
}

/**
 * golden/README.md's tolerance: per row, max|zoo - ref| <= 1e-3 * max(1, max|ref|), and the same
 * top-1 where the reference's top-1/top-2 margin exceeds that bound. Returns a description of the
 * first failure, or null.
 */
export function compareLogits(ours: Float32Array, ref: NpyArray, margins: readonly number[]): string | null {
  const classes = ref.shape[1]!;
  const rows = ref.shape[0]!;
  if (ours.length !== rows * classes) return `got ${ours.length} logits, expected ${rows}x${classes}`;
  for (let r = 0; r < rows; r++) {
    let maxRef = 0;
    let maxDiff = 0;
    let argOurs = 0;
    let argRef = 0;
    for (let c = 0; c < classes; c++) {
      const a = ours[r * classes + c]!;
      const b = ref.data[r * classes + c]!;
      maxRef = Math.max(maxRef, Math.abs(b));
      maxDiff = Math.max(maxDiff, Math.abs(a - b));
      if (a > ours[r * classes + argOurs]!) argOurs = c;
      if (b > ref.data[r * classes + argRef]!) argRef = c;
    }
    const bound = 1e-3 * Math.max(1, maxRef);
    if (!(maxDiff <= bound)) return `row ${r}: max|diff| ${maxDiff.toExponential(3)} > ${bound.toExponential(3)}`;
    if (margins[r]! > bound && argOurs !== argRef) return `row ${r}: top-1 ${argOurs}, reference ${argRef}`;
  }
  return null;
}
