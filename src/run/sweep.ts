/**
 * Many models in one run (issue 12): the models are grouped by their preprocessing; the groups run
 * one after another, and the models of a group run together over one shared decode pass
 * (shared-pass.ts), each as its own `evaluate()` so its JSON, state, checks and exit code are exactly
 * those of a single run. A group's engines are loaded while it runs and disposed when its runs end,
 * so at most one group's engines are in memory at a time.
 *
 * A model that cannot run (weights missing with --offline, an engine failure) becomes an outcome with
 * its reason and exit code; the sweep goes on, unless `failFast` (then the groups not started are not
 * run). An interrupted group ends the sweep (its runs saved their states; --resume continues).
 */
import { ExitCode, ZooError } from '../errors.js';
import type { EvalConfig } from '../models/eval-config.js';
import { evaluate, type EvalRequest, type RunHooks } from './eval-run.js';
import type { EvalResult } from './result.js';
import { preprocessKey, SharedPass } from './shared-pass.js';

export interface SweepModel {
  /** arch.tag or the model file, as results name it. */
  name: string;
  request: EvalRequest;
  /** A model a resumed sweep finished earlier (its outcome, read from its JSON): not run again. */
  finished?: SweepOutcome;
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
}

/** Models in groups of equal preprocessing, groups in the order their first model was named. */
export function groupModels(models: readonly SweepModel[]): number[][] {
  const groups = new Map<string, number[]>();
  models.forEach((m, i) => {
    const key = preprocessKey(m.request.source.cfg);
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

export async function runSweep(models: readonly SweepModel[], hooks: SweepHooks, opts: { failFast: boolean }): Promise<SweepOutcome[]> {
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
    if (stopBecause !== null) {
      for (const i of group) {
        const m = models[i]!;
        await m.request.source.close();
        outcomes[i] = { name: m.name, cfg: m.request.source.cfg, code: null, result: null, reason: `not run (${stopBecause})` };
      }
      continue;
    }
    const pass = new SharedPass(group.length);
    await Promise.all(
      group.map(async (i, member) => {
        const m = models[i]!;
        let result: EvalResult | null = null;
        const runHooks: RunHooks = { ...hooks.runHooks(m, i), report: (r) => (result = r) };
        let outcome: SweepOutcome;
        try {
          const code = await evaluate({ ...m.request, openLoader: pass.opener(member) }, runHooks);
          outcome = { name: m.name, cfg: m.request.source.cfg, code, result, reason: null };
        } catch (e) {
          const code = e instanceof ZooError ? e.exitCode : ExitCode.INTERNAL;
          const reason = e instanceof ZooError ? e.oneLine() : `internal error: ${e instanceof Error ? e.message : String(e)}`;
          outcome = { name: m.name, cfg: m.request.source.cfg, code, result, reason };
        } finally {
          // A run that failed before reading a batch must not hold the others of its group.
          pass.leave(member);
        }
        outcomes[i] = outcome;
        hooks.ended(outcome, i);
      }),
    );
    const codes = group.map((i) => outcomes[i]!.code);
    if (codes.includes(ExitCode.INTERRUPTED)) stopBecause = 'the sweep was interrupted';
    else if (opts.failFast && codes.some((c) => c !== null && c !== ExitCode.OK)) stopBecause = 'an earlier model failed and --fail-fast was given';
  }
  return outcomes.map((o) => o!);
}
