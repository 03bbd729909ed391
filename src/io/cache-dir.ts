/**
 * Where zoo keeps what it downloads or derives between runs: `$ZOO_CACHE`, else
 * `$XDG_CACHE_HOME/zoo`, else `~/.cache/zoo`. Below both its users: the weights cache
 * (models/weights/cache.ts: `huggingface/`, `url/`), the gzip spool (data/spool.ts: `spool/`) and a
 * sweep's shared crops (run/group-crops.ts: `sweep-crops/`);
 * the other ecosystems' caches (Hugging Face, torch.hub) start from the same XDG root.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$XDG_CACHE_HOME`, else `~/.cache`: the root every cache on this machine starts from. */
export function userCacheHome(): string {
  return process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
}

/** zoo's own cache folder. */
export function cacheDir(): string {
  return process.env.ZOO_CACHE || join(userCacheHome(), 'zoo');
}
