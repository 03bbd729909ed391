/** JSON key checks for the snake_case rule of issue 10.13. */

/** Paths (`eval_config.inputSize`) of every object key in camelCase, at any depth. */
export function camelCaseKeyPaths(v: unknown, path = ''): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => camelCaseKeyPaths(x, `${path}${i}.`));
  if (typeof v !== 'object' || v === null) return [];
  return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => [
    ...(/^[a-z][a-z0-9]*[A-Z]/.test(k) ? [path + k] : []),
    ...camelCaseKeyPaths(x, `${path}${k}.`),
  ]);
}
