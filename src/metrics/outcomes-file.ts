/**
 * Per-image outcomes of an earlier run, for `zoo compare` and `zoo eval --baseline-predictions`: an
 * eval --json result (its `per_image` field) or an eval --predictions CSV
 * (`file,label,top1,top2,top3,top4,top5,margin`).
 */
import { UsageError } from '../errors.js';
import type { ImageOutcome } from './paired.js';
import { readInputText, RESULT_MAX_BYTES } from '../io/input.js';
import { csvCells, csvRecords } from '../util/csv.js';

/** The compact per-image record an eval --json result carries. */
export interface PerImage {
  file: string[];
  label: number[];
  top1: number[];
}

export function perImageOf(outcomes: readonly ImageOutcome[]): PerImage {
  return { file: outcomes.map((o) => o.file), label: outcomes.map((o) => o.label), top1: outcomes.map((o) => o.top1) };
}

const EXPECTED = 'a zoo eval --json result (with per_image) or a --predictions CSV (file,label,top1,...)';

function fromJson(v: unknown, file: string): ImageOutcome[] {
  const p = (v as { per_image?: unknown } | null)?.per_image as Partial<PerImage> | undefined;
  if (!p || !Array.isArray(p.file) || !Array.isArray(p.label) || !Array.isArray(p.top1)) {
    throw new UsageError('the result has no per-image predictions (per_image)', {
      file,
      expected: EXPECTED,
      fix: 'use the --json of a zoo eval run (merged shard results carry none: compare the shards, or the --predictions CSVs)',
    });
  }
  const n = p.file.length;
  if (p.label.length !== n || p.top1.length !== n) throw new UsageError('per_image arrays differ in length', { file, expected: EXPECTED });
  const out: ImageOutcome[] = [];
  for (let i = 0; i < n; i++) {
    const f = p.file[i];
    const l = p.label[i];
    const t = p.top1[i];
    if (typeof f !== 'string' || !Number.isInteger(l) || !Number.isInteger(t)) throw new UsageError(`per_image entry ${i} is malformed`, { file, expected: EXPECTED });
    out.push({ file: f, label: l as number, top1: t as number });
  }
  return out;
}

function fromCsv(text: string, file: string): ImageOutcome[] {
  // Records as zoo writes them (a quoted file name may hold commas, quotes, line breaks), CRLF or LF.
  const lines = csvRecords(text)
    .map((r) => (r.endsWith('\r') ? r.slice(0, -1) : r))
    .filter((l) => l.length > 0);
  const header = csvCells(lines[0] ?? '', 3);
  if (header[0] !== 'file' || header[1] !== 'label' || header[2] !== 'top1') {
    throw new UsageError(`not a predictions CSV (header '${(lines[0] ?? '').slice(0, 60)}')`, { file, expected: EXPECTED });
  }
  const out: ImageOutcome[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const [name, label, top1] = csvCells(line, 3);
    const [l, t] = [label, top1].map(Number);
    if (!Number.isInteger(l) || !Number.isInteger(t)) {
      throw new UsageError(`line ${i + 1} is not file,label,top1,...: ${line.slice(0, 80)}`, { file, expected: EXPECTED });
    }
    out.push({ file: name!, label: l!, top1: t! });
  }
  return out;
}

export async function readOutcomes(file: string, flag: string): Promise<ImageOutcome[]> {
  const text = await readInputText(file, { what: flag, maxBytes: RESULT_MAX_BYTES });
  if (text.trimStart().startsWith('{')) {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw new UsageError('not valid JSON', { file, expected: EXPECTED });
    }
    return fromJson(v, file);
  }
  return fromCsv(text, file);
}
