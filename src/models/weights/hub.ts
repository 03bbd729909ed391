/**
 * Downloads pretrained weights into the cache (cache.ts), safely:
 *
 * - written to `<file>.part`, renamed to `<file>` only after it is complete and verified, so a
 *   cached file is always a whole, checked one;
 * - an interrupted download leaves its `.part`; the next call resumes it with an HTTP Range
 *   request (If-Range with the first response's ETag, so a file changed upstream restarts
 *   instead of splicing two versions), and copes with a server that ignores Range (200: start
 *   over) or refuses it (416: start over);
 * - verified by size (the catalogue's, Content-Length / Content-Range, Hugging Face's
 *   X-Linked-Size) and by SHA-256 where one is known (the catalogue's, Hugging Face's
 *   X-Linked-Etag for LFS files, torchvision's 8-hex-digit prefix in the file name); a file
 *   that fails is deleted and never used;
 * - a download nobody can verify by hash (no catalogue hash, no X-Linked-Etag: most Hugging
 *   Face tags) must at least be a whole checkpoint in its format (verify.ts) before the rename;
 * - bounded in time (download-limits.ts: idle timeout, minimum rate over a window, deadline),
 *   one process per file at a time (download-lock.ts);
 * - the response's ETag / X-Linked-Etag / X-Linked-Size are recorded beside the file
 *   (`<file>.meta.json`, cache.ts) and checked whenever the cached file is used; a cached file
 *   that fails those checks or its format check is moved aside to `<file>.bad` and fetched again.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { WeightsError } from '../../errors.js';
import { embeddedPath } from './embedded.js';
import { cachedDefect, cachePathFor, metaPathFor, sourceUrl, type DownloadableSource, type DownloadMeta } from './cache.js';
import { DownloadWatchdog, downloadLimits, type DownloadLimits } from './download-limits.js';
import { lockDownload } from './download-lock.js';
import { findInEcosystem, hubAuthHeaders, hubOffline, publishToHubCache } from './ecosystem.js';
import { proxiedFetch } from './proxy-fetch.js';
import { sha256PrefixOf, type WeightsSource } from './source.js';
import { checkpointDefect, hashFileInto } from './verify.js';

export { cachedPath } from './cache.js';

export interface FetchOptions {
  /** Never touch the network: the cached file or an error. */
  offline?: boolean;
  /** Bytes received so far (including a resumed part) and the total when known. */
  onProgress?: (received: number, total: number | undefined) => void;
  signal?: AbortSignal;
  /** Give up (keeping the .part for a resume) when no byte arrives for this long; default 60 s. */
  idleTimeoutMs?: number;
  /** A line for the user (stderr): waiting for another download, a lock or a cached file set aside. */
  onNotice?: (line: string) => void;
}

const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

const MAX_REDIRECTS = 10;
const SHA256 = /^"?([0-9a-f]{64})"?$/;

/** What we know a complete download must be. */
interface Expectation {
  size?: number;
  sha256?: string;
  sha256Prefix?: string;
}

export async function fetchWeights(source: WeightsSource, opts: FetchOptions = {}): Promise<string> {
  if (source.kind === 'manual') {
    throw new WeightsError(`these weights are a manual download: ${source.instructions} (from ${source.url})`, {
      file: source.url,
      fix: `download the file from ${source.url} and pass it with --weights FILE`,
    });
  }
  if (source.kind === 'embedded') return embeddedPath(source);
  const dest = cachePathFor(source);
  const url = sourceUrl(source);
  const limits = downloadLimits();
  // The Python ecosystem's caches first (Hub cache, torch.hub): the file a timm user already has.
  const eco = await findInEcosystem(source);
  if (eco && !eco.rejected) return eco.path;
  if (existsSync(dest)) {
    const defect = cachedDefect(source, dest);
    if (defect === undefined) return dest;
    await setAside(dest, defect, opts);
  }
  if (opts.offline || hubOffline()) {
    throw new WeightsError(`the weights are not in the cache and ${opts.offline ? '--offline' : 'HF_HUB_OFFLINE'} forbids downloading them`, {
      file: dest,
      fix: `run once without ${opts.offline ? '--offline' : 'HF_HUB_OFFLINE'} to download ${url}, point ${source.kind === 'hf' ? 'HF_HUB_CACHE/HF_HOME' : 'TORCH_HOME'} or ZOO_CACHE at a cache that has them, or pass --weights FILE${eco?.rejected ? ` (${eco.path} was found but not used: ${eco.rejected})` : ''}`,
    });
  }
  try {
    await mkdir(dirname(dest), { recursive: true });
  } catch (e) {
    throw new WeightsError(`cannot create the cache folder (${(e as NodeJS.ErrnoException).code ?? String(e)})`, {
      file: dirname(dest),
      fix: 'set ZOO_CACHE to a writable folder',
    });
  }
  const release = await lockDownload(dest, { signal: opts.signal, stallMs: 2 * limits.rateWindowMs, deadlineMs: limits.deadlineMs, onNotice: opts.onNotice });
  try {
    // Another process may have completed it while we waited for the lock.
    if (!existsSync(dest) || cachedDefect(source, dest) !== undefined) {
      const got = await download(source, url, dest, limits, opts);
      // Written in the Hub's layout too, so Python (timm, huggingface_hub) finds it.
      if (source.kind === 'hf' && got.commit) return (await publishToHubCache(source, dest, got.commit, got.sha256)) ?? dest;
    }
  } finally {
    await release();
  }
  return dest;
}

/**
 * A cached download a reader could not parse (its cheap checks passed): moved to `<file>.bad` so
 * the next fetchWeights downloads it again.
 */
export async function discardCached(source: WeightsSource, defect: string, onNotice?: (line: string) => void): Promise<void> {
  if (source.kind === 'manual' || source.kind === 'embedded') return;
  const dest = cachePathFor(source);
  if (existsSync(dest)) await setAside(dest, defect, onNotice ? { onNotice } : {});
}

/** A cached file that is not what was downloaded is moved to `<file>.bad` (kept for a look, never used). */
async function setAside(dest: string, defect: string, opts: FetchOptions): Promise<void> {
  try {
    await rename(dest, `${dest}.bad`);
    await rm(metaPathFor(dest), { force: true });
  } catch (e) {
    throw new WeightsError(`the cached weights are unusable (${defect}) and cannot be moved aside (${(e as NodeJS.ErrnoException).code ?? String(e)})`, {
      file: dest,
      fix: 'delete the file, or set ZOO_CACHE to a writable folder',
    });
  }
  opts.onNotice?.(`zoo: the cached ${dest} is unusable (${defect}); moved it to ${dest}.bad and fetching it again`);
}

interface Reply {
  res: Response;
  /** Hugging Face redirects carry the LFS object's SHA-256 and size. */
  linkedSha256?: string;
  linkedSize?: number;
  /** Hugging Face's X-Repo-Commit: the commit the revision resolved to. */
  commit?: string;
}

function networkError(url: string, e: unknown): WeightsError {
  const cause = e instanceof Error ? ((e.cause as Error | undefined)?.message ?? e.message) : String(e);
  return new WeightsError(`cannot download the weights: ${cause}`, {
    file: url,
    fix: 'check the network connection (and HF_ENDPOINT, HTTPS_PROXY), or download the file yourself and pass --weights FILE',
  });
}

/** GET with redirects followed by hand, so Hugging Face's X-Linked-* headers on the redirect are seen. */
async function get(url: string, headers: Record<string, string>, signal: AbortSignal | undefined): Promise<Reply> {
  let current = url;
  const reply: Omit<Reply, 'res'> = {};
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    let res: Response;
    try {
      // Proxy variables honoured; HF_TOKEN only to the Hub's own host.
      res = await proxiedFetch(current, { ...headers, ...hubAuthHeaders(current) }, signal);
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      throw networkError(current, e);
    }
    const sha = SHA256.exec(res.headers.get('x-linked-etag') ?? '')?.[1];
    if (sha) reply.linkedSha256 = sha;
    const size = Number(res.headers.get('x-linked-size') ?? NaN);
    if (Number.isSafeInteger(size) && size >= 0) reply.linkedSize = size;
    const commit = res.headers.get('x-repo-commit');
    if (commit && /^[0-9a-f]{40}$/.test(commit)) reply.commit = commit;
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      current = new URL(location, current).href;
      continue;
    }
    return { res, ...reply };
  }
  throw new WeightsError(`more than ${MAX_REDIRECTS} redirects`, { file: url, fix: 'check ZOO_HF_ENDPOINT or the proxy' });
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

function contentRange(h: string | null): { start: number; total: number | undefined } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(h?.trim() ?? '');
  if (!m) return undefined;
  return { start: Number(m[1]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

/** What a completed download was: its SHA-256 and, from Hugging Face, the commit it came from. */
interface Downloaded {
  sha256: string;
  commit?: string;
}

async function download(source: DownloadableSource, url: string, dest: string, limits: DownloadLimits, opts: FetchOptions): Promise<Downloaded> {
  const part = `${dest}.part`;
  /** The validator of the response a .part was started from, for If-Range. */
  const etagFile = `${part}.etag`;
  const want: Expectation = {
    ...(source.size !== undefined ? { size: source.size } : {}),
    ...(source.sha256 ? { sha256: source.sha256.toLowerCase() } : {}),
  };
  if (source.kind === 'url') {
    const prefix = sha256PrefixOf(source);
    if (prefix) want.sha256Prefix = prefix;
  }
  const fail = async (message: string, fix: string): Promise<never> => {
    await rm(part, { force: true });
    await rm(etagFile, { force: true });
    throw new WeightsError(message, { file: url, fix });
  };

  // A stalled or dripping server must not hang zoo: a watchdog aborts the request at a limit.
  const watchdog = new DownloadWatchdog(opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, limits, url);
  const signal = opts.signal ? AbortSignal.any([opts.signal, watchdog.signal]) : watchdog.signal;
  try {
    for (let attempt = 0; ; attempt++) {
      const have = attempt === 0 ? await sizeOf(part) : 0;
      const etag = have > 0 ? await readFile(etagFile, 'utf8').catch(() => '') : '';
      const headers: Record<string, string> = {};
      if (have > 0) {
        headers.Range = `bytes=${have}-`;
        if (etag) headers['If-Range'] = etag;
      }
      watchdog.received(0);
      let reply: Reply;
      try {
        reply = await get(url, headers, signal);
      } catch (e) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        if (watchdog.fired) throw watchdog.error();
        throw e;
      }
      const { res, linkedSha256, linkedSize, commit } = reply;
      let start = 0;
      let total: number | undefined;
      if (res.status === 206 && have > 0) {
        const range = contentRange(res.headers.get('content-range'));
        if (!range || range.start !== have) {
          await res.body?.cancel();
          if (attempt === 0) {
            await rm(part, { force: true });
            continue;
          }
          return fail(`the server answered a resume with an unexpected range (${res.headers.get('content-range')})`, 'run the command again');
        }
        start = have;
        const len = Number(res.headers.get('content-length') ?? NaN);
        total = range.total ?? (Number.isSafeInteger(len) ? have + len : undefined);
      } else if (res.status === 200) {
        // A fresh download, or a server that ignored the Range header: start over.
        const len = Number(res.headers.get('content-length') ?? NaN);
        total = Number.isSafeInteger(len) ? len : undefined;
      } else if (res.status === 416 && attempt === 0) {
        // The .part is no prefix of the file the server has now.
        await res.body?.cancel();
        await rm(part, { force: true });
        continue;
      } else {
        await res.body?.cancel();
        const fix =
          res.status === 401 || res.status === 403
            ? `the file needs a login or is gated: ${process.env.HF_TOKEN ? 'the token in HF_TOKEN has no access to it' : 'set HF_TOKEN to a Hugging Face token with access'}, or download it in a browser and pass --weights FILE`
            : res.status === 404
              ? 'the file is not there (renamed upstream?): download it yourself and pass --weights FILE'
              : 'try again later, or download the file yourself and pass --weights FILE';
        throw new WeightsError(`download failed: HTTP ${res.status} ${res.statusText}`, { file: url, fix });
      }
      const size = want.size ?? linkedSize;
      if (size !== undefined && total !== undefined && size !== total) {
        await res.body?.cancel();
        return fail(`the server offers ${total} bytes but the weights are ${size} bytes`, 'the file changed upstream or the server is wrong; try again later or pass --weights FILE');
      }
      const expectedTotal = size ?? total;
      const sha256 = want.sha256 ?? linkedSha256;

      const hash = createHash('sha256');
      if (start > 0) await hashFileInto(part, hash);
      else {
        const newTag = res.headers.get('etag');
        if (newTag && !newTag.startsWith('W/')) await writeFile(etagFile, newTag);
        else await rm(etagFile, { force: true });
      }
      const fh = await open(part, start > 0 ? 'a' : 'w');
      let received = start;
      watchdog.bodyStarts();
      opts.onProgress?.(received, expectedTotal);
      try {
        if (res.body) {
          for await (const chunk of res.body) {
            received += chunk.length;
            if (expectedTotal !== undefined && received > expectedTotal) {
              throw new WeightsError(`the server sent more than the ${expectedTotal} bytes announced`, { file: url });
            }
            await fh.write(chunk);
            hash.update(chunk);
            watchdog.received(chunk.length);
            opts.onProgress?.(received, expectedTotal);
          }
        }
      } catch (e) {
        await fh.close();
        if (opts.signal?.aborted) throw opts.signal.reason;
        if (watchdog.fired) throw watchdog.error();
        if (e instanceof WeightsError) return fail(e.message, 'try again later, or download the file yourself and pass --weights FILE');
        throw new WeightsError(
          `download interrupted after ${received} of ${expectedTotal ?? 'unknown'} bytes (${e instanceof Error ? ((e.cause as Error | undefined)?.message ?? e.message) : String(e)})`,
          { file: url, fix: 'run the command again: the download resumes where it stopped' },
        );
      }
      await fh.close();
      if (expectedTotal !== undefined && received < expectedTotal) {
        // The body ended early without an error: keep the part, the next call resumes it.
        throw new WeightsError(`download stopped after ${received} of ${expectedTotal} bytes`, {
          file: url,
          fix: 'run the command again: the download resumes where it stopped',
        });
      }
      const digest = hash.digest('hex');
      if (sha256 && digest !== sha256) {
        return fail(`SHA-256 mismatch: the download hashes to ${digest}, expected ${sha256}`, 'the file was corrupted or changed upstream; run again to download it afresh');
      }
      if (want.sha256Prefix && !digest.startsWith(want.sha256Prefix)) {
        return fail(
          `SHA-256 mismatch: the download hashes to ${digest}, its name says it starts with ${want.sha256Prefix}`,
          'the file was corrupted or changed upstream; run again to download it afresh',
        );
      }
      if (!sha256 && !want.sha256Prefix) {
        // Nothing to check it against: it must at least be a whole checkpoint, not an error page.
        const defect = checkpointDefect(part);
        if (defect !== undefined) {
          return fail(`the download is not a usable checkpoint: ${defect}`, 'the server sent something else (an error page?); try again later, or download the file yourself and pass --weights FILE');
        }
      }
      const meta: DownloadMeta = {
        url,
        size: received,
        ...(res.headers.get('etag') ? { etag: res.headers.get('etag')! } : {}),
        ...(linkedSha256 ? { linked_etag: linkedSha256 } : {}),
        ...(linkedSize !== undefined ? { linked_size: linkedSize } : {}),
      };
      await writeFile(metaPathFor(dest), `${JSON.stringify(meta, null, 2)}\n`);
      await rename(part, dest);
      await rm(etagFile, { force: true });
      return { sha256: digest, ...(commit ? { commit } : {}) };
    }
  } finally {
    watchdog.stop();
  }
}
