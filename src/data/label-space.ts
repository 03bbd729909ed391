/**
 * Label spaces: which model outputs may be predicted. ImageNet-A and -R (and their -clean val
 * subsets) score only 200 of the 1,000 classes, as timm's `--valid-labels` does: top-k among those
 * logits. We keep ImageNet-1k class indices (0..999) in every prediction, so the masked classes are
 * simply never ranked; a predictions CSV means the same on every set.
 */
import { DataError, ExitCode } from '../errors.js';
import { LIST_MAX_BYTES, readInputText } from '../io/input.js';

/** Output indices allowed, ascending, or null for all outputs. */
export type ValidLabels = readonly number[] | null;

/** `--valid-labels FILE`: one output index per line (timm's format). `classes`: the model's output count. */
export async function readValidLabels(path: string, classes = 1000): Promise<number[]> {
  const text = await readInputText(path, { what: '--valid-labels', maxBytes: LIST_MAX_BYTES, exitCode: ExitCode.DATA, fix: 'check the --valid-labels path' });
  return parseValidLabels(text, path, classes);
}

export function parseValidLabels(text: string, file: string, classes = 1000): number[] {
  const rows = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  const expected = `one output index (0..${classes - 1}) per line, e.g. timm's imagenet_a_indices.txt`;
  if (rows.length === 0) throw new DataError('--valid-labels is empty', { file, expected });
  const out = new Set<number>();
  rows.forEach((r, i) => {
    const v = Number(r);
    if (!/^\d+$/.test(r) || v >= classes) throw new DataError(`--valid-labels line ${i + 1} is not an index in 0..${classes - 1}: '${r.slice(0, 40)}'`, { file, expected });
    out.add(v);
  });
  return [...out].sort((a, b) => a - b);
}

/**
 * Masks `rows` rows of `classes` logits in place: every output not in `valid` becomes NaN, which
 * top-k never ranks (metrics/topk.ts). Ties among the valid ones still go to the lower index, the
 * order timm's `output[:, valid_labels]` keeps for an ascending list.
 */
export function maskLogits(logits: Float32Array, rows: number, classes: number, valid: readonly number[]): void {
  const keep = new Uint8Array(classes);
  for (const c of valid) if (c < classes) keep[c] = 1;
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    for (let c = 0; c < classes; c++) if (!keep[c]) logits[base + c] = NaN;
  }
}
