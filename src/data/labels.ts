/**
 * `--labels FILE` for a flat val folder. Accepted forms, told apart by their content:
 * - val.txt: `ILSVRC2012_val_00000001.JPEG 65` per line (class index 0..999 in sorted-synset order);
 * - LOC_val_solution.csv (Kaggle): header `ImageId,PredictionString`, rows
 *   `ILSVRC2012_val_00008726,n02119789 255 142 454 329 n02119789 44 21 322 295` (first synset is the class).
 * The devkit's ILSVRC2012_validation_ground_truth.txt (one number per line) holds ILSVRC2012_IDs, which
 * are *not* class indices and need the devkit's meta.mat to map; it is refused with a clear error
 * rather than silently mis-scored.
 */
import { DataError, ExitCode } from '../errors.js';
import { synsetToIndex } from './imagenet.js';
import { LIST_MAX_BYTES, readInputFile } from '../io/input.js';

/** Labels keyed by image name without extension (`ILSVRC2012_val_00000001`). */
export type LabelMap = ReadonlyMap<string, number>;

export function stemOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

/**
 * A line as it may appear in a one-line message: control bytes (a binary file's, an escape sequence
 * that would drive the terminal) shown as \xNN, long lines cut.
 */
export function printable(line: string, max = 80): string {
  const cut = line.length > max ? `${line.slice(0, max)}...` : line;
  return cut.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** A label: decimal digits only (`0x10`, `1e1`, `+5`, `5.0` are refused, not read as numbers). */
const DECIMAL = /^\d{1,4}$/;

/**
 * Records `label` for `stem`, refusing a second line that gives the same image another label (a
 * repeat with the same label is harmless). `lineOf` remembers where each name was first given.
 */
function setLabel(out: Map<string, number>, lineOf: Map<string, number>, stem: string, label: number, line: number, file: string): void {
  const had = out.get(stem);
  if (had !== undefined && had !== label) {
    throw new DataError(`line ${line} gives ${printable(stem)} label ${label}, line ${lineOf.get(stem)} gave it ${had}`, {
      file,
      expected: 'one label per image',
      fix: 'remove the wrong line',
    });
  }
  if (had === undefined) lineOf.set(stem, line);
  out.set(stem, label);
}

export function parseLabels(text: string, file: string): LabelMap {
  // Line numbers as an editor shows them: blank lines count.
  const numbered = text.split(/\r?\n/).map((l, i) => ({ text: l.trim(), line: i + 1 })).filter((l) => l.text.length > 0);
  const control = numbered.find((l) => /[\u0000-\u0008\u000e-\u001f\u007f]/.test(l.text));
  if (control) {
    throw new DataError(`line ${control.line} holds control bytes: not a text labels file`, {
      file,
      expected: 'a text file of `NAME LABEL` lines (val.txt form) or LOC_val_solution.csv',
    });
  }
  const rows = numbered.map((l) => l.text);
  const lineNo = (i: number) => numbered[i]!.line;
  const out = new Map<string, number>();
  const lineOf = new Map<string, number>();
  if (rows.length === 0) throw new DataError('labels file is empty', { file, expected: 'lines `NAME LABEL`' });

  if (/^ImageId\s*,\s*PredictionString$/i.test(rows[0]!)) {
    const index = synsetToIndex();
    for (let i = 1; i < rows.length; i++) {
      const comma = rows[i]!.indexOf(',');
      const id = rows[i]!.slice(0, comma).trim();
      const synset = rows[i]!.slice(comma + 1).trim().split(/\s+/)[0] ?? '';
      const label = index.get(synset);
      if (comma < 0 || label === undefined) {
        throw new DataError(`line ${lineNo(i)} is not \`ImageId,<synset> ...\` with a known synset: ${printable(rows[i]!)}`, {
          file,
          expected: 'LOC_val_solution.csv rows such as `ILSVRC2012_val_00008726,n02119789 255 142 454 329`',
        });
      }
      setLabel(out, lineOf, stemOf(id), label, lineNo(i), file);
    }
    return out;
  }

  if (rows.every((r) => /^\d+$/.test(r))) {
    throw new DataError('looks like the devkit ILSVRC2012_validation_ground_truth.txt (one ILSVRC2012_ID per line)', {
      file,
      expected: '`NAME LABEL` lines (val.txt form) or LOC_val_solution.csv; devkit ids are not class indices',
      fix: 'omit --labels to use the bundled val ground truth, or pass val.txt / LOC_val_solution.csv',
    });
  }

  for (let i = 0; i < rows.length; i++) {
    const parts = rows[i]!.split(/[\s,]+/);
    const label = DECIMAL.test(parts[1] ?? '') ? Number(parts[1]) : NaN;
    if (parts.length !== 2 || !Number.isInteger(label) || label < 0 || label > 999) {
      throw new DataError(`line ${lineNo(i)} is not \`NAME LABEL\` with LABEL a decimal class index 0..999: ${printable(rows[i]!)}`, {
        file,
        expected: 'val.txt lines such as `ILSVRC2012_val_00000001.JPEG 65`, or LOC_val_solution.csv',
      });
    }
    // Names may carry a folder (`val/ILSVRC2012_val_00000001.JPEG`): match on the basename.
    const base = parts[0]!.split(/[\\/]/).pop()!;
    setLabel(out, lineOf, stemOf(base), label, lineNo(i), file);
  }
  return out;
}

export async function readLabels(file: string): Promise<LabelMap> {
  const bytes = await readInputFile(file, { what: '--labels', maxBytes: LIST_MAX_BYTES, exitCode: ExitCode.DATA, fix: 'check the --labels path' });
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const loose = new TextDecoder().decode(bytes);
    const line = loose.slice(0, Math.max(0, loose.indexOf('\uFFFD'))).split('\n').length;
    throw new DataError(`line ${line} is not UTF-8 text: not a text labels file`, {
      file,
      expected: 'a text file of `NAME LABEL` lines (val.txt form) or LOC_val_solution.csv',
    });
  }
  return parseLabels(text, file);
}
