/**
 * Many models in one run (issue 12): the models are grouped by their crop (size, crop pct, crop mode,
 * interpolation); the groups run one after another, and so do the models of a group, each as its own
 * `evaluate()` so its JSON, state, checks and exit code are exactly those of a single run. One engine
 * is loaded at a time (a run disposes its engine before the next loads), so a sweep's memory is
 * about its largest model's single run. Each image is still decoded once per group: without
 * --crop-cache the group's models share a temporary crop cache (group-crops.ts), the first model
 * decoding and storing, the others reading its exact crops.
 *
 * A model that cannot run (weights missing with --offline, an engine failure) becomes an outcome with
 * its reason and exit code; the sweep goes on, unless `failFast` (then the models not started are
 * not run). An interrupted model ends the sweep (its state is saved; --resume continues it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { ExitCode, ZooError } from '../errors.js';
import type { EvalConfig } from '../models/eval-config.js';
import { evaluate, type EvalRequest, type RunHooks } from './eval-run.js';
import { GroupCrops } from './group-crops.js';
import { resultFromFile, type EvalResult } from './result.js';

export interface SweepModel {
  /** arch.tag or the model file, as results name it. */
  name: string;
  request: EvalRequest;
  /** A model a resumed sweep finished earlier (its outcome, read from its JSON): not run again. */
  finished?: SweepOutcome;
  /**
   * A model file's source was opened to check it before any work, then closed so that its session
   * does not stay in memory while the others run: this opens it again at its turn.
   */
  reopen?: () => Promise<EvalRequest['source']>;
}

export interface SweepOutcome {
  name: string;
  cfg: EvalConfig;
  /** The model's exit code, as its single run would have ended; null: not run (--fail-fast, interrupted). */
  code: number | null;
  /** The result, when the run got as far as one (a completed, failed-check or interrupted run). */
  result: EvalResult | null;
  /** Why there is no result (the error's one line), or why it was not run. */
  reason: string | null;
}

export interface SweepHooks {
  /** The hooks of one model's run (`index` in the sweep's order). */
  runHooks(model: SweepModel, index: number): Omit<RunHooks, 'report'>;
  /** A model's run ended (in the order they end). */
  ended(outcome: SweepOutcome, index: number): void;
  /** A line for the user from the sweep itself (its shared crops). */
  say(line: string): void;
}

/**
 * What decides a model's uint8 crop: models with equal keys read the same crops (normalisation is
 * per model, so mean/std are not in it).
 */
export function cropGroupKey(cfg: EvalConfig): string {
  return JSON.stringify([cfg.inputSize, cfg.cropPct, cfg.interpolation, cfg.cropMode, cfg.cropBorderPixels ?? 0]);
}

/** Models in groups of equal preprocessing, groups in the order their first model was named. */
export function groupModels(models: readonly SweepModel[]): number[][] {
  const groups = new Map<string, number[]>();
  models.forEach((m, i) => {
    const key = cropGroupKey(m.request.source.cfg);
    const g = groups.get(key) ?? [];
    g.push(i);
    groups.set(key, g);
  });
  return [...groups.values()];
}

/** The sweep's exit code: the highest of the models' (README "Exit codes"). */
export function sweepExitCode(outcomes: readonly SweepOutcome[]): number {
  return outcomes.reduce<number>((worst, o) => Math.max(worst, o.code ?? 0), ExitCode.OK);
}

export async function runSweep(models: readonly SweepModel[], hooks: SweepHooks, opts: { failFast: boolean; quiet: boolean }): Promise<SweepOutcome[]> {
  const outcomes: (SweepOutcome | undefined)[] = models.map(() => undefined);
  let stopBecause: string | null = null;
  for (const [i, m] of models.entries()) {
    if (!m.finished) continue;
    await m.request.source.close();
    outcomes[i] = m.finished;
    hooks.ended(m.finished, i);
  }
  const toRun = models.map((m, i) => ({ m, i })).filter(({ m }) => !m.finished);
  for (const groupOfRun of groupModels(toRun.map(({ m }) => m))) {
    const group = groupOfRun.map((k) => toRun[k]!.i);
    // A lone model decodes for itself; --crop-cache is already a shared (and kept) crop cache.
    const shared = group.length > 1 && models[group[0]!]!.request.loading.cropCache === undefined;
    const crops = shared ? new GroupCrops(group.length, hooks.say, opts.quiet) : null;
    try {
      for (const i of group) {
        const m = models[i]!;
        if (stopBecause !== null) {
          await m.request.source.close();
          outcomes[i] = { name: m.name, cfg: m.request.source.cfg, code: null, result: null, reason: `not run (${stopBecause})` };
          continue;
        }
        const request: EvalRequest = crops ? { ...m.request, loading: { ...m.request.loading, sharedCrops: crops } } : m.request;
        const outcome = await runModel(m, request, hooks.runHooks(m, i), m.reopen);
        outcomes[i] = outcome;
        hooks.ended(outcome, i);
        if (outcome.code === ExitCode.INTERRUPTED) stopBecause = 'the sweep was interrupted';
        else if (opts.failFast && outcome.code !== null && outcome.code !== ExitCode.OK) stopBecause = 'an earlier model failed and --fail-fast was given';
      }
    } finally {
      await crops?.dispose();
    }
  }
  return outcomes.map((o) => o!);
}

/** One model's run as its outcome: a failure is its reason and exit code, not a throw. */
async function runModel(m: SweepModel, request: EvalRequest, hooks: Omit<RunHooks, 'report'>, reopen: SweepModel['reopen']): Promise<SweepOutcome> {
  let result: EvalResult | null = null;
  try {
    const source = reopen ? await reopen() : request.source;
    const code = await evaluate({ ...request, source }, { ...hooks, report: (r) => (result = r) });
    return { name: m.name, cfg: m.request.source.cfg, code, result, reason: null };
  } catch (e) {
    const code = e instanceof ZooError ? e.exitCode : ExitCode.INTERNAL;
    const reason = e instanceof ZooError ? e.oneLine() : `internal error: ${e instanceof Error ? e.message : String(e)}`;
    return { name: m.name, cfg: m.request.source.cfg, code, result, reason };
  }
}

/**
 * --resume of a sweep, per model: a state file -> that model continues from it; else a complete JSON
 * in --json-dir (not interrupted) -> finished, its outcome read back and not run again; else it runs
 * from the start.
 */
export function resumePoint(req: EvalRequest, name: string): SweepOutcome | null {
  const { json, state } = req.outputs;
  if (state !== undefined && existsSync(state)) return null; // req.resume stays true: continue it
  req.resume = false;
  if (json === undefined || !existsSync(json)) return null;
  let doc: EvalResult;
  try {
    doc = resultFromFile(JSON.parse(readFileSync(json, 'utf8'))) as EvalResult; // the code's names inside (snake_case file)
  } catch {
    return null; // not a result: evaluated again, and replaced
  }
  if (doc.interrupted || doc.model !== name || typeof doc.top1 !== 'number') return null;
  const code = doc.checks && !doc.checks.passed ? ExitCode.REGRESSION : ExitCode.OK;
  return { name, cfg: req.source.cfg, code, result: doc, reason: null };
}
