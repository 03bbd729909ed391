/**
 * `--class-map FILE`, as timm's `load_class_map` reads a .txt: one class name per line, the line
 * number (0-based) is the model output index the name maps to. Folder names (WordNet ids, V2's class
 * numbers, anything) are looked up here instead of in the bundled synset list.
 */
import { readFileSync } from 'node:fs';
import { DataError } from '../errors.js';

/** The class names in output-index order (line i names output i). Throws DataError on a bad file. */
export function readClassMap(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DataError(`cannot read --class-map: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file: path, fix: 'check the --class-map path' });
  }
  return parseClassMap(text, path);
}

export function parseClassMap(text: string, file: string): string[] {
  const lines = text.split(/\r?\n/);
  // A trailing newline is not a class; a blank line in the middle would shift every index after it.
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  const names = lines.map((l) => l.trim());
  const expected = 'one class name per line, line i naming model output i (timm --class-map .txt)';
  if (names.length === 0) throw new DataError('--class-map is empty', { file, expected });
  const seen = new Map<string, number>();
  for (let i = 0; i < names.length; i++) {
    const n = names[i]!;
    if (n === '') throw new DataError(`--class-map line ${i + 1} is empty (every later index would shift)`, { file, expected, fix: 'remove the blank line' });
    const first = seen.get(n);
    if (first !== undefined) {
      throw new DataError(`--class-map names '${n}' twice (lines ${first + 1} and ${i + 1})`, { file, expected, fix: 'each class name must appear once' });
    }
    seen.set(n, i);
  }
  return names;
}

/** name -> output index. */
export function classMapIndex(names: readonly string[]): ReadonlyMap<string, number> {
  return new Map(names.map((n, i) => [n, i]));
}
