/**
 * `zoo report RESULT.json [MORE.json ...] --output report.html`: one self-contained HTML page from
 * zoo results (eval, merge, sweeps). src/report builds it; this module is flags and writing.
 * (src/cli/report.ts is the eval result and its terminal table, a different thing.)
 */
import { Command, Option } from 'commander';
import { ExitCode, UsageError } from '../errors.js';
import type { Io, Wrap } from './main.js';
import { positiveInt } from './options.js';
import { planOutputs, writeOutput, type InputRef } from '../io/output.js';

export interface HtmlReportFlags {
  output?: string;
  examples?: number;
  predictions?: string[];
  data?: string;
}

export function reportCommand(io: Io, wrap: Wrap): Command {
  return new Command('report')
    .description('write an HTML page (self-contained, no network) from zoo eval / merge / sweep --json results')
    .argument('<results...>', 'result files written by zoo eval --json or zoo merge --json')
    .addOption(new Option('-o, --output <file>', 'the HTML file to write (- for stdout)'))
    .addOption(new Option('--examples <n>', "show thumbnails of the n most confident mistakes and of the n worst classes (from each result's per_image, or --predictions)").argParser(positiveInt))
    .addOption(new Option('--predictions <files...>', 'the per-image predictions CSV of each run (zoo eval --predictions), in the order of the runs; they rank mistakes by confidence'))
    .addOption(new Option('--data <dir>', 'the image folder for --examples (default: the data root each result records)'))
    .addHelpText('after', '\nExample:\n  zoo eval rexnet_100 --data ./val --json r.json --predictions p.csv\n  zoo report r.json --output report.html --examples 12 --predictions p.csv\n')
    .action(wrap((files: string[], flags: HtmlReportFlags) => runHtmlReport(files, flags, io)));
}

export async function runHtmlReport(files: readonly string[], flags: HtmlReportFlags, io: Io): Promise<number> {
  if (!flags.output) throw new UsageError('zoo report needs --output', { expected: '--output report.html (or - for stdout)', fix: 'add --output FILE' });
  // The output is checked before any work, and may not replace a result or predictions file read here.
  const inputs: InputRef[] = [
    ...files.map((path): InputRef => ({ flag: '<results>', path, kind: 'file' })),
    ...(flags.predictions ?? []).map((path): InputRef => ({ flag: '--predictions', path, kind: 'file' })),
    ...(flags.data ? [{ flag: '--data', path: flags.data, kind: 'tree' } as InputRef] : []),
  ];
  const out = (await planOutputs([{ flag: '--output', path: flags.output }], inputs)).get('--output')!;
  const { buildReport, readSource } = await import('../report/build.js');
  const sources = [];
  for (const f of files) sources.push(await readSource(f));
  const html = await buildReport(sources, flags.examples ? { count: flags.examples, predictions: flags.predictions ?? [], ...(flags.data ? { data: flags.data } : {}) } : undefined);
  await writeOutput(out, html);
  if (out.kind === 'file') io.stderr.write(`zoo: wrote ${flags.output} (${(Buffer.byteLength(html) / 1024).toFixed(0)} KiB)\n`);
  return ExitCode.OK;
}
