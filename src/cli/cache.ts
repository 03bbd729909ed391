/**
 * `zoo cache`: where each tag's weights file was found: the Hugging Face Hub cache, torch.hub's
 * checkpoints, zoo's own cache, shipped inside the package, or nowhere yet (issue 10.14). Listing
 * is cheap: files are located, not hashed (a run verifies the one it uses). With `--crop-cache DIR`
 * also what a crop cache holds; `zoo cache prune` and `zoo cache add` look after both (issue 12).
 * The work is in src/data/crop-cache.ts and src/models/weights/cache-admin.ts; this file turns flags
 * into calls and prints.
 */
import { statSync } from 'node:fs';
import { Command, Option } from 'commander';
import { pruneCropCache, surveyCropCache, type CropCacheSurvey } from '../data/crop-cache.js';
import { UsageError } from '../errors.js';
import { addToCache, pruneWeightsCache } from '../models/weights/cache-admin.js';
import type { HostTensor } from '../models/graph.js';
import { resolveModel } from '../models/registry.js';
import { buildGraph } from '../run/model-source.js';
import { allTags } from '../models/registry.js';
import { hubCacheDir, torchCheckpointsDir } from '../models/weights/ecosystem.js';
import { cacheDir } from '../io/cache-dir.js';
import { humanBytes, renderTable } from '../util/format.js';
import { jsonOption, jsonToStdout, writeJsonOut, type JsonFlag } from './json-out.js';
import type { Io, Wrap } from './main.js';
import { nameMatcher } from './list.js';
import { findWeightsFile, type FoundWeightsFile } from './catalogue.js';

export interface CacheEntry {
  name: string;
  /** hub (Hugging Face Hub cache), torch (torch.hub), zoo (zoo's cache), embedded, or null (not cached). */
  found_in: FoundWeightsFile['found_in'] | null;
  path: string | null;
  /** The file's size in bytes (null when not cached). */
  bytes: number | null;
}

function sizeOf(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}

async function cacheEntries(): Promise<CacheEntry[]> {
  const out: CacheEntry[] = [];
  for (const t of allTags()) {
    if (t.weights.kind === 'manual') continue;
    const f = await findWeightsFile(t.weights);
    out.push(f ? { name: t.name, found_in: f.found_in, path: f.path, bytes: sizeOf(f.path) } : { name: t.name, found_in: null, path: null, bytes: null });
  }
  return out;
}

/** `--older-than DAYS`: a non-negative number of days. */
function days(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`--older-than: '${v}' is not a number of days`, { fix: 'pass e.g. --older-than 30' });
  return n;
}

function printCropSurvey(io: Io, s: CropCacheSurvey): void {
  io.stdout.write(
    renderTable(
      ['crop config', 'entries', 'size'],
      s.configs.map((c) => [c.config, String(c.entries), humanBytes(c.bytes)]),
      ['left', 'right', 'right'],
    ),
  );
  const span = s.oldest === null ? '' : `, written ${new Date(s.oldest).toISOString().slice(0, 10)} to ${new Date(s.newest!).toISOString().slice(0, 10)}`;
  io.stderr.write(`crop cache ${s.dir}: ${s.entries} entries, ${humanBytes(s.bytes)}${s.temps ? `, ${s.temps} temporary file(s)` : ''}${span}\n`);
}

interface ListFlags {
  json?: JsonFlag;
  cropCache?: string;
}

/**
 * Flags of a subcommand together with those the `cache` command took: commander gives a parent's
 * options (`--crop-cache`, `--json`) to the parent even when they come after the subcommand.
 */
function allFlags<T>(cmd: Command): T {
  return cmd.optsWithGlobals<T & Record<string, unknown>>();
}

function listAction(io: Io) {
  return async (filter: string | undefined, _flags: ListFlags, cmd: Command) => {
    const flags = allFlags<ListFlags>(cmd);
    const crop = flags.cropCache === undefined ? undefined : surveyCropCache(flags.cropCache);
    const match = filter === undefined ? () => true : nameMatcher(filter);
    const names = new Set(allTags().filter(match).map((t) => t.name));
    const entries = (await cacheEntries()).filter((e) => names.has(e.name) && e.found_in !== null);
    // The JSON stays the weights list alone without --crop-cache (its shape since issue 10).
    await writeJsonOut(flags.json, crop ? { weights: entries, crop_cache: crop } : entries, io);
    if (jsonToStdout(flags.json)) return 0;
    if (crop) {
      printCropSurvey(io, crop);
      return 0;
    }
    io.stdout.write(renderTable(['tag', 'found in', 'file', 'size'], entries.map((e) => [e.name, e.found_in ?? '-', e.path ?? '-', e.bytes === null ? '-' : humanBytes(e.bytes)])));
    io.stderr.write(
      `${entries.length} tag(s) with weights on this machine. Searched: Hugging Face Hub cache ${hubCacheDir()}, torch.hub ${torchCheckpointsDir()}, zoo ${cacheDir()}\n`,
    );
    return 0;
  };
}

interface PruneFlags {
  cropCache?: string;
  olderThan?: number;
  all?: boolean;
  dryRun?: boolean;
}

const cropCacheOption = () => new Option('--crop-cache <dir>', 'a crop cache directory (the --crop-cache of zoo eval)');

export function cacheCommand(io: Io, wrap: Wrap): Command {
  const cache = new Command('cache')
    .description("show where each tag's weights file was found (Hugging Face Hub cache, torch.hub, zoo's cache), and crop caches; prune or add to them")
    .enablePositionalOptions()
    .argument('[filter]', 'only tags matching this text or glob (case-insensitive)')
    .addOption(jsonOption('the list'))
    .addOption(cropCacheOption())
    .addHelpText(
      'after',
      '\nExamples:\n  zoo cache\n  zoo cache rexnet --json\n  zoo cache --crop-cache ./crops\n  zoo cache prune --crop-cache ./crops --older-than 30\n  zoo cache add rexnet_100.nav_in1k ./model.safetensors\n',
    )
    .action(wrap(listAction(io)));
  cache.addCommand(
    new Command('list')
      .description('the same as zoo cache: weights found, or with --crop-cache what a crop cache holds')
      .argument('[filter]', 'only tags matching this text or glob (case-insensitive)')
      .addOption(jsonOption('the list'))
      .addOption(cropCacheOption())
      .action(wrap(listAction(io))),
  );
  cache.addCommand(
    new Command('prune')
      .description("delete what no run will use: crop entries (with --crop-cache and --older-than or --all) and, in zoo's weights cache, .bad files, abandoned .part downloads and orphaned .meta.json")
      .addOption(cropCacheOption())
      .addOption(new Option('--older-than <days>', 'crop entries written more than DAYS days ago').argParser(days))
      .option('--all', 'every crop entry')
      .option('--dry-run', "say what would go, delete nothing (weights cache; crop entries are counted only)")
      .action(
        wrap(async (_flags: PruneFlags, cmd: Command) => {
          const flags = allFlags<PruneFlags>(cmd);
          if (flags.cropCache !== undefined && flags.olderThan === undefined && !flags.all) {
            throw new UsageError('zoo cache prune --crop-cache: say which entries go', { fix: 'add --older-than DAYS or --all' });
          }
          if (flags.cropCache === undefined && (flags.olderThan !== undefined || flags.all)) {
            throw new UsageError('--older-than and --all are for crop entries', { fix: 'add --crop-cache DIR' });
          }
          if (flags.cropCache !== undefined) {
            if (flags.dryRun) {
              const s = surveyCropCache(flags.cropCache);
              io.stderr.write(`crop cache ${s.dir}: ${s.entries} entries, ${humanBytes(s.bytes)} (dry run: nothing deleted)\n`);
            } else {
              const cutoff = flags.all ? null : Date.now() - flags.olderThan! * 86_400_000;
              const r = pruneCropCache(flags.cropCache, cutoff);
              io.stdout.write(`crop cache ${flags.cropCache}: removed ${r.removed} file(s), ${humanBytes(r.bytes)}\n`);
            }
          }
          const gone = pruneWeightsCache(flags.dryRun ?? false);
          for (const g of gone) io.stdout.write(`${flags.dryRun ? 'would remove' : 'removed'} ${g.why} ${g.file} (${humanBytes(g.bytes)})\n`);
          io.stdout.write(`weights cache ${cacheDir()}: ${gone.length} file(s) ${flags.dryRun ? 'to remove' : 'removed'}, ${humanBytes(gone.reduce((a, g) => a + g.bytes, 0))}\n`);
          return 0;
        }),
      ),
  );
  cache.addCommand(
    new Command('add')
      .description('put a checkpoint you downloaded by hand where zoo eval (and --offline) finds the tag\'s weights; it is checked first')
      .argument('<model>', 'arch.tag (or arch, its default tag)')
      .argument('<file>', 'the checkpoint (.safetensors, .pth)')
      .action(
        wrap(async (model: string, file: string) => {
          const resolved = resolveModel(model);
          const { tag } = resolved;
          // The weights must fit the architecture (names and shapes), as a run would check them.
          const size = [tag.evalConfig.inputSize[1], tag.evalConfig.inputSize[2]] as const;
          const fits = resolved.architecture ? (t: ReadonlyMap<string, HostTensor>) => void buildGraph(resolved, size, t, file) : undefined;
          const dest = await addToCache(tag, file, fits);
          io.stdout.write(`${tag.name}: ${dest}\n`);
          return 0;
        }),
      ),
  );
  return cache;
}
