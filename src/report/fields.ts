/**
 * The one place the report reads result JSON. Results come from `zoo eval --json`, `zoo merge` and
 * sweeps, written by several versions of zoo: field names move from camelCase to snake_case (the old
 * names stay as aliases) and new blocks appear. Every read goes through `field()`, which tries the
 * names in order and returns the value together with its JSON path, so the page can mark each number
 * with where it came from (`data-path`) and a test can check it against the file.
 *
 * Nothing here computes a figure: a value the JSON does not hold is `null`, and the page says so.
 */

/** A JSON object as parsed. */
export type Json = { readonly [key: string]: unknown };

/** A value read from a result, and its path from the result object (`top1_interval.0`). */
export interface Field<T> {
  value: T;
  path: string;
}

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first of `names` present in `obj` whose value passes `is`, or null. */
function first<T>(obj: Json, prefix: string, names: readonly string[], is: (v: unknown) => v is T): Field<T> | null {
  for (const name of names) {
    const v = obj[name];
    if (is(v)) return { value: v, path: prefix + name };
  }
  return null;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';

/** A view of one object inside a result: typed reads by alias, each with its full path. */
export class Reader {
  constructor(
    readonly obj: Json,
    /** Path of `obj` from the result root, '' or ending with '.'. */
    readonly prefix: string = '',
  ) {}

  num(...names: string[]): Field<number> | null {
    return first(this.obj, this.prefix, names, isNumber);
  }
  str(...names: string[]): Field<string> | null {
    return first(this.obj, this.prefix, names, isString);
  }
  bool(...names: string[]): Field<boolean> | null {
    return first(this.obj, this.prefix, names, isBool);
  }
  /** A nested object, or null. */
  child(...names: string[]): Reader | null {
    const f = first(this.obj, this.prefix, names, isObject);
    return f ? new Reader(f.value, f.path + '.') : null;
  }
  /** A nested array's object items, each with its path. */
  list(...names: string[]): Reader[] {
    const f = first(this.obj, this.prefix, names, Array.isArray);
    if (!f) return [];
    return (f.value as unknown[]).flatMap((item, i) => (isObject(item) ? [new Reader(item, `${f.path}.${i}.`)] : []));
  }
  /** A nested array of numbers as fields (e.g. an interval), or null. */
  nums(...names: string[]): Field<number>[] | null {
    const f = first(this.obj, this.prefix, names, Array.isArray);
    if (!f) return null;
    const out = (f.value as unknown[]).map((v, i) => (isNumber(v) ? { value: v, path: `${f.path}.${i}` } : null));
    return out.every((x) => x !== null) ? (out as Field<number>[]) : null;
  }
  /** A nested array of strings, or []. */
  strs(...names: string[]): string[] {
    const f = first(this.obj, this.prefix, names, Array.isArray);
    return f ? (f.value as unknown[]).filter(isString) : [];
  }
}

/** Published figures a run is compared with. */
export interface PublishedView {
  source: Field<string> | null;
  dataset: Field<string> | null;
  top1: Field<number> | null;
  top5: Field<number> | null;
  top1Diff: Field<number> | null;
  top5Diff: Field<number> | null;
  consistentTop1: Field<boolean> | null;
  consistentTop5: Field<boolean> | null;
}

export interface ClassView {
  index: Field<number> | null;
  name: Field<string> | null;
  images: Field<number> | null;
  top1: Field<number>;
  top5: Field<number> | null;
}

export interface ConfusedView {
  trueName: string;
  predictedName: string;
  trueIndex: Field<number> | null;
  predictedIndex: Field<number> | null;
  count: Field<number>;
}

/** A second test set or label set measured for the same model (ReaL, ImageNetV2, ...). */
export interface OtherSetView {
  name: string;
  images: Field<number> | null;
  top1: Field<number> | null;
  top5: Field<number> | null;
  publishedTop1: Field<number> | null;
  publishedTop5: Field<number> | null;
}

/** Everything the page shows about one run, read by alias. */
export interface RunView {
  /** Index of the input file it came from, and the run's path inside that file ('' for a plain result). */
  source: number;
  root: string;
  label: string;
  model: Field<string> | null;
  arch: Field<string> | null;
  tag: Field<string> | null;
  dataset: Field<string> | null;
  images: Field<number> | null;
  top1: Field<number> | null;
  top5: Field<number> | null;
  top1Interval: Field<number>[] | null;
  top5Interval: Field<number>[] | null;
  subset: Field<boolean> | null;
  complete: Field<boolean> | null;
  comparable: Field<boolean> | null;
  notComparableBecause: string[];
  interrupted: Field<boolean> | null;
  verdict: Field<string> | null;
  published: PublishedView | null;
  params: Field<number> | null;
  gmacs: Field<number> | null;
  imagesPerSec: Field<number> | null;
  wallS: Field<number> | null;
  weightsFile: Field<string> | null;
  /** A model file run (ONNX, TF.js): its path and format. */
  modelFile: Field<string> | null;
  modelFormat: Field<string> | null;
  weightsSha256: Field<string> | null;
  evalConfig: Reader | null;
  evalConfigSource: Reader | Field<string> | null;
  engine: Field<string> | null;
  backend: Field<string> | null;
  device: Field<string> | null;
  zooVersion: Field<string> | null;
  date: Field<string> | null;
  dataRoot: Field<string> | null;
  selectionImages: Field<number> | null;
  dataComplete: Field<boolean> | null;
  dataWarnings: string[];
  skipped: { file: Field<string> | null; error: Field<string> | null }[];
  skippedCount: Field<number> | null;
  perClass: ClassView[];
  mostConfused: ConfusedView[];
  otherSets: OtherSetView[];
  mergedFrom: number;
  /** Per-image outcomes (`per_image`: file, label, top-1 columns) when the result holds them. */
  perImage: { file: string; label: number; top1: number }[] | null;
}

function published(p: Reader | null): PublishedView | null {
  if (!p) return null;
  return {
    source: p.str('source'),
    dataset: p.str('dataset'),
    top1: p.num('top1'),
    top5: p.num('top5'),
    top1Diff: p.num('top1_diff', 'top1Diff'),
    top5Diff: p.num('top5_diff', 'top5Diff'),
    consistentTop1: p.bool('consistent_top1', 'consistentTop1'),
    consistentTop5: p.bool('consistent_top5', 'consistentTop5'),
  };
}

function otherSets(r: Reader): OtherSetView[] {
  const out: OtherSetView[] = [];
  const real = r.child('real');
  if (real) {
    const p = real.child('published');
    out.push({
      name: 'ImageNet-ReaL',
      images: real.num('images'),
      top1: real.num('top1'),
      top5: real.num('top5'),
      publishedTop1: p?.num('top1') ?? null,
      publishedTop5: p?.num('top5') ?? null,
    });
  }
  // Further test sets evaluated in the same run (issue 13), when a result lists them.
  for (const s of r.list('datasets', 'test_sets')) {
    const p = s.child('published');
    out.push({
      name: s.str('dataset', 'name')?.value ?? 'test set',
      images: s.num('images'),
      top1: s.num('top1'),
      top5: s.num('top5'),
      publishedTop1: p?.num('top1') ?? null,
      publishedTop5: p?.num('top5') ?? null,
    });
  }
  return out;
}

/** Reads one result object (at `root` inside input file `source`). */
export function readRun(obj: Json, source: number, root: string): RunView {
  const r = new Reader(obj, root ? root + '.' : '');
  const identity = r.child('identity');
  const weights = identity?.child('weights') ?? r.child('weights_identity');
  const data = r.child('data');
  const selection = r.child('selection');
  const model = r.str('model', 'model_name');
  const arch = r.str('arch');
  const tag = r.str('tag');
  const skippedList = r.list('skipped');
  return {
    source,
    root,
    label: identity?.str('model')?.value ?? (arch && tag ? `${arch.value}.${tag.value}` : (model?.value ?? `run ${source + 1}`)),
    model,
    arch,
    tag,
    dataset: r.str('dataset', 'test_set') ?? r.child('published')?.str('dataset') ?? null,
    images: r.num('images', 'num_images', 'count'),
    top1: r.num('top1', 'top1_acc'),
    top5: r.num('top5', 'top5_acc'),
    top1Interval: r.nums('top1_interval', 'top1Interval'),
    top5Interval: r.nums('top5_interval', 'top5Interval'),
    subset: r.bool('subset'),
    complete: r.bool('complete'),
    comparable: r.bool('comparable'),
    notComparableBecause: r.strs('not_comparable_because', 'notComparableBecause'),
    interrupted: r.bool('interrupted'),
    verdict: r.str('verdict'),
    published: published(r.child('published')),
    params: r.num('param_count', 'params_m', 'paramCount'),
    gmacs: r.num('gmacs', 'gmac', 'macs_g'),
    imagesPerSec: r.num('images_per_sec', 'imagesPerSec', 'img_per_sec'),
    wallS: r.num('wall_s', 'wallS'),
    weightsFile: weights?.str('file') ?? r.str('weights'),
    modelFile: r.child('model_file', 'modelFile')?.str('file') ?? null,
    modelFormat: r.child('model_file', 'modelFile')?.str('format') ?? null,
    weightsSha256: weights?.str('sha256') ?? r.str('weights_sha256'),
    evalConfig: r.child('eval_config', 'evalConfig', 'config'),
    evalConfigSource: r.child('eval_config_source', 'eval_config_sources', 'config_source', 'config_sources') ?? r.str('eval_config_source', 'config_source'),
    engine: r.str('engine'),
    backend: r.str('backend'),
    device: r.str('device'),
    zooVersion: r.str('zoo_version', 'zooVersion', 'version'),
    date: r.str('date', 'finished_at', 'finishedAt', 'created_at', 'timestamp'),
    dataRoot: data?.str('root') ?? identity?.str('data_root', 'dataRoot') ?? null,
    selectionImages: selection?.num('images') ?? null,
    dataComplete: data?.bool('complete') ?? null,
    dataWarnings: data?.strs('warnings') ?? [],
    skipped: skippedList.map((s) => ({ file: s.str('file'), error: s.str('error') })),
    skippedCount: r.num('skipped_count', 'skippedCount'),
    perClass: r
      .list('per_class', 'perClass')
      .map((c) => ({ index: c.num('class', 'index'), name: c.str('name'), images: c.num('images'), top1: c.num('top1'), top5: c.num('top5') }))
      .filter((c): c is ClassView => c.top1 !== null),
    mostConfused: r
      .list('most_confused', 'mostConfused')
      .map((p) => {
        const count = p.num('count');
        const t = p.num('true', 'true_class');
        const q = p.num('predicted', 'predicted_class');
        return count
          ? [{ count, trueIndex: t, predictedIndex: q, trueName: p.str('true_name', 'trueName')?.value ?? String(t?.value ?? '?'), predictedName: p.str('predicted_name', 'predictedName')?.value ?? String(q?.value ?? '?') }]
          : [];
      })
      .flat(),
    otherSets: otherSets(r),
    mergedFrom: r.list('merged_from', 'mergedFrom').length,
    perImage: perImage(obj['per_image'] ?? obj['perImage']),
  };
}

/** `per_image` as rows, or null when absent or malformed (the page then has no JSON-based examples). */
function perImage(v: unknown): RunView['perImage'] {
  if (!isObject(v)) return null;
  const { file, label, top1 } = v;
  if (!Array.isArray(file) || !Array.isArray(label) || !Array.isArray(top1) || label.length !== file.length || top1.length !== file.length) return null;
  const rows: { file: string; label: number; top1: number }[] = [];
  for (let i = 0; i < file.length; i++) {
    const [f, l, t] = [file[i], label[i], top1[i]];
    if (!isString(f) || !isNumber(l) || !isNumber(t)) return null;
    rows.push({ file: f, label: l, top1: t });
  }
  return rows;
}

/**
 * The results an input file holds: a plain result object, an array of them, or an object holding
 * them under `results` / `runs` (a sweep). Returns each object with its path in the file.
 */
export function resultsIn(doc: unknown): { obj: Json; root: string }[] {
  const looksLikeResult = (o: Json) => 'top1' in o || 'top1_acc' in o;
  if (Array.isArray(doc)) return doc.flatMap((o, i) => (isObject(o) && looksLikeResult(o) ? [{ obj: o, root: String(i) }] : []));
  if (!isObject(doc)) return [];
  if (looksLikeResult(doc)) return [{ obj: doc, root: '' }];
  for (const key of ['results', 'runs', 'models']) {
    const list = doc[key];
    if (Array.isArray(list)) return list.flatMap((o, i) => (isObject(o) && looksLikeResult(o) ? [{ obj: o, root: `${key}.${i}` }] : []));
  }
  return [];
}

/** Eval-config entries to show, snake_case names first: [label, field]. */
export function evalConfigRows(cfg: Reader): [string, Field<number> | Field<string> | Field<number>[] | null][] {
  return [
    ['input size', cfg.nums('input_size', 'inputSize')],
    ['interpolation', cfg.str('interpolation')],
    ['crop pct', cfg.num('crop_pct', 'cropPct')],
    ['crop mode', cfg.str('crop_mode', 'cropMode')],
    // Only in results that trimmed a border (timm's crop_border_pixels); absent rows are not shown.
    ['crop border pixels', cfg.num('crop_border_pixels', 'cropBorderPixels')],
    ['mean', cfg.nums('mean')],
    ['std', cfg.nums('std')],
  ];
}
