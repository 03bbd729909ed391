/**
 * `zoo compare baseline candidate`: two runs on the same images, image by image (agreement, accuracy
 * difference, McNemar's exact test, the flipped images). Exit 1 when the candidate is significantly
 * worse by more than --tolerance: the CI check after quantizing or exporting a model.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { ExitCode, UsageError } from '../errors.js';
import { readOutcomes } from '../metrics/outcomes-file.js';
import { DEFAULT_TOLERANCE } from '../run/checks.js';
import { comparePaired, renderPaired } from '../metrics/paired.js';
import { jsonOption, textStream, writeJsonOut, type JsonFlag } from './json-out.js';
import type { Io, Wrap } from './main.js';
import { tolerance } from './options.js';

interface CompareFlags {
  tolerance?: number;
  alpha?: number;
  json?: JsonFlag;
}

function alpha(v: string): number {
  const n = Number(v);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError(`expected a significance level in (0, 1), got '${v}'`);
  return n;
}

export function compareCommand(io: Io, wrap: Wrap): Command {
  return new Command('compare')
    .description('compare two runs on the same images: agreement, accuracy difference, McNemar exact test, flipped images')
    .argument('<baseline>', 'the reference run: a zoo eval --json result or --predictions CSV')
    .argument('<candidate>', 'the run checked against it (e.g. the int8 or exported model)')
    .addOption(new Option('--tolerance <points>', `points the candidate may lose before a significant loss fails (default ${DEFAULT_TOLERANCE})`).argParser(tolerance))
    .addOption(new Option('--alpha <p>', 'significance level of the paired test (default 0.05)').argParser(alpha))
    .addOption(jsonOption('the comparison'))
    .addHelpText('after', '\nExample:\n  zoo eval model.onnx --data ./val --json fp32.json\n  zoo eval model_int8.onnx --data ./val --json int8.json\n  zoo compare fp32.json int8.json --tolerance 0.5\n')
    .action(wrap((a: string, b: string, flags: CompareFlags) => runCompare(a, b, flags, io)));
}

export async function runCompare(baselineFile: string, candidateFile: string, flags: CompareFlags, io: Io): Promise<number> {
  const baseline = await readOutcomes(baselineFile, 'the baseline');
  const candidate = await readOutcomes(candidateFile, 'the candidate');
  const r = comparePaired(baseline, candidate, { tolerance: flags.tolerance ?? DEFAULT_TOLERANCE, ...(flags.alpha !== undefined ? { alpha: flags.alpha } : {}) });
  if (r.images === 0) {
    throw new UsageError('the two runs share no image', { file: candidateFile, fix: `compare runs over the same images (names as in ${baselineFile})` });
  }
  textStream(flags.json, io).write(renderPaired(r, { baseline: baselineFile, candidate: candidateFile }));
  await writeJsonOut(flags.json, { baseline: baselineFile, candidate: candidateFile, ...r }, io);
  if (r.regression) {
    io.stderr.write(`zoo: regression: ${candidateFile} is worse than ${baselineFile} by ${(-r.diff).toFixed(3)} points (p = ${r.p_value.toPrecision(4)}), beyond --tolerance ${r.tolerance}\n`);
    return ExitCode.REGRESSION;
  }
  return ExitCode.OK;
}
