/**
 * `--results-file FILE`: one row per model appended, timm's results columns first
 * (`model,top1,top1_err,top5,top5_err,param_count,img_size,crop_pct,interpolation`, as validate.py's
 * `--results-file` writes them), then ours. CSV (a header when the file is new or empty) or JSON (an
 * array, as validate.py's `--results-format json`; an existing array is extended). A model that
 * could not run has its row too: its config, no numbers, the reason as its verdict and its exit code.
 *
 * The file goes through src/io/output.ts: its folder is checked before any work, and the file is
 * replaced atomically with the old rows plus the new ones (`-` writes the new rows to stdout).
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { resolveOutput, writeOutput, type OutputTarget } from '../io/output.js';
import type { SweepOutcome } from './sweep.js';
import { csvField } from '../util/csv.js';

export type ResultsFormat = 'csv' | 'json';

export const RESULTS_COLUMNS = [
  'model', 'top1', 'top1_err', 'top5', 'top5_err', 'param_count', 'img_size', 'crop_pct', 'interpolation',
  'dataset', 'images', 'published_top1', 'top1_diff', 'images_per_sec', 'verdict', 'exit_code',
] as const;

export type ResultsRow = Record<(typeof RESULTS_COLUMNS)[number], string | number | null>;

export function resultsRow(o: SweepOutcome): ResultsRow {
  const r = o.result;
  const verdict = o.reason !== null ? `failed: ${o.reason}` : (r?.verdict ?? '');
  return {
    model: o.name,
    top1: r?.top1 ?? null,
    top1_err: r?.top1_err ?? null,
    top5: r?.top5 ?? null,
    top5_err: r?.top5_err ?? null,
    param_count: r?.param_count ?? null,
    img_size: r?.img_size ?? o.cfg.inputSize[1],
    crop_pct: r?.crop_pct ?? o.cfg.cropPct,
    interpolation: r?.interpolation ?? o.cfg.interpolation,
    dataset: r?.dataset ?? null,
    images: r?.images ?? null,
    published_top1: r?.published?.top1 ?? null,
    top1_diff: r?.published?.top1_diff ?? null,
    images_per_sec: r?.images_per_sec ?? null,
    verdict,
    exit_code: o.code,
  };
}

const HEADER = RESULTS_COLUMNS.join(',');

/** What is in the file now ('' when it does not exist or is a stream). */
async function existingText(out: OutputTarget): Promise<string> {
  if (out.kind !== 'file') return '';
  try {
    return await readFile(out.target, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new UsageError(`--results-file: cannot read it to append (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { file: out.path, fix: 'check its permissions, or name another file' });
  }
}

function existingRows(text: string, format: ResultsFormat, path: string): unknown[] | string {
  if (format === 'json') {
    if (text.trim() === '') return [];
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      doc = null;
    }
    if (!Array.isArray(doc)) throw new UsageError('--results-file: the file is not a JSON array of results, so rows cannot be appended', { file: path, fix: 'name a new file, or use --results-format csv' });
    return doc;
  }
  if (text !== '' && !text.startsWith('model,')) {
    throw new UsageError('--results-file: the file is not a results CSV (its first line does not start with "model,")', { file: path, fix: 'name a new file, or use --results-format json' });
  }
  return text;
}

/** Resolves and checks the results file before any work (exit 2: unwritable folder, not a results file). */
export async function planResultsFile(path: string, format: ResultsFormat): Promise<OutputTarget> {
  const out = await resolveOutput('--results-file', path);
  existingRows(await existingText(out), format, out.path);
  return out;
}

/** Appends the outcomes' rows. */
export async function appendResults(out: OutputTarget, format: ResultsFormat, outcomes: readonly SweepOutcome[]): Promise<void> {
  const rows = outcomes.map(resultsRow);
  const before = existingRows(await existingText(out), format, out.path);
  if (format === 'json') {
    await writeOutput(out, JSON.stringify([...(before as unknown[]), ...rows], null, 2) + '\n');
    return;
  }
  let text = before as string;
  if (text === '') text = `${HEADER}\n`;
  else if (!text.endsWith('\n')) text += '\n';
  for (const r of rows) text += `${RESULTS_COLUMNS.map((c) => (r[c] === null ? '' : csvField(String(r[c])))).join(',')}\n`;
  await writeOutput(out, text);
}
