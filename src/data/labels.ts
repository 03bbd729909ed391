/**
 * `--labels FILE` for a flat val folder. Accepted forms, told apart by their content:
 * - val.txt: `ILSVRC2012_val_00000001.JPEG 65` per line (class index 0..999 in sorted-synset order);
 * - LOC_val_solution.csv (Kaggle): header `ImageId,PredictionString`, rows
 *   `ILSVRC2012_val_00008726,n02119789 255 142 454 329 n02119789 44 21 322 295` (first synset is the class).
 * The devkit's ILSVRC2012_validation_ground_truth.txt (one number per line) holds ILSVRC2012_IDs, which
 * are *not* class indices and need the devkit's meta.mat to map; it is refused with a clear error
 * rather than silently mis-scored.
 */
import { readFile } from 'node:fs/promises';
import { DataError } from '../errors.js';
import { synsetToIndex } from './imagenet.js';

/** Labels keyed by image name without extension (`ILSVRC2012_val_00000001`). */
export type LabelMap = ReadonlyMap<string, number>;

export function stemOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

export function parseLabels(text: string, file: string): LabelMap {
  const rows = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  const out = new Map<string, number>();
  if (rows.length === 0) throw new DataError('labels file is empty', { file, expected: 'lines `NAME LABEL`' });

  if (/^ImageId\s*,\s*PredictionString$/i.test(rows[0]!)) {
    const index = synsetToIndex();
    for (let i = 1; i < rows.length; i++) {
      const comma = rows[i]!.indexOf(',');
      const id = rows[i]!.slice(0, comma).trim();
      const synset = rows[i]!.slice(comma + 1).trim().split(/\s+/)[0] ?? '';
      const label = index.get(synset);
      if (comma < 0 || label === undefined) {
        throw new DataError(`line ${i + 1} is not \`ImageId,<synset> ...\` with a known synset: ${rows[i]!.slice(0, 80)}`, {
          file,
          expected: 'LOC_val_solution.csv rows such as `ILSVRC2012_val_00008726,n02119789 255 142 454 329`',
        });
      }
      out.set(stemOf(id), label);
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
    const label = Number(parts[1]);
    if (parts.length !== 2 || !Number.isInteger(label) || label < 0 || label > 999) {
      throw new DataError(`line ${i + 1} is not \`NAME LABEL\` with LABEL in 0..999: ${rows[i]!.slice(0, 80)}`, {
        file,
        expected: 'val.txt lines such as `ILSVRC2012_val_00000001.JPEG 65`, or LOC_val_solution.csv',
      });
    }
    // Names may carry a folder (`val/ILSVRC2012_val_00000001.JPEG`): match on the basename.
    const base = parts[0]!.split(/[\\/]/).pop()!;
    out.set(stemOf(base), label);
  }
  return out;
}

export async function readLabels(file: string): Promise<LabelMap> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new DataError(`cannot read labels file: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
      file,
      fix: 'check the --labels path',
    });
  }
  return parseLabels(text, file);
}
