/**
 * Looking after zoo's weights cache (`zoo cache prune`, `zoo cache add`): what a run leaves behind
 * that no run will use, and a checkpoint fetched by hand put where `--offline` finds it.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { WeightsError } from '../../errors.js';
import type { HostTensor } from '../graph.js';
import type { PretrainedTag } from '../registry.js';
import { cacheDir } from '../../io/cache-dir.js';
import { cachePathFor, metaPathFor } from './cache.js';
import { loadCheckpoint } from './index.js';
import { sha256PrefixOf } from './source.js';
import { checkpointDefect, sha256OfFile } from './verify.js';

export interface PrunedFile {
  file: string;
  bytes: number;
  /** bad: moved aside as unusable; part: an abandoned partial download; orphan: a .meta.json without its file. */
  why: 'bad' | 'part' | 'orphan';
}

function* walk(dir: string): Generator<string> {
  let list;
  try {
    list = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const d of list) {
    const p = join(dir, d.name);
    if (d.isDirectory()) yield* walk(p);
    else if (d.isFile()) yield p;
  }
}

/**
 * The files of zoo's weights cache no run will use: `<file>.bad`, `<file>.part` with no download
 * holding its `<file>.lock` (a live download keeps its lock), `<file>.meta.json` without `<file>`.
 * With `dryRun` nothing is deleted. Only zoo's own cache is looked at, never the Hub's or torch's.
 */
export function pruneWeightsCache(dryRun = false): PrunedFile[] {
  const out: PrunedFile[] = [];
  for (const root of ['huggingface', 'url'].map((d) => join(cacheDir(), d))) {
    for (const file of walk(root)) {
      let why: PrunedFile['why'] | undefined;
      if (file.endsWith('.bad')) why = 'bad';
      else if (file.endsWith('.part') && !existsSync(`${file.slice(0, -'.part'.length)}.lock`)) why = 'part';
      else if (file.endsWith('.meta.json') && !existsSync(file.slice(0, -'.meta.json'.length))) why = 'orphan';
      if (!why) continue;
      let bytes = 0;
      try {
        bytes = statSync(file).size;
      } catch {
        continue;
      }
      if (!dryRun) rmSync(file, { force: true });
      out.push({ file, bytes, why });
    }
  }
  return out;
}

/**
 * Copies a checkpoint fetched by hand to where a run (and `--offline`) looks for `tag`'s weights,
 * after checking it: a whole checkpoint that parses (and passes `fits`), the catalogue's size and SHA-256 (or the
 * hash prefix a torchvision file name carries) where known. Returns the cache path. The copy is
 * atomic; an older file there (and its download record) is replaced.
 */
export async function addToCache(tag: PretrainedTag, file: string, fits?: (tensors: ReadonlyMap<string, HostTensor>) => void): Promise<string> {
  const w = tag.weights;
  if (w.kind === 'manual' || w.kind === 'embedded') {
    throw new WeightsError(`${tag.name}'s weights are ${w.kind === 'manual' ? 'a manual download' : 'shipped with zoo'}: there is no cache entry for them`, {
      fix: w.kind === 'manual' ? `pass the file to zoo eval with --weights ${file}` : 'nothing to add',
    });
  }
  const defect = checkpointDefect(file);
  if (defect) throw new WeightsError(`not a whole checkpoint: ${defect}`, { file, fix: 'fetch the file again' });
  // Parses every tensor (a WeightsError naming the file otherwise); `fits` checks names and shapes
  // against the architecture where the caller can build it.
  const tensors = await loadCheckpoint(file);
  fits?.(tensors);
  const size = statSync(file).size;
  if (w.size !== undefined && size !== w.size) {
    throw new WeightsError(`${size} bytes, the catalogue says ${w.size} for ${tag.name}`, { file, fix: `check that this is ${tag.name}'s checkpoint` });
  }
  const prefix = w.sha256 ?? (w.kind === 'url' ? sha256PrefixOf(w) : undefined);
  if (prefix) {
    const digest = await sha256OfFile(file);
    if (!digest.startsWith(prefix.toLowerCase())) {
      throw new WeightsError(`SHA-256 ${digest} is not ${tag.name}'s (${prefix})`, { file, fix: `check that this is ${tag.name}'s checkpoint` });
    }
  }
  const dest = cachePathFor(w);
  await mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.add-${process.pid}.tmp`;
  try {
    await copyFile(file, tmp);
    // A download record of another file would make the new one look wrong.
    await rm(metaPathFor(dest), { force: true });
    await rename(tmp, dest);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new WeightsError(`cannot write to the cache (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { file: dest, fix: 'check ZOO_CACHE and its permissions' });
  }
  return dest;
}
