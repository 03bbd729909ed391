/**
 * Example images for the report (`--examples N`): the N most confident mistakes of a run and a few
 * images of each of its worst classes, as small JPEG thumbnails made with sharp and embedded as data:
 * URIs. They come from the run's per-image predictions (`zoo eval --predictions`: file, label, top-5,
 * top-1/top-2 margin) and the images under the data root; the figures on the page still come from the
 * JSON only: a thumbnail shows names, never a number.
 */
import { stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { UsageError } from '../errors.js';
import { readInputText, RESULT_MAX_BYTES } from '../io/input.js';
import { csvCells, csvRecords } from '../util/csv.js';

export interface PredictionRow {
  file: string;
  label: number;
  top1: number;
  margin: number;
}

export interface Thumb {
  file: string;
  trueClass: number;
  predicted: number;
  /** data:image/jpeg;base64,... */
  uri: string;
}

export interface RunExamples {
  mistakes: Thumb[];
  worstClasses: { class: number; thumbs: Thumb[] }[];
  /** Images named by the predictions that could not be read (shown as a note, not fatal). */
  unreadable: number;
  /** Mistakes ranked by confidence (the predictions CSV's margin); false: in the result's order. */
  ranked?: boolean;
}

const HEADER = 'file,label,top1,top2,top3,top4,top5,margin';

/** Reads a `zoo eval --predictions` CSV. */
export async function readPredictionsCsv(file: string): Promise<PredictionRow[]> {
  const text = await readInputText(file, { what: 'the predictions file', maxBytes: RESULT_MAX_BYTES, fix: 'pass the --predictions CSV that zoo eval wrote for this result' });
  const rows = csvRecords(text);
  if (rows[0] !== HEADER) {
    throw new UsageError('not a zoo predictions file', { file, expected: `a header line "${HEADER}" (zoo eval --predictions)`, fix: 'pass the --predictions CSV that zoo eval wrote for this result' });
  }
  return rows.slice(1).map((line, n) => {
    const cells = csvCells(line, 8);
    const [name, label, top1, , , , , margin] = cells;
    const nums = [label, top1, margin].map(Number);
    if (cells.length < 8 || nums.some((v) => !Number.isFinite(v))) {
      throw new UsageError(`malformed row ${n + 2}`, { file, expected: HEADER, fix: 'pass the --predictions CSV that zoo eval wrote, unedited' });
    }
    return { file: name!, label: nums[0]!, top1: nums[1]!, margin: nums[2]! };
  });
}

async function thumbnail(root: string, row: PredictionRow, size: number): Promise<Thumb | null> {
  const path = isAbsolute(row.file) ? row.file : join(root, row.file);
  // Loaded here, not at start-up: only --examples needs sharp (test/startup.test.ts).
  const { default: sharp } = await import('sharp');
  try {
    const buf = await sharp(path, { failOn: 'none' }).rotate().resize(size, size, { fit: 'cover' }).jpeg({ quality: 70, mozjpeg: false }).toBuffer();
    return { file: row.file, trueClass: row.label, predicted: row.top1, uri: `data:image/jpeg;base64,${buf.toString('base64')}` };
  } catch {
    return null;
  }
}

export interface ExampleRequest {
  predictions: readonly PredictionRow[];
  /** Folder the predictions' file names are relative to. */
  dataRoot: string;
  /** How many mistakes to show, and how many worst classes. */
  count: number;
  /** Class indices from worst up (the JSON's per-class figures, sorted by the page). */
  worstClasses: readonly number[];
  perClass?: number;
  size?: number;
}

/** Picks and renders the example thumbnails of one run. */
export async function gatherExamples(req: ExampleRequest): Promise<RunExamples> {
  const size = req.size ?? 112;
  const info = await stat(req.dataRoot).catch(() => null);
  if (!info?.isDirectory()) {
    throw new UsageError('the data root is not a folder, so example images cannot be read', {
      file: req.dataRoot,
      expected: 'the ImageFolder or flat folder the run evaluated (a tar cannot be read for examples)',
      fix: 'pass --data with the folder holding the images, or leave out --examples',
    });
  }
  let unreadable = 0;
  const render = async (rows: readonly PredictionRow[]) => {
    const out: Thumb[] = [];
    for (const r of rows) {
      const t = await thumbnail(req.dataRoot, r, size);
      if (t) out.push(t);
      else unreadable++;
    }
    return out;
  };
  // Most confident mistakes: wrong top-1 with the largest top-1/top-2 margin.
  const mistakes = req.predictions.filter((p) => p.top1 !== p.label).sort((a, b) => b.margin - a.margin || (a.file < b.file ? -1 : 1));
  const perClass = req.perClass ?? 4;
  const worstClasses: RunExamples['worstClasses'] = [];
  for (const c of req.worstClasses.slice(0, req.count)) {
    // Mistakes of the class first (they explain its accuracy), then its other images.
    const of = req.predictions.filter((p) => p.label === c).sort((a, b) => Number(a.top1 === a.label) - Number(b.top1 === b.label) || b.margin - a.margin);
    worstClasses.push({ class: c, thumbs: await render(of.slice(0, perClass)) });
  }
  return { mistakes: await render(mistakes.slice(0, req.count)), worstClasses, unreadable };
}
