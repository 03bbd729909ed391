/**
 * `zoo cache`: where each tag's weights file was found: the Hugging Face Hub cache, torch.hub's
 * checkpoints, zoo's own cache, shipped inside the package, or nowhere yet (issue 10.14). Listing
 * is cheap: files are located, not hashed (a run verifies the one it uses).
 */
import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { allTags } from '../models/registry.js';
import { cachedPath } from '../models/weights/cache.js';
import { ecosystemCandidate, hubCacheDir, torchCheckpointsDir } from '../models/weights/ecosystem.js';
import { cacheDir } from '../models/weights/cache.js';
import { renderTable } from '../util/format.js';
import { jsonOption, jsonToStdout, writeJsonOut, type JsonFlag } from './json-out.js';
import type { Io, Wrap } from './main.js';
import { nameMatcher } from './list.js';

export interface CacheEntry {
  name: string;
  /** hub (Hugging Face Hub cache), torch (torch.hub), zoo (zoo's cache), embedded, or null (not cached). */
  found_in: 'hub' | 'torch' | 'zoo' | 'embedded' | null;
  path: string | null;
}

export async function cacheEntries(): Promise<CacheEntry[]> {
  const out: CacheEntry[] = [];
  for (const t of allTags()) {
    const w = t.weights;
    if (w.kind === 'manual') continue;
    if (w.kind === 'embedded') {
      const { embeddedPath } = await import('../models/weights/embedded.js');
      out.push({ name: t.name, found_in: 'embedded', path: embeddedPath(w) });
      continue;
    }
    const eco = ecosystemCandidate(w);
    if (eco) {
      out.push({ name: t.name, found_in: w.kind === 'hf' ? 'hub' : 'torch', path: eco.path });
      continue;
    }
    const own = cachedPath(w);
    out.push(own && existsSync(own) ? { name: t.name, found_in: 'zoo', path: own } : { name: t.name, found_in: null, path: null });
  }
  return out;
}

export function cacheCommand(io: Io, wrap: Wrap): Command {
  return new Command('cache')
    .description("show where each tag's weights file was found: Hugging Face Hub cache, torch.hub, zoo's cache")
    .argument('[filter]', 'only tags matching this text or glob (case-insensitive)')
    .addOption(jsonOption('the list'))
    .addHelpText('after', "\nExamples:\n  zoo cache\n  zoo cache rexnet --json\n")
    .action(
      wrap(async (filter: string | undefined, flags: { json?: JsonFlag }) => {
        const match = filter === undefined ? () => true : nameMatcher(filter);
        const names = new Set(allTags().filter(match).map((t) => t.name));
        const entries = (await cacheEntries()).filter((e) => names.has(e.name) && e.found_in !== null);
        await writeJsonOut(flags.json, entries, io);
        if (jsonToStdout(flags.json)) return 0;
        io.stdout.write(renderTable(['tag', 'found in', 'file'], entries.map((e) => [e.name, e.found_in ?? '-', e.path ?? '-'])));
        io.stderr.write(
          `${entries.length} tag(s) with weights on this machine. Searched: Hugging Face Hub cache ${hubCacheDir()}, torch.hub ${torchCheckpointsDir()}, zoo ${cacheDir()}\n`,
        );
        return 0;
      }),
    );
}
