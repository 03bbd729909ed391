/**
 * From result files to the report page: reads each file (a result, a merge or a sweep), checks it is
 * a zoo result, gathers example thumbnails when asked, and renders the page. Used by `zoo report` and
 * by `zoo eval --report`.
 */
import { loadClassNames } from '../data/imagenet.js';
import { UsageError } from '../errors.js';
import { gatherExamples, readPredictionsCsv, type RunExamples } from './examples.js';
import { readRun, resultsIn, type RunView } from './fields.js';
import { renderPage } from './page.js';
import { readInputText, RESULT_MAX_BYTES } from '../io/input.js';

export interface ReportSource {
  /** The name shown on the page and in errors. */
  file: string;
  /** The parsed JSON. */
  doc: unknown;
}

export interface ExampleOptions {
  /** How many mistakes (and worst classes) to show per run. */
  count: number;
  /** Per-image predictions CSV per run, in the order of the runs. */
  predictions: readonly string[];
  /** Folder the images are under; default: each result's data root. */
  data?: string;
}

export async function readSource(file: string): Promise<ReportSource> {
  const text = await readInputText(file, { what: 'the result', maxBytes: RESULT_MAX_BYTES });
  try {
    return { file, doc: JSON.parse(text) as unknown };
  } catch {
    throw new UsageError('not JSON', { file, expected: 'a result written by zoo eval --json or zoo merge --json', fix: 'pass the --json file of a zoo run' });
  }
}

/** Every run the sources hold, in order; a source with none is refused. */
export function runsOf(sources: readonly ReportSource[]): RunView[] {
  return sources.flatMap((s, i) => {
    const found = resultsIn(s.doc);
    if (found.length === 0) {
      throw new UsageError('no zoo result in this file', { file: s.file, expected: 'a result written by zoo eval --json or zoo merge --json (an object with top1)', fix: 'pass the --json file of a zoo run' });
    }
    return found.map((r) => readRun(r.obj, i, r.root));
  });
}

export async function buildReport(sources: readonly ReportSource[], examples?: ExampleOptions): Promise<string> {
  const runs = runsOf(sources);
  const thumbs = new Map<number, RunExamples>();
  if (examples && examples.count > 0) {
    if (examples.predictions.length === 0 && !runs.some((r) => r.perImage)) {
      throw new UsageError('--examples needs the per-image predictions', {
        expected: 'results with per_image (zoo eval --json) or --predictions FILE.csv (zoo eval --predictions), one per run',
        fix: 'add --predictions, or leave out --examples',
      });
    }
    if (examples.predictions.length > runs.length) {
      throw new UsageError(`${examples.predictions.length} predictions files for ${runs.length} run(s)`, { expected: 'one --predictions file per run, in the order of the runs', fix: 'drop the extra --predictions files' });
    }
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!;
      // The CSV has the top-1/top-2 margin, so mistakes can be ranked by confidence; per_image cannot.
      const csv = examples.predictions[i];
      const predictions = csv ? await readPredictionsCsv(csv) : run.perImage?.map((p) => ({ ...p, margin: Number.NaN }));
      if (!predictions) continue;
      const root = examples.data ?? run.dataRoot?.value;
      if (!root) throw new UsageError('the result does not record its data root', { file: sources[run.source]!.file, fix: 'pass --data with the image folder' });
      const worst = [...run.perClass].sort((a, b) => a.top1.value - b.top1.value).flatMap((c) => (c.index ? [c.index.value] : []));
      thumbs.set(i, { ...(await gatherExamples({ predictions, dataRoot: root, count: examples.count, worstClasses: worst })), ranked: csv !== undefined });
    }
  }
  return renderPage({ runs, files: sources.map((s) => s.file), examples: thumbs, classNames: thumbs.size ? loadClassNames() : [] });
}
