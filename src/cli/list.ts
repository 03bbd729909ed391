/** `zoo list`: every model and pretrained tag with published top-1/top-5 and parameter count. */
import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { allTags, type PretrainedTag } from '../models/registry.js';
import { tagJson } from './catalogue.js';
import { millions, pct, renderTable } from '../util/format.js';
import { jsonOption, jsonToStdout, writeJsonOut, type JsonFlag } from './json-out.js';
import type { Io, Wrap } from './main.js';
import { GLOB_CHARS, globRegex } from './model-specs.js';

interface ListFlags {
  json?: JsonFlag;
  filter?: string;
}

/**
 * A name filter: a glob (`*`, `?`, and `[...]` within one, read as `zoo eval` reads globs) matches
 * the whole model or `model.tag` name, plain text any part of it; both ignore case (`RESNEXT`, `'resnext*'`).
 */
export function nameMatcher(pattern: string): (t: PretrainedTag) => boolean {
  const p = pattern.trim().toLowerCase();
  if (GLOB_CHARS.test(p)) {
    const re = globRegex(p);
    return (t) => re.test(t.arch) || re.test(t.name);
  }
  return (t) => t.name.toLowerCase().includes(p);
}

export function listCommand(io: Io, wrap: Wrap): Command {
  return new Command('list')
    .description('list models, their pretrained tags, published top-1/top-5 and parameter counts')
    .argument('[filter]', "only models matching this text or glob (case-insensitive), e.g. rexnet or 'resnext*'")
    .addOption(jsonOption('the catalogue'))
    .addOption(new Option('--filter <text>', 'the same as the positional filter'))
    .addHelpText('after', "\nExamples:\n  zoo list\n  zoo list rexnet\n  zoo list 'resnext*' --json\n")
    .action(
      wrap(async (positional: string | undefined, flags: ListFlags) => {
        if (positional !== undefined && flags.filter !== undefined && positional !== flags.filter) {
          throw new UsageError(`two filters given ('${positional}' and --filter '${flags.filter}')`, { fix: 'pass one' });
        }
        const pattern = positional ?? flags.filter;
        const match = pattern === undefined ? () => true : nameMatcher(pattern);
        const tags = allTags().filter(match);
        const rows = await Promise.all(tags.map((t) => tagJson(t, true)));
        await writeJsonOut(flags.json, rows, io);
        if (jsonToStdout(flags.json)) return 0;
        const table = rows.map((r) => [
          r.model,
          r.tag,
          pct(r.published?.top1),
          pct(r.published?.top5),
          millions(r.params) === '-' && r.published?.paramsM ? r.published.paramsM.toFixed(2) : millions(r.params),
          String(r.evalConfig.inputSize[1]),
          r.weights.kind === 'manual' ? 'manual' : r.cached ? 'cached' : r.weights.kind,
          r.default ? '*' : '-',
          r.implemented ? '' : 'not implemented',
        ]);
        io.stdout.write(
          renderTable(['model', 'tag', 'top-1', 'top-5', 'params(M)', 'size', 'weights', 'default', ''], table, [
            'left', 'left', 'right', 'right', 'right', 'right', 'left', 'left', 'left',
          ]),
        );
        // The footer explains the table; it goes to stderr so `zoo list | awk` sees rows only.
        io.stderr.write(
          (rows.length === 0 ? `no model matches '${pattern}' (\`zoo list\` shows all)\n` : '') +
            `${rows.length} pretrained tags; default: * marks the tag \`zoo eval MODEL\` uses. top-1/top-5: published on ImageNet val at the tag's eval size.\n` +
            "weights: hf (downloaded from Hugging Face), url (torchvision), manual (pass --weights FILE; see `zoo info <model>`), cached.\n",
        );
        return 0;
      }),
    );
}
