/**
 * Resume state of `zoo eval`: enough to continue an interrupted run and end with exactly the numbers
 * of an uninterrupted one. It holds the run's identity (model, tag, weights content, eval config,
 * data root, selection), the next sample index to evaluate, the images skipped so far, and the
 * metrics accumulator's serialised state.
 *
 * It is written atomically (a temporary file in the same folder, then rename), after every batch
 * while the run goes on, so a kill -9 at any moment leaves the previous complete state: at most the
 * batches in flight are lost, and a resume re-evaluates them.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { writeOutput, type OutputTarget } from '../io/output.js';
import { camelKeys, snakeKeys } from '../io/json-keys.js';
import { DataError, UsageError } from '../errors.js';
import { describeProblems, stateProblems } from './run-schema.js';
import { stableJson } from '../util/format.js';
import type { EvalConfig } from '../models/eval-config.js';
import { requireCheckpointFile } from '../models/weights/file.js';
import { MetricsAccumulator, type MetricsState, type RealLabels } from '../metrics/accumulator.js';
import type { TopKAccumulator, TopKState } from '../metrics/topk.js';
import { verifyAgainstPredictions, verifyMetricsState, verifyTopKState } from '../metrics/verify.js';
import { InputError, readInputText, RESULT_MAX_BYTES } from '../io/input.js';

export const STATE_KIND = 'zoo-eval-state';
export const STATE_VERSION = 1;

/** The weights a run used, by content: a renamed or copied file is the same weights. */
export interface WeightsIdentity {
  file: string;
  bytes: number;
  sha256: string;
}

/** Everything that must be equal for a resumed (or merged) run to be the same run. */
export interface RunIdentity {
  /** arch.tag, e.g. rexnet_100.nav_in1k. */
  model: string;
  weights: WeightsIdentity;
  eval_config: EvalConfig;
  /**
   * Absolute data root (folder or tar) and the ground truth used; with several --data paths, all of
   * them, absolute and sorted (the same folders in another order are the same data).
   */
  data_root: string | string[];
  labels: string | null;
  /** Images in the selection (after --per-class, --limit, --shard). */
  samples: number;
  /** The selection flags as given: per-class, limit, shard i/n. */
  selection: { per_class: number | null; limit: number | null; shard: string | null };
  on_error: 'stop' | 'skip';
  /** The ReaL labels file, when ReaL metrics are computed (they live in the accumulator state). */
  real_labels: string | null;
  /** The test set (--dataset or detected); absent in states written before test sets: imagenet. */
  dataset?: string;
  /** The outputs predictions may take (all, a 200-class list, --valid-labels, --class-map); absent: all 1000 classes. */
  label_space?: string;
}

export interface SkippedImage {
  /** Position in the selection. */
  index: number;
  /** Path relative to the data root (or inside the tar). */
  file: string;
  error: string;
}

export interface EvalState<A> {
  kind: typeof STATE_KIND;
  version: typeof STATE_VERSION;
  identity: RunIdentity;
  /** Samples [0, next) of the selection are accounted for: counted in the accumulator or skipped. */
  next: number;
  skipped: SkippedImage[];
  /** Seconds spent evaluating before this state was written (wall time across resumes). */
  elapsed_s: number;
  accumulator: A;
  written_at: string;
}

/**
 * The weights file's size and SHA-256. Only a regular file is read (a FIFO or /dev/zero would
 * never end); `signal` stops the read, so a run that fails while this hashes can still exit.
 */
export async function weightsIdentity(file: string, signal?: AbortSignal): Promise<WeightsIdentity> {
  const hash = createHash('sha256');
  const s = await requireCheckpointFile(file);
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20, ...(signal ? { signal } : {}) })) hash.update(chunk as Buffer);
  return { file, bytes: s.size, sha256: hash.digest('hex') };
}

/**
 * `<json without .json>.state.json`; without --json, ./zoo-eval.state.json, or
 * ./zoo-eval.shard-2of8.state.json for a shard (so shards run side by side never share one).
 */
export function defaultStateFile(json: string | undefined, shard?: { index: number; count: number }): string {
  if (json) return `${json.replace(/\.json$/i, '')}.state.json`;
  return shard ? `zoo-eval.shard-${shard.index}of${shard.count}.state.json` : 'zoo-eval.state.json';
}

/** Rewrites the state (atomically: see src/io/output.ts) at the --state target resolved before the run. */
export async function writeState<A>(out: OutputTarget, state: EvalState<A>): Promise<void> {
  // snake_case names in the file (issue 10.13); readState turns them back.
  await writeOutput(out, JSON.stringify(snakeKeys(state)));
}

export async function removeState(file: string): Promise<void> {
  await rm(file, { force: true });
}

/** Reads a state file; UsageError (with the fix) when it is absent or not a zoo eval state. */
export async function readState<A>(file: string): Promise<EvalState<A>> {
  let text: string;
  try {
    text = await readInputText(file, { what: '--resume: the state file', maxBytes: RESULT_MAX_BYTES, fix: 'delete it and run without --resume' });
  } catch (e) {
    if (!(e instanceof InputError && e.errno)) throw e;
    throw new UsageError(`--resume: no state file (${e.errno})`, {
      file,
      expected: 'the state file an interrupted zoo eval wrote',
      fix: 'run without --resume to start over, or pass --state FILE where the interrupted run wrote it',
    });
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new DataError('--resume: the state file is not JSON', { file, fix: 'delete it and run without --resume' });
  }
  const head = v as Partial<EvalState<A>> | null;
  if (typeof head !== 'object' || head === null || head.kind !== STATE_KIND || head.version !== STATE_VERSION) {
    throw new DataError('--resume: not a zoo eval state file of this version', { file, fix: 'delete it and run without --resume' });
  }
  const problems = stateProblems(v);
  if (problems.length > 0) {
    throw new DataError(`--resume: the state file is malformed (${describeProblems(problems)})`, { file, fix: 'delete it and run without --resume' });
  }
  // The file's snake_case blocks (camelCase in states of earlier versions) as the code's types.
  const state = v as EvalState<A>;
  return {
    ...state,
    identity: { ...state.identity, eval_config: camelKeys(state.identity.eval_config) },
    accumulator: camelKeys<A>(state.accumulator),
  };
}


/**
 * The fields of `saved` that differ from `current` (weights compared by content, not path), as
 * `name: saved -> current` strings; empty when the state belongs to this run.
 */
export function identityDifferences(saved: RunIdentity, current: RunIdentity): string[] {
  const diffs: string[] = [];
  const cmp = (name: string, a: unknown, b: unknown) => {
    if (stableJson(a) !== stableJson(b)) diffs.push(`${name}: ${stableJson(a)} -> ${stableJson(b)}`);
  };
  cmp('model', saved.model, current.model);
  cmp('weights sha256', saved.weights?.sha256, current.weights.sha256);
  cmp('eval config', snakeKeys(saved.eval_config), snakeKeys(current.eval_config)); // as the file spells it
  cmp('data', saved.data_root, current.data_root);
  cmp('labels', saved.labels, current.labels);
  cmp('selected images', saved.samples, current.samples);
  cmp('selection', saved.selection, current.selection);
  // --on-error may change between sessions: the images already counted decoded either way.
  cmp('--real-labels', saved.real_labels, current.real_labels);
  cmp('--dataset', saved.dataset ?? 'imagenet', current.dataset ?? 'imagenet');
  cmp('label space', saved.label_space ?? 'all 1000 classes', current.label_space ?? 'all 1000 classes');
  return diffs;
}

/** Accumulator state in the resume file: the additive counts and the per-image predictions. */
export interface AccumulatorState {
  metrics: MetricsState;
  topk: TopKState;
}

/** Where a run starts: fresh, or where its state file says. */
export interface Restored {
  metrics: MetricsAccumulator;
  topk: TopKAccumulator;
  next: number;
  skipped: SkippedImage[];
  elapsedBefore: number;
}

/**
 * Reads `file` and checks it belongs to the run `identity` describes and that its counts add up;
 * UsageError naming the file and the fix otherwise.
 */
export async function restoreState(file: string, identity: RunIdentity, real: RealLabels | null): Promise<Restored> {
  const state = await readState<AccumulatorState>(file);
  const diffs = identityDifferences(state.identity, identity);
  if (diffs.length > 0) {
    throw new UsageError(`--resume: the state belongs to a different run (${diffs.join('; ')})`, {
      file,
      fix: 'resume with the same command line, model, weights and data, or delete the state file to start over',
    });
  }
  // Every count is checked against the stored predictions (an edited state is refused, not trusted).
  const fresh = 1000;
  const problems = verifyMetricsState(state.accumulator.metrics);
  const decoded = verifyTopKState(state.accumulator.topk, fresh, identity.samples);
  problems.push(...decoded.problems);
  if (problems.length === 0 && decoded.acc) {
    if (state.accumulator.metrics.numClasses !== fresh) problems.push(`metrics have ${state.accumulator.metrics.numClasses} classes, this run ${fresh}`);
    else problems.push(...verifyAgainstPredictions(state.accumulator.metrics, decoded.acc));
    // Every sample before `next` is counted once: evaluated (in both accumulators) or skipped.
    if (decoded.acc.count + state.skipped.length !== state.next) {
      problems.push(`next ${state.next}, ${decoded.acc.count} evaluated and ${state.skipped.length} skipped do not add up`);
    }
  }
  if (problems.length > 0 || !decoded.acc) {
    throw new DataError(`--resume: the state file is inconsistent (${describeProblems(problems)})`, { file, fix: 'delete it and run without --resume' });
  }
  return {
    metrics: MetricsAccumulator.fromState(state.accumulator.metrics, { real }),
    topk: decoded.acc,
    next: state.next,
    skipped: state.skipped,
    elapsedBefore: state.elapsed_s,
  };
}

/**
 * Saves the resume state after batches: after every batch while that stays cheap, otherwise as
 * often as keeps saving under 5% of the run (a save waits 20x its last cost). Measured: a save
 * (snapshot + JSON + write + rename) costs under 1 ms early on and 40-60 ms near the end of a
 * 50,000-image run (1.8 MB), so a kill -9 loses the batches in flight, or at most ~1 s of work.
 */
export class StateSaver {
  /** Longest wait between saves, whatever a save costs (one slow disk moment must not stretch it). */
  static readonly MAX_GAP_MS = 1000;
  private lastEnd = 0;
  /** Smoothed cost of a save, ms. */
  private cost = 0;
  writes = 0;
  totalMs = 0;
  constructor(readonly file: OutputTarget) {}

  due(): boolean {
    return performance.now() - this.lastEnd >= Math.min(StateSaver.MAX_GAP_MS, this.cost * 20);
  }

  async save<A>(state: () => EvalState<A>): Promise<void> {
    const t0 = performance.now();
    await writeState(this.file, state());
    this.lastEnd = performance.now();
    const took = this.lastEnd - t0;
    this.cost = this.writes === 0 ? took : 0.7 * this.cost + 0.3 * took;
    this.totalMs += took;
    this.writes++;
  }
}
