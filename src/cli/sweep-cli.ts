/**
 * `zoo eval MODEL MODEL ... --data DIR`: flags -> one EvalRequest per model -> src/run/sweep.ts;
 * prints a line per model as it ends and, at the end, the table ranked by top-1 (published number
 * and difference per model), then appends --results-file. Per-model outputs are --json-dir
 * DIR/<model>.json; each model's resume state lies beside its JSON (else ./zoo-eval.<model>.state.json)
 * and is removed when the model completes, as a single run's is.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, UsageError } from '../errors.js';
import { measuredAccuracy } from '../run/result.js';
import { refuseCollisions } from '../io/output.js';
import { appendResults, planResultsFile } from '../run/results-file.js';
import { resumePoint, runSweep, sweepExitCode, type SweepModel, type SweepOutcome } from '../run/sweep.js';
import { pct, renderTable, signed } from '../util/format.js';
import { dataInputs, evalRequest, type EvalFlags } from './eval.js';
import { resolveSource } from './source.js';
import type { Io } from './main.js';
import { fitToWidth } from './fit-width.js';
import { statusLine, terminalColumns } from './progress.js';

/** Flags that name one run's file or one run's comparison: refused in a sweep, with what to use instead. */
const SINGLE_RUN_FLAGS: readonly [keyof EvalFlags, string, string][] = [
  ['json', '--json', 'use --json-dir DIR (DIR/<model>.json per model)'],
  ['csv', '--csv', 'use --results-file FILE (one row per model)'],
  ['predictions', '--predictions', 'use --json-dir DIR: each JSON holds per_image predictions'],
  ['report', '--report', 'use --json-dir DIR, then zoo report DIR/*.json'],
  ['state', '--state', "omit it: each model's state lies beside its --json-dir JSON, else ./zoo-eval.<model>.state.json"],
  ['weights', '--weights', 'name each model with its weights file in --models-file (a line "MODEL WEIGHTS"), or use zoo cache add'],
  ['baseline', '--baseline', 'evaluate that model alone'],
  ['baselinePredictions', '--baseline-predictions', 'evaluate that model alone'],
];

/** A file-name-safe form of a model name (a model file's name may hold a path). */
const fileStem = (name: string) => name.replace(/[/\\]/g, '_');

/** `weights`: the checkpoint --models-file names beside a model, by spec. */
export async function runSweepCommand(specs: readonly string[], flags: EvalFlags, io: Io, weights: ReadonlyMap<string, string>): Promise<number> {
  for (const [key, flag, fix] of SINGLE_RUN_FLAGS) {
    if (flags[key] !== undefined && flags[key] !== false) throw new UsageError(`${flag} names one run's file or comparison; this command evaluates ${specs.length} models`, { fix });
  }
  if (flags.jsonDir !== undefined) {
    let isDir = false;
    try {
      isDir = statSync(flags.jsonDir).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) throw new UsageError('--json-dir: not an existing folder', { file: flags.jsonDir, fix: `create it first (mkdir -p ${flags.jsonDir})` });
  }
  if (flags.resume && flags.jsonDir === undefined) {
    throw new UsageError('--resume with several models needs --json-dir DIR', { fix: 'pass the --json-dir of the interrupted sweep: its JSONs say which models finished, its state files where the others stopped' });
  }
  const results = flags.resultsFile !== undefined ? await planResultsFile(flags.resultsFile, flags.resultsFormat) : null;
  if (results) refuseCollisions([results], dataInputs(flags.data));

  // Every model resolved (unknown names, flags that do not apply) before any work.
  const models: SweepModel[] = [];
  try {
    for (const spec of specs) {
      const modelFlags = weights.has(spec) ? { ...flags, weights: weights.get(spec)! } : flags;
      const req = await evalRequest(spec, modelFlags);
      // A model file is open (its session) once checked: closed now, opened again at its turn, so
      // one engine at a time is in memory.
      const reopen = req.source.kind === 'file' ? () => resolveSource(spec, modelFlags) : undefined;
      if (reopen) await req.source.close();
      const name = req.source.tag.name;
      // Shard jobs of one sweep may share --json-dir: each writes its own <model>.shard-IofN.json (zoo merge them per model).
      const stem = fileStem(name) + (flags.shard ? `.shard-${flags.shard.index}of${flags.shard.count}` : '');
      req.outputs = flags.jsonDir !== undefined ? { json: join(flags.jsonDir, `${stem}.json`), state: join(flags.jsonDir, `${stem}.state.json`) } : { state: `zoo-eval.${stem}.state.json` };
      const finished = flags.resume ? resumePoint(req, name) : null;
      models.push({ name, request: req, ...(finished ? { finished } : {}), ...(reopen ? { reopen } : {}) });
    }
  } catch (e) {
    for (const m of models) await m.request.source.close();
    throw e;
  }

  const status = statusLine(io);
  const say = (line: string) => status.say(line);
  const quietSink = { update: () => undefined, stop: () => undefined };
  let ended = 0;
  say(`zoo: ${models.length} models, one at a time; models with equal crops decode each image once`);
  const outcomes = await runSweep(
    models,
    {
      runHooks: () => ({ say, progress: () => quietSink, print: () => undefined }),
      say,
      ended: (o) => {
        ended++;
        const earlier = models.find((m) => m.name === o.name)?.finished ? ' (finished earlier: not run again)' : '';
        const m = o.result ? measuredAccuracy(o.result) : null;
        say(`zoo: [${ended}/${models.length}] ${o.name}${earlier}: ${m && o.reason === null ? `top-1 ${pct(m.top1)}%, top-5 ${pct(m.top5)}% (exit ${o.code})` : `failed (exit ${o.code}): ${o.reason}`}`);
      },
    },
    { failFast: flags.failFast ?? false, quiet: flags.quiet ?? false },
  );
  const stream = results?.kind === 'stdout' ? io.stderr : io.stdout;
  stream.write(fitToWidth(sweepTable(outcomes), terminalColumns(stream)));
  const code = sweepExitCode(outcomes);
  // An interrupted sweep appends nothing: --resume appends every model's row once, so the file ends
  // as an uninterrupted sweep's would.
  if (results && code === ExitCode.INTERRUPTED) say(`zoo: --results-file ${results.path}: nothing appended yet; the same command with --resume continues the sweep and appends every row`);
  else if (results) await appendResults(results, flags.resultsFormat, outcomes);
  return code;
}

/** The models ranked by top-1 (those without a result last, in the order named). */
export function sweepTable(outcomes: readonly SweepOutcome[]): string {
  const ranked = outcomes
    .map((o, i) => ({ o, i }))
    .sort((a, b) => {
      const ta = a.o.result && a.o.reason === null ? a.o.result.top1 : -Infinity;
      const tb = b.o.result && b.o.reason === null ? b.o.result.top1 : -Infinity;
      return tb - ta || a.i - b.i;
    });
  const rows = ranked.map(({ o }, k) => {
    const r = o.reason === null ? o.result : null;
    const m = r ? measuredAccuracy(r) : null;
    const verdict = o.reason !== null ? (o.code === null ? o.reason : `failed (exit ${o.code}): ${o.reason}`) : (r?.verdict ?? '');
    return [
      r ? String(k + 1) : '-',
      o.name,
      pct(m?.top1),
      pct(m?.top5),
      pct(r?.published?.top1),
      signed(m && r?.published ? m.top1 - r.published.top1 : null),
      r ? r.images_per_sec.toFixed(1) : '-',
      verdict,
    ];
  });
  return `\n${renderTable(['#', 'model', 'top-1', 'top-5', 'published', 'diff', 'img/s', 'verdict'], rows, ['right', 'left', 'right', 'right', 'right', 'right', 'right', 'left'])}`;
}
