/**
 * The files one zoo run hands to another, checked field by field before use: a resume state
 * (`--state`), a shard result (`zoo merge`), a baseline (`--baseline`). A file that is `null`, lacks
 * a field, holds `identity: "x"` or a count of the wrong type or range would otherwise surface as a
 * TypeError (exit 70) or as wrong numbers; each check returns what is wrong, phrased for a one-line
 * error (the callers raise a DataError, exit 3).
 */
import { percent } from '../metrics/compare.js';
import { verifyMetricsState } from '../metrics/verify.js';
import { snakeName } from '../io/json-keys.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isStr = (v: unknown): v is string => typeof v === 'string';
const isSeconds = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isPercent = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 100;

/** Collects `name: what is wrong` for the fields that fail their check. */
class Problems {
  readonly list: string[] = [];
  check(ok: boolean, name: string, what: string): boolean {
    if (!ok) this.list.push(`${name} ${what}`);
    return ok;
  }
}

/** A RunIdentity (src/cli/state.ts) as written into states and results. */
export function identityProblems(v: unknown, where = 'identity'): string[] {
  const p = new Problems();
  if (!p.check(isObj(v), where, 'is not an object')) return p.list;
  const id = v as Obj;
  p.check(isStr(id.model), `${where}.model`, 'is not a string');
  const w = id.weights;
  if (p.check(isObj(w), `${where}.weights`, 'is not an object')) {
    const wo = w as Obj;
    p.check(isStr(wo.file), `${where}.weights.file`, 'is not a string');
    p.check(isCount(wo.bytes), `${where}.weights.bytes`, 'is not a byte count');
    p.check(isStr(wo.sha256) && /^[0-9a-f]{64}$/.test(wo.sha256), `${where}.weights.sha256`, 'is not a SHA-256 (64 hex digits)');
  }
  p.check(isObj(id.eval_config), `${where}.eval_config`, 'is not an object');
  p.check(isStr(id.data_root) || (Array.isArray(id.data_root) && id.data_root.length > 1 && id.data_root.every(isStr)), `${where}.data_root`, 'is not a path or a list of paths');
  p.check(id.labels === null || isStr(id.labels), `${where}.labels`, 'is not a string or null');
  p.check(isCount(id.samples), `${where}.samples`, 'is not an image count');
  const sel = id.selection;
  if (p.check(isObj(sel), `${where}.selection`, 'is not an object')) {
    const so = sel as Obj;
    p.check(so.per_class === null || (isCount(so.per_class) && so.per_class > 0), `${where}.selection.per_class`, 'is not a positive count or null');
    p.check(so.limit === null || (isCount(so.limit) && so.limit > 0), `${where}.selection.limit`, 'is not a positive count or null');
    p.check(so.shard === null || (isStr(so.shard) && /^\d+\/\d+$/.test(so.shard)), `${where}.selection.shard`, "is not 'i/n' or null");
  }
  p.check(id.on_error === 'stop' || id.on_error === 'skip', `${where}.on_error`, "is not 'stop' or 'skip'");
  p.check(id.real_labels === null || isStr(id.real_labels), `${where}.real_labels`, 'is not a string or null');
  return p.list;
}

/** Skipped images: `{index, file, error}` in a state (index below `below`), `{file, error}` in a result. */
function skippedProblems(v: unknown, below: number | null, where: string): string[] {
  const p = new Problems();
  if (!p.check(Array.isArray(v), where, 'is not a list')) return p.list;
  (v as unknown[]).some((s, i) => {
    const ok = isObj(s) && (below === null || (isCount(s.index) && s.index < below)) && isStr(s.file) && isStr(s.error);
    return !p.check(ok, `${where}[${i}]`, below === null ? 'is not {file, error}' : `is not {index < ${below}, file, error}`);
  });
  return p.list;
}

/**
 * A resume state's fields, apart from the accumulator's counts (checked against the run's class
 * count by the caller, src/metrics/verify.ts).
 */
export function stateProblems(v: unknown): string[] {
  const p = new Problems();
  if (!p.check(isObj(v), 'the state', 'is not an object')) return p.list;
  const s = v as Obj;
  p.list.push(...identityProblems(s.identity));
  const samples = isObj(s.identity) && isCount(s.identity.samples) ? s.identity.samples : Infinity;
  if (p.check(isCount(s.next), 'next', 'is not an image count')) p.check((s.next as number) <= samples, 'next', `${String(s.next)} is beyond the ${samples} selected images`);
  p.list.push(...skippedProblems(s.skipped, isCount(s.next) ? s.next : Infinity, 'skipped'));
  p.check(isSeconds(s.elapsed_s), 'elapsed_s', `${JSON.stringify(s.elapsed_s)} is not a non-negative number of seconds`);
  const acc = s.accumulator;
  if (p.check(isObj(acc), 'accumulator', 'is not an object')) {
    p.check(isObj((acc as Obj).metrics), 'accumulator.metrics', 'is not an object');
    p.check(isObj((acc as Obj).topk), 'accumulator.topk', 'is not an object');
  }
  return p.list;
}

/**
 * A `zoo eval --json` result as `zoo merge` reads it: the fields merge computes with, its
 * metrics_state's own sums, and the figures printed in it against those counts (an edited top1 or
 * top1_correct is caught even though merge recomputes them).
 */
export function shardProblems(v: unknown): string[] {
  const p = new Problems();
  if (!p.check(isObj(v), 'the result', 'is not an object')) return p.list;
  const r = v as Obj;
  p.check(isStr(r.model), 'model', 'is not a string');
  p.list.push(...identityProblems(r.identity));
  const ms = verifyMetricsState(r.metrics_state).map((m) => `metrics_state: ${m}`);
  p.list.push(...ms);
  const d = r.data;
  if (p.check(isObj(d), 'data', 'is not an object')) {
    const dob = d as Obj;
    p.check(isCount(dob.found), 'data.found', 'is not an image count');
    p.check(typeof dob.complete === 'boolean', 'data.complete', 'is not true/false');
    p.check(Array.isArray(dob.warnings) && dob.warnings.every(isStr), 'data.warnings', 'is not a list of strings');
  }
  p.check(isObj(r.selection), 'selection', 'is not an object');
  p.list.push(...skippedProblems(r.skipped, null, 'skipped'));
  p.check(typeof r.interrupted === 'boolean', 'interrupted', 'is not true/false');
  p.check(typeof r.resumed === 'boolean', 'resumed', 'is not true/false');
  p.check(Array.isArray(r.not_comparable_because) && r.not_comparable_because.every(isStr), 'not_comparable_because', 'is not a list of strings');
  p.check(isSeconds(r.images_per_sec), 'images_per_sec', 'is not a non-negative number');
  p.check(isSeconds(r.wall_s), 'wall_s', `${JSON.stringify(r.wall_s)} is not a non-negative number of seconds`);
  if (ms.length === 0 && isObj(r.metrics_state)) {
    const m = r.metrics_state as unknown as { images: number; top1Correct: number; top5Correct: number };
    p.check(r.images === m.images, 'images', `${JSON.stringify(r.images)} differs from metrics_state's ${m.images}`);
    p.check(r.top1_correct === m.top1Correct, 'top1_correct', `${JSON.stringify(r.top1_correct)} differs from metrics_state's ${m.top1Correct}`);
    p.check(r.top5_correct === m.top5Correct, 'top5_correct', `${JSON.stringify(r.top5_correct)} differs from metrics_state's ${m.top5Correct}`);
    for (const [k, hits] of [['top1', m.top1Correct], ['top5', m.top5Correct]] as const) {
      const want = percent(hits, m.images);
      p.check(isPercent(r[k]) && Math.abs((r[k] as number) - want) < 1e-3, k, `${JSON.stringify(r[k])} is not the ${want.toFixed(4)} its counts give`);
    }
  }
  return p.list;
}

/** The numbers of a --baseline result: percentages in range, counts that give them. */
export function baselineProblems(o: Obj): string[] {
  const p = new Problems();
  const okImages = p.check(isCount(o.images) && o.images > 0, 'images', `${JSON.stringify(o.images)} is not a positive image count`);
  p.check(isPercent(o.top1), 'top1', `${JSON.stringify(o.top1)} is not a percentage (0..100)`);
  p.check(isPercent(o.top5), 'top5', `${JSON.stringify(o.top5)} is not a percentage (0..100)`);
  if (isPercent(o.top1) && isPercent(o.top5)) p.check(o.top1 <= o.top5 + 1e-9, 'top1', `${o.top1} is above top5 ${o.top5}`);
  for (const [k, pctKey] of [['top1_correct', 'top1'], ['top5_correct', 'top5']] as const) {
    if (o[k] === undefined) continue;
    if (!p.check(isCount(o[k]) && (!okImages || (o[k] as number) <= (o.images as number)), k, `${JSON.stringify(o[k])} is not a count within the ${String(o.images)} images`)) continue;
    if (okImages && isPercent(o[pctKey])) {
      const want = percent(o[k] as number, o.images as number);
      p.check(Math.abs(want - (o[pctKey] as number)) < 1e-3, k, `${String(o[k])} of ${String(o.images)} images is ${want.toFixed(4)}%, not the ${String(o[pctKey])} in ${pctKey}`);
    }
  }
  return p.list;
}

/**
 * The first few problems as one clause for a message, field names as the file spells them
 * (snake_case: the checks run on the code's camelCase view, src/io/json-keys.ts).
 */
export function describeProblems(problems: readonly string[]): string {
  const shown = problems
    .slice(0, 3)
    .map((m) => m.replace(/(^|[\s.(])([a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+)(?=[\s.:,)]|$)/g, (_, before: string, name: string) => before + snakeName(name)))
    .join('; ');
  return problems.length > 3 ? `${shown}; and ${problems.length - 3} more` : shown;
}
