/**
 * Where downloaded weights live, below zoo's cache folder (io/cache-dir.ts):
 *
 *   <cache>/huggingface/<owner>/<repo>/<revision>/<file>   Hugging Face files
 *   <cache>/url/<host>/<path>                              direct URLs (torchvision)
 *
 * A file is only ever present under its final name once it was downloaded completely and
 * verified (hub.ts writes `<file>.part` and renames). Beside it, `<file>.meta.json` records what
 * the server said about it (DownloadMeta). A file is used (and listed as cached) only while it
 * still passes cachedDefect: the sizes known for it and a cheap format check (verify.ts).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { WeightsError } from '../../errors.js';
import { cacheDir } from '../../io/cache-dir.js';
import { hubEndpoint } from './ecosystem.js';
import type { WeightsSource } from './source.js';
import { checkpointDefect } from './verify.js';

export type DownloadableSource = Exclude<WeightsSource, { kind: 'manual' } | { kind: 'embedded' }>;

/** The URL a source downloads from. */
export function sourceUrl(source: DownloadableSource): string {
  if (source.kind === 'url') return source.url;
  const path = source.file.split('/').map(encodeURIComponent).join('/');
  return `${hubEndpoint()}/${source.repo}/resolve/${encodeURIComponent(source.revision ?? 'main')}/${path}`;
}

/** One path segment, safe on every file system and never "." or "..". */
function segment(s: string, what: string): string {
  const safe = s.replace(/[^A-Za-z0-9._+=@-]/g, '_');
  if (safe === '' || safe === '.' || safe === '..') {
    throw new WeightsError(`bad ${what} "${s}" in a weights source`, { fix: 'this is a bug in the model catalogue; please report it' });
  }
  return safe;
}

function segments(path: string, what: string): string[] {
  return path
    .split('/')
    .filter((p) => p !== '')
    .map((p) => segment(decodeURIComponentSafe(p), what));
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The cache path a source downloads to (whether or not it is there yet). */
export function cachePathFor(source: DownloadableSource): string {
  if (source.kind === 'hf') {
    return join(
      cacheDir(),
      'huggingface',
      ...segments(source.repo, 'repo'),
      segment(source.revision ?? 'main', 'revision'),
      ...segments(source.file, 'file'),
    );
  }
  let url: URL;
  try {
    url = new URL(source.url);
  } catch {
    throw new WeightsError(`bad weights URL ${source.url}`, { fix: 'this is a bug in the model catalogue; please report it' });
  }
  const path = segments(url.pathname, 'URL path');
  if (path.length === 0) path.push('index');
  return join(cacheDir(), 'url', segment(url.host, 'host'), ...path);
}

/** What the server said about a downloaded file (its ETag, Hugging Face's X-Linked-* headers). */
export interface DownloadMeta {
  url: string;
  size: number;
  etag?: string;
  /** X-Linked-Etag: the LFS object's SHA-256. */
  linked_etag?: string;
  /** X-Linked-Size: the LFS object's size. */
  linked_size?: number;
}

export function metaPathFor(file: string): string {
  return `${file}.meta.json`;
}

function readMeta(file: string): Partial<DownloadMeta> {
  try {
    const m = JSON.parse(readFileSync(metaPathFor(file), 'utf8')) as unknown;
    return typeof m === 'object' && m !== null ? (m as Partial<DownloadMeta>) : {};
  } catch {
    return {};
  }
}

/**
 * Why the cached file at `path` (which exists) must not be used, or undefined when it may: its
 * size differs from the catalogue's or from the recorded download's, or it is no whole checkpoint.
 */
export function cachedDefect(source: DownloadableSource, path: string): string | undefined {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    return `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
  if (source.size !== undefined && size !== source.size) return `${size} bytes, the catalogue says ${source.size}`;
  const meta = readMeta(path);
  for (const recorded of [meta.size, meta.linked_size]) {
    if (typeof recorded === 'number' && recorded !== size) return `${size} bytes, ${recorded} were downloaded`;
  }
  return checkpointDefect(path);
}

/**
 * The cached file for a source, if it is there and usable (cachedDefect): `zoo info` and
 * `zoo list` say "cached" only for a file a run would use.
 */
export function cachedPath(source: WeightsSource): string | undefined {
  if (source.kind === 'manual' || source.kind === 'embedded') return undefined;
  const path = cachePathFor(source);
  if (!existsSync(path)) return undefined;
  return cachedDefect(source, path) === undefined ? path : undefined;
}
