/**
 * The models a `zoo eval` command names: positional specs and `--models-file FILE` lines, each an
 * architecture (its default tag), `arch.tag`, a glob matched case-insensitively against the
 * catalogue (`'rexnet_*'`, `'*.nav_in1k'`: architecture names give their default tag, tag names
 * themselves), or a model file; a --models-file line may add the model's weights file. Duplicates (the same tag or file named twice) are kept once, in the
 * order first named. Unknown names and globs that match nothing are usage errors before any work.
 */
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { LIST_MAX_BYTES, readInputText } from '../io/input.js';
import { looksLikeModelPath } from '../models/file/locate.js';
import { allTags, resolveModel } from '../models/registry.js';
import { tryResolve } from './source.js';

/** What makes a model name a glob (`zoo eval`, `zoo list`). */
export const GLOB_CHARS = /[*?[]/;

/** A shell glob (`*`, `?`, `[...]`) as a whole-name, case-insensitive RegExp (`zoo eval` and `zoo list`). */
export function globRegex(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'i');
}

/** The catalogued tags a glob names: tags matched by name, and architectures matched by name (their default tag). */
function expandGlob(glob: string): string[] {
  const re = globRegex(glob);
  const out: string[] = [];
  for (const t of allTags()) {
    if (!resolveModel(t.name).architecture) continue; // catalogued only: nothing to run
    if (re.test(t.name) || (t.isDefault && re.test(t.arch))) out.push(t.name);
  }
  if (out.length === 0) throw new UsageError(`'${glob}' matches no model of the catalogue`, { fix: '`zoo list` shows every model; quote the pattern so the shell leaves it alone' });
  return out;
}

export interface ModelsFile {
  specs: string[];
  /** The checkpoint a line names after its model ("MODEL WEIGHTS"), by spec; resolved against the file's folder. */
  weights: Map<string, string>;
}

/**
 * `--models-file`: one model per line, optionally followed by its checkpoint (what --weights is to a
 * single run: a manual download, a fine-tune); `#` starts a comment, blank lines are ignored.
 */
export async function readModelsFile(path: string): Promise<ModelsFile> {
  const text = await readInputText(path, { what: '--models-file', maxBytes: LIST_MAX_BYTES, fix: 'name a text file with one model per line' });
  const out: ModelsFile = { specs: [], weights: new Map() };
  for (const line of text.split(/\r?\n/).map((l) => l.replace(/#.*/, '').trim())) {
    if (line === '') continue;
    const [, spec, rest] = /^(\S+)(?:\s+(.*))?$/.exec(line)!;
    out.specs.push(spec!);
    if (rest === undefined) continue;
    if (GLOB_CHARS.test(spec!)) throw new UsageError(`--models-file: '${spec}' is a pattern, so it cannot take one checkpoint`, { file: path, fix: 'name each model of the pattern on its own line with its weights' });
    const weights = resolve(dirname(path), rest);
    const earlier = out.weights.get(spec!);
    if (earlier !== undefined && earlier !== weights) throw new UsageError(`--models-file: ${spec} is given two checkpoints (${earlier}, ${weights})`, { file: path, fix: 'keep one line per model' });
    out.weights.set(spec!, weights);
  }
  if (out.specs.length === 0) throw new UsageError('--models-file: names no model', { file: path, fix: 'one model per line (arch, arch.tag, a glob or a model file, optionally followed by its weights file); # starts a comment' });
  return out;
}

/** The specs to run, expanded and without duplicates, in the order first named. */
export function expandModelSpecs(specs: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  const add = (spec: string, key: string) => {
    if (seen.has(key)) return;
    seen.add(key);
    out.push(spec);
  };
  for (const spec of specs) {
    const catalogued = tryResolve(spec)?.tag.name ?? null;
    if (looksLikeModelPath(spec, catalogued !== null)) add(spec, `file:${resolve(spec)}`);
    else if (catalogued !== null) add(spec, catalogued);
    else if (GLOB_CHARS.test(spec)) for (const name of expandGlob(spec)) add(name, name);
    else add(spec, spec); // unknown: resolveSource says so, with suggestions
  }
  return out;
}
