/** `zoo list`: every model and pretrained tag with published top-1/top-5 and parameter count. */
import { Command, Option } from 'commander';
import { allTags } from '../models/registry.js';
import { tagJson } from './catalogue.js';
import { millions, pct, renderTable } from './format.js';
import type { Io, Wrap } from './main.js';

interface ListFlags {
  json?: boolean;
  filter?: string;
}

export function listCommand(io: Io, wrap: Wrap): Command {
  return new Command('list')
    .description('list models, their pretrained tags, published top-1/top-5 and parameter counts')
    .addOption(new Option('--json', 'print the catalogue as JSON'))
    .addOption(new Option('--filter <text>', 'only models whose name contains this text'))
    .addHelpText('after', '\nExample:\n  zoo list\n  zoo list --filter rexnet --json\n')
    .action(
      wrap(async (flags: ListFlags) => {
        const tags = allTags().filter((t) => !flags.filter || t.name.includes(flags.filter));
        const rows = await Promise.all(tags.map((t) => tagJson(t, true)));
        if (flags.json) {
          io.stdout.write(JSON.stringify(rows, null, 2) + '\n');
          return 0;
        }
        const table = rows.map((r) => [
          r.model,
          r.tag + (r.default ? ' *' : ''),
          pct(r.published?.top1),
          pct(r.published?.top5),
          millions(r.params) === '-' && r.published?.paramsM ? r.published.paramsM.toFixed(2) : millions(r.params),
          String(r.evalConfig.inputSize[1]),
          r.weights.kind === 'manual' ? 'manual' : r.cached ? 'cached' : r.weights.kind,
          r.implemented ? '' : 'not implemented',
        ]);
        io.stdout.write(
          renderTable(['model', 'tag', 'top-1', 'top-5', 'params(M)', 'size', 'weights', ''], table, [
            'left', 'left', 'right', 'right', 'right', 'right', 'left', 'left',
          ]),
        );
        io.stdout.write(
          `\n${rows.length} pretrained tags; * marks the default tag of a model. top-1/top-5: published on ImageNet val at the tag's eval size.\n` +
            "weights: hf (downloaded from Hugging Face), url (torchvision), manual (pass --weights FILE; see `zoo info <model>`), cached.\n",
        );
        return 0;
      }),
    );
}
