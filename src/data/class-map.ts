/**
 * `--class-map FILE`, as timm's `load_class_map` reads a .txt: one class name per line, the line
 * number (0-based) is the model output it names. For a model file (`zoo eval x.onnx --class-map F`)
 * the file says which ImageNet class each model output is: parseImagenetClassMap resolves the lines
 * against the bundled classes, so outputs are adapted to ImageNet-1k order and every test set's
 * folders (WordNet ids, V2's class indices) keep their usual labels.
 */
import { DataError, ExitCode } from '../errors.js';
import { loadSynsets, readAsset, synsetToIndex, WNID } from './imagenet.js';
import { LIST_MAX_BYTES, readInputText } from '../io/input.js';

/** Model output i -> ImageNet class index, or -1 for an output that is no ImageNet class. */
export interface ClassMap {
  readonly file: string;
  readonly classes: Int32Array;
}

const UNMAPPED = new Set(['', '-', 'background', 'none', 'unused', 'dummy', '__background__']);

/** Label files spell some names differently (`jelly fish` / `jellyfish`, `T-shirt` / `t shirt`): compare letters and digits only. */
const squash = (name: string) => name.toLowerCase().replace(/[^a-z0-9,]+/g, '');

let namesIndex: ReadonlyMap<string, number[]> | undefined;

/** Lower-cased full synset_words text and first names -> class indices (some names repeat: `crane`). */
function classNameIndex(): ReadonlyMap<string, number[]> {
  if (namesIndex) return namesIndex;
  const m = new Map<string, number[]>();
  const add = (k: string, i: number) => {
    const list = m.get(k) ?? [];
    if (!list.includes(i)) list.push(i);
    m.set(k, list);
  };
  const words = readAsset('synset_words.txt');
  const index = synsetToIndex();
  for (const line of words.split(/\r?\n/)) {
    const sp = line.indexOf(' ');
    if (sp < 0) continue;
    const i = index.get(line.slice(0, sp));
    if (i === undefined) continue;
    const text = line.slice(sp + 1).trim().toLowerCase();
    const first = text.split(',')[0]!.trim();
    for (const k of [text, first]) {
      add(k, i);
      add(squash(k), i);
    }
  }
  namesIndex = m;
  return m;
}

/** Strips quotes and a trailing comment-free `index: name` / `index name` prefix some label files carry. */
function cleanLine(raw: string): string {
  let s = raw.trim();
  if ((s.startsWith('"') && s.endsWith('"')) || (s.startsWith("'") && s.endsWith("'"))) s = s.slice(1, -1).trim();
  return s;
}

/**
 * A class map for a model file's outputs, resolved to ImageNet-1k classes: each line a WordNet id, a
 * class index 0..999, a class name as in synset_words.txt (full or first name: the form of Keras /
 * TF.js label files and ONNX Model Zoo's imagenet_classes.txt, where `crane` and `maillot` repeat and
 * are told apart by position), or `background` / `-` for an output that is no ImageNet class.
 */
export function parseImagenetClassMap(text: string, file: string, flag = '--class-map'): ClassMap {
  const rows = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  while (rows.length > 0 && rows[rows.length - 1]!.trim() === '') rows.pop();
  if (rows.length === 0) {
    throw new DataError(`${flag} file is empty`, { file, expected: 'one line per model output: a WordNet id, a class index or a class name' });
  }
  const index = synsetToIndex();
  const names = classNameIndex();
  const classes = new Int32Array(rows.length).fill(-1);
  const used = new Map<number, number>();
  // Position hint for repeated names: a 1,000-line file lists class i on line i, a 1,001-line one on i+1.
  const shift = rows.length === 1001 ? 1 : 0;
  for (let i = 0; i < rows.length; i++) {
    const s = cleanLine(rows[i]!);
    const low = s.toLowerCase();
    let c: number | undefined;
    if (UNMAPPED.has(low)) continue;
    if (WNID.test(s)) c = index.get(s);
    else if (/^\d+$/.test(s)) c = Number(s) <= 999 ? Number(s) : undefined;
    else {
      const cands = names.get(low) ?? names.get(squash(low));
      if (cands) c = cands.find((k) => k === i - shift && !used.has(k)) ?? cands.find((k) => !used.has(k)) ?? cands[0];
    }
    if (c === undefined) {
      throw new DataError(`line ${i + 1} names no ImageNet class: '${s.slice(0, 60)}'`, {
        file,
        expected: 'a WordNet id (n01440764), a class index 0..999, a class name as in synset_words.txt, or background',
        fix: `fix that line of ${flag}`,
      });
    }
    const before = used.get(c);
    if (before !== undefined) {
      throw new DataError(`lines ${before + 1} and ${i + 1} both name class ${c} (${loadSynsets()[c]})`, {
        file,
        expected: 'each ImageNet class at most once',
        fix: `fix ${flag}`,
      });
    }
    used.set(c, i);
    classes[i] = c;
  }
  return { file, classes };
}

export async function readImagenetClassMap(file: string, flag = '--class-map'): Promise<ClassMap> {
  const text = await readInputText(file, { what: flag, maxBytes: LIST_MAX_BYTES, exitCode: ExitCode.DATA });
  return parseImagenetClassMap(text, file, flag);
}
