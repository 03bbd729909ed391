/** `zoo info <model>`: params, GMACs, eval config, weights source and cache, published numbers. */
import { Command } from 'commander';
import { findArchitecture } from '../models/architectures.js';
import { resolveModel, tagsOf } from '../models/registry.js';
import { tagJson } from './catalogue.js';
import { pct, renderTable } from '../util/format.js';
import { jsonOption, jsonToStdout, writeJsonOut, type JsonFlag } from './json-out.js';
import type { Io, Wrap } from './main.js';
import { describeSource } from '../models/weights/source.js';
import { describeConfig } from './options.js';
import { infoModelFile, isModelFileSpec } from './info-file.js';

export function infoCommand(io: Io, wrap: Wrap): Command {
  return new Command('info')
    .description('show a model: parameters, GMACs at the eval size, eval config, weights source, published accuracy')
    .argument('<model>', 'architecture (its default tag) or arch.tag, e.g. rexnet_100 or rexnet_100.nav_in1k; or a model file (.onnx, TF.js model.json, or a folder)')
    .addOption(jsonOption('the model'))
    .addHelpText('after', '\nExample:\n  zoo info rexnet_100\n  zoo info cdnv2_c --json\n')
    .action(
      wrap(async (spec: string, flags: { json?: JsonFlag }) => {
        if (isModelFileSpec(spec)) return infoModelFile(spec, flags, io);
        const m = resolveModel(spec);
        const t = m.tag;
        const j = await tagJson(t, true);
        await writeJsonOut(flags.json, j, io);
        if (jsonToStdout(flags.json)) return 0;
        const arch = findArchitecture(t.arch);
        const size = t.evalConfig.inputSize;
        const lines: [string, string][] = [
          ['model', `${t.name}${t.isDefault ? ` (default tag of ${t.arch})` : ''}`],
          ['family', arch ? `${arch.family} (${arch.naming} naming)` : t.weights.kind === 'embedded' ? 'a model file shipped with zoo (ONNX, runs on onnxruntime)' : 'not implemented in this build'],
          ['params', j.params === null ? '-' : j.params.toLocaleString('en-US')],
          ['GMACs', j.gmacs === null ? '-' : `${j.gmacs.toFixed(3)} at ${size[1]}x${size[2]}`],
          ['eval config', describeConfig(t.evalConfig)],
        ];
        if (t.trainInputSize) lines.push(['train size', `${t.trainInputSize[1]}x${t.trainInputSize[2]} (timm evaluates at the test size above)`]);
        lines.push(['weights', describeSource(t.weights)]);
        lines.push(['cached', t.weights.kind === 'manual' ? 'n/a (pass --weights FILE)' : t.weights.kind === 'embedded' ? `shipped with zoo (${j.cached ?? 'missing: reinstall zoo'})` : (j.cached ?? 'no')]);
        lines.push(['origin', t.origin + (t.license ? ` (license ${t.license})` : '')]);
        if (t.note) lines.push(['note', t.note]);
        const w = Math.max(...lines.map(([k]) => k.length));
        io.stdout.write(lines.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n');

        io.stdout.write('\npublished:\n');
        if (t.published.length === 0) io.stdout.write('  none\n');
        else {
          const rows = t.published.map((r) => [
            r.source,
            r.dataset,
            String(r.imgSize),
            r.cropPct.toString(),
            r.interpolation ?? '-',
            pct(r.top1),
            pct(r.top5),
            r === j.published ? '<- compared' : '',
          ]);
          io.stdout.write(
            renderTable(['source', 'dataset', 'size', 'crop', 'interp', 'top-1', 'top-5', ''], rows, [
              'left', 'left', 'right', 'right', 'left', 'right', 'right', 'left',
            ]).replace(/^(?=.)/gm, '  '),
          );
        }
        const others = tagsOf(t.arch).filter((o) => o.name !== t.name);
        if (others.length > 0) io.stdout.write(`\nother tags: ${others.map((o) => o.tag).join(', ')}\n`);
        return 0;
      }),
    );
}
