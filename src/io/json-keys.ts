/**
 * Field names in the JSON files users read are snake_case (issue 10.13): `eval_config.input_size`
 * beside `top1_err`, not `inputSize`. The code keeps its camelCase types; the names change at the
 * file boundary. Writers pass values through `snakeKeys`; readers of zoo's own files (merge,
 * --resume) pass the blocks they compute with through `camelKeys`, which also reads files written
 * before the change (camelCase names stay accepted for one release).
 *
 * Only keys that are identifiers in camelCase change: data used as keys (WordNet ids, tags with
 * dots, paths, names with capitals first) is left as it is.
 */

const CAMEL = /^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+$/;
const SNAKE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$/;

/** `inputSize` -> `input_size`, `top1Correct` -> `top1_correct`; other keys unchanged. */
export function snakeName(key: string): string {
  return CAMEL.test(key) ? key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : key;
}

/** `input_size` -> `inputSize`; other keys unchanged. */
export function camelName(key: string): string {
  return SNAKE.test(key) ? key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()) : key;
}

function mapKeys(v: unknown, name: (k: string) => string): unknown {
  if (Array.isArray(v)) return v.map((x) => mapKeys(x, name));
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[name(k)] = mapKeys(x, name);
  return out;
}

/** A copy of `v` with every object key at any depth in snake_case (what files hold). */
export function snakeKeys(v: unknown): unknown {
  return mapKeys(v, snakeName);
}

/** A copy of `v` with every object key at any depth in camelCase (what the code's types hold). */
export function camelKeys<T>(v: unknown): T {
  return mapKeys(v, camelName) as T;
}
