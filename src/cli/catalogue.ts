/**
 * What `zoo list` and `zoo info` report about a tag, computed once: parameter count and MACs come
 * from recording the architecture at the eval size (no weights needed), cache state from the hub.
 */
import { existsSync } from 'node:fs';
import { recordGraph } from '../models/record.js';
import { findArchitecture } from '../models/architectures.js';
import { primaryPublished, type PretrainedTag, type PublishedResult } from '../models/registry.js';
import type { EvalConfig } from '../models/eval-config.js';
import { ecosystemCandidate } from '../models/weights/ecosystem.js';
import type { WeightsSource } from '../models/weights/source.js';

export interface ModelFacts {
  params: number | null;
  macs: number | null;
}

const factsCache = new Map<string, ModelFacts>();

/** Params and MACs at `size`, or nulls while the family is not implemented. */
export function modelFacts(arch: string, size: readonly [number, number]): ModelFacts {
  const key = `${arch}@${size[0]}x${size[1]}`;
  const hit = factsCache.get(key);
  if (hit) return hit;
  const a = findArchitecture(arch);
  let facts: ModelFacts = { params: null, macs: null };
  if (a) {
    const g = recordGraph(a.forward, { size });
    facts = { params: g.params, macs: g.macs };
  }
  factsCache.set(key, facts);
  return facts;
}

export interface TagJson {
  name: string;
  model: string;
  tag: string;
  default: boolean;
  implemented: boolean;
  params: number | null;
  gmacs: number | null;
  evalConfig: EvalConfig;
  trainInputSize: readonly number[] | null;
  weights: WeightsSource;
  cached: string | null;
  origin: string;
  license: string | null;
  note: string | null;
  published: PublishedResult | null;
  publishedAll: readonly PublishedResult[];
}

/** Where a tag's weights file lies on this machine, and in which cache. */
export interface FoundWeightsFile {
  /** hub (Hugging Face Hub cache), torch (torch.hub), zoo (zoo's cache) or embedded (shipped with zoo). */
  found_in: 'hub' | 'torch' | 'zoo' | 'embedded';
  path: string;
}

/** The weights file a run would find first, or null (none yet, or a manual download). */
export async function findWeightsFile(w: WeightsSource): Promise<FoundWeightsFile | null> {
  if (w.kind === 'manual') return null;
  if (w.kind === 'embedded') {
    const { embeddedPath } = await import('../models/weights/embedded.js');
    return { found_in: 'embedded', path: embeddedPath(w) };
  }
  // The Hub / torch.hub caches first, as fetchWeights looks (unverified here: listing must stay cheap).
  const eco = ecosystemCandidate(w);
  if (eco) return { found_in: w.kind === 'hf' ? 'hub' : 'torch', path: eco.path };
  const { cachedPath } = await import('../models/weights/hub.js');
  const p = await cachedPath(w);
  return p && existsSync(p) ? { found_in: 'zoo', path: p } : null;
}

async function embeddedParams(w: Extract<PretrainedTag['weights'], { kind: 'embedded' }>): Promise<number | null> {
  const { readFile } = await import('node:fs/promises');
  const { embeddedPath } = await import('../models/weights/embedded.js');
  const { summarizeOnnx } = await import('../engines/onnxruntime/read-proto.js');
  try {
    return summarizeOnnx(await readFile(embeddedPath(w))).params;
  } catch {
    return null;
  }
}

export async function tagJson(t: PretrainedTag, withMacs: boolean): Promise<TagJson> {
  const size = [t.evalConfig.inputSize[1], t.evalConfig.inputSize[2]] as const;
  // A shipped model file has no family code: its parameters are counted from the file; MACs are unknown.
  const facts = t.weights.kind === 'embedded' ? { params: withMacs ? await embeddedParams(t.weights) : null, macs: null } : withMacs ? modelFacts(t.arch, size) : { params: null, macs: null };
  return {
    name: t.name,
    model: t.arch,
    tag: t.tag,
    default: t.isDefault,
    implemented: findArchitecture(t.arch) !== undefined || t.weights.kind === 'embedded',
    params: facts.params,
    gmacs: facts.macs === null ? null : facts.macs / 1e9,
    evalConfig: t.evalConfig,
    trainInputSize: t.trainInputSize ?? null,
    weights: t.weights,
    cached: (await findWeightsFile(t.weights))?.path ?? null,
    origin: t.origin,
    license: t.license ?? null,
    note: t.note ?? null,
    published: primaryPublished(t) ?? null,
    publishedAll: t.published,
  };
}
