/**
 * Weights where the Python ecosystem already keeps them. A timm user has downloaded
 * `models--timm--rexnet_100.nav_in1k` into the Hugging Face Hub cache, a torchvision user
 * `resnext50_32x4d-1a0047aa.pth` into torch.hub's checkpoints folder; zoo uses those files
 * (read-only, verified like a download) instead of fetching them again, and writes its own Hub
 * downloads in the Hub's layout so Python finds them too:
 *
 *   $HF_HUB_CACHE (else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub)
 *     models--<owner>--<repo>/refs/<revision>          the commit the revision points at
 *     models--<owner>--<repo>/snapshots/<commit>/<file>  a symlink to ../../blobs/<etag>
 *     models--<owner>--<repo>/blobs/<etag>               the bytes (<etag> is the SHA-256 for LFS files)
 *   $TORCH_HOME/hub/checkpoints/<file> (else $XDG_CACHE_HOME/torch/..., else ~/.cache/torch/...)
 *
 * The standard variables mean what they mean to huggingface_hub: HF_ENDPOINT (ZOO_HF_ENDPOINT
 * wins when both are set), HF_HUB_OFFLINE=1 (never download), HF_TOKEN (gated or private repos;
 * sent to the Hub's own host only, never printed or written).
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { copyFile, link, mkdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { userCacheHome } from '../../io/cache-dir.js';
import { sha256PrefixOf, type WeightsSource } from './source.js';
import { sha256OfFile } from './verify.js';

type HfSource = Extract<WeightsSource, { kind: 'hf' }>;
type UrlSource = Extract<WeightsSource, { kind: 'url' }>;

/** The Hugging Face Hub cache folder, as huggingface_hub resolves it. */
export function hubCacheDir(): string {
  if (process.env.HF_HUB_CACHE) return process.env.HF_HUB_CACHE;
  if (process.env.HF_HOME) return join(process.env.HF_HOME, 'hub');
  return join(userCacheHome(), 'huggingface', 'hub');
}

/** torch.hub's checkpoints folder, as torch resolves it. */
export function torchCheckpointsDir(): string {
  const home = process.env.TORCH_HOME || join(userCacheHome(), 'torch');
  return join(home, 'hub', 'checkpoints');
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);

/** HF_HUB_OFFLINE=1: huggingface_hub's "never touch the network", honoured the same way. */
export function hubOffline(): boolean {
  return TRUE.has((process.env.HF_HUB_OFFLINE ?? '').trim().toLowerCase());
}

/** The Hub endpoint: ZOO_HF_ENDPOINT, else HF_ENDPOINT, else https://huggingface.co. */
export function hubEndpoint(): string {
  return (process.env.ZOO_HF_ENDPOINT || process.env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, '');
}

/**
 * Authorization for a request to `url`: HF_TOKEN, only to the Hub endpoint's own origin (a redirect
 * to a CDN or another host never carries it).
 */
export function hubAuthHeaders(url: string): Record<string, string> {
  const token = process.env.HF_TOKEN?.trim();
  if (!token) return {};
  try {
    return new URL(url).origin === new URL(hubEndpoint()).origin ? { authorization: `Bearer ${token}` } : {};
  } catch {
    return {};
  }
}

function repoFolder(repo: string): string {
  return `models--${repo.split('/').join('--')}`;
}

const COMMIT = /^[0-9a-f]{40}$/;
const SHA256 = /^[0-9a-f]{64}$/;

/** Where a Hub file would be in the Hub cache (whether or not it is there). */
export function hubSnapshotPath(source: HfSource): string | undefined {
  const root = join(hubCacheDir(), repoFolder(source.repo));
  const revision = source.revision ?? 'main';
  let commit = revision;
  if (!COMMIT.test(revision)) {
    try {
      commit = readFileSync(join(root, 'refs', revision), 'utf8').trim();
    } catch {
      return undefined;
    }
    if (!COMMIT.test(commit)) return undefined;
  }
  return join(root, 'snapshots', commit, ...source.file.split('/'));
}

/** A file found in one of the ecosystem's caches, and which. */
export interface FoundWeights {
  path: string;
  /** `Hugging Face Hub cache` or `torch.hub cache`. */
  where: string;
}

/** The candidate file for a source in the ecosystem's caches, unverified (for `zoo list`'s "cached"). */
export function ecosystemCandidate(source: WeightsSource): FoundWeights | undefined {
  if (source.kind === 'hf') {
    const path = hubSnapshotPath(source);
    return path && isFile(path) ? { path, where: 'Hugging Face Hub cache' } : undefined;
  }
  if (source.kind === 'url') {
    const path = torchCachePath(source);
    return path && isFile(path) ? { path, where: 'torch.hub cache' } : undefined;
  }
  return undefined;
}

function torchCachePath(source: UrlSource): string | undefined {
  try {
    const name = basename(new URL(source.url).pathname);
    return name ? join(torchCheckpointsDir(), name) : undefined;
  } catch {
    return undefined;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The source's file from the ecosystem's caches, verified as a download would be: size (the
 * catalogue's), SHA-256 (the catalogue's; the Hub blob's name, which is its SHA-256 for LFS
 * files; torchvision's hash prefix in the file name). A file that fails is not used (and, being
 * someone else's cache, not touched): `why` says what was wrong.
 */
export async function findInEcosystem(source: WeightsSource): Promise<(FoundWeights & { rejected?: string }) | undefined> {
  const found = ecosystemCandidate(source);
  if (!found || source.kind === 'manual') return undefined;
  const size = statSync(found.path).size;
  if (source.size !== undefined && size !== source.size) return { ...found, rejected: `${size} bytes, expected ${source.size}` };
  let want = source.sha256?.toLowerCase();
  let prefix: string | undefined;
  if (!want && source.kind === 'hf') {
    const blob = basename(realpathSync(found.path));
    if (SHA256.test(blob)) want = blob;
  }
  if (source.kind === 'url') prefix = sha256PrefixOf(source);
  if (want || prefix) {
    const digest = await sha256OfFile(found.path);
    if (want && digest !== want) return { ...found, rejected: `SHA-256 ${digest}, expected ${want}` };
    if (prefix && !digest.startsWith(prefix)) return { ...found, rejected: `SHA-256 ${digest}, its name says ${prefix}...` };
  }
  return found;
}

/**
 * Puts a verified Hub download into the Hub cache layout: blobs/<etag> (a hard link to zoo's copy
 * where the file system allows, else a copy), snapshots/<commit>/<file> -> ../../blobs/<etag>, and
 * refs/<revision> = <commit>. Returns the snapshot path, or undefined when the Hub cache cannot be
 * written (zoo's own copy is used then). Needs the commit (Hugging Face's X-Repo-Commit header).
 */
export async function publishToHubCache(source: HfSource, file: string, commit: string, etag: string): Promise<string | undefined> {
  if (!COMMIT.test(commit)) return undefined;
  const root = join(hubCacheDir(), repoFolder(source.repo));
  const blob = join(root, 'blobs', etag);
  const snapshot = join(root, 'snapshots', commit, ...source.file.split('/'));
  try {
    await mkdir(dirname(blob), { recursive: true });
    if (!existsSync(blob)) {
      const tmp = `${blob}.incomplete-${process.pid}`;
      await link(file, tmp).catch(() => copyFile(file, tmp));
      await rename(tmp, blob);
    }
    await mkdir(dirname(snapshot), { recursive: true });
    const target = relative(dirname(snapshot), blob);
    if ((await readlink(snapshot).catch(() => undefined)) !== target) {
      await rm(snapshot, { force: true });
      await symlink(target, snapshot);
    }
    const revision = source.revision ?? 'main';
    if (!COMMIT.test(revision)) {
      await mkdir(join(root, 'refs'), { recursive: true });
      await writeFile(join(root, 'refs', revision), commit);
    }
    return snapshot;
  } catch {
    return undefined;
  }
}
