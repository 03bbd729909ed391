/**
 * HTML building blocks for the report: escaping (every string from a result file is hostile until
 * escaped: model names, file names and error messages can hold `<script>`, quotes and newlines) and
 * numbers marked with where they come from, so a test can compare each one with the JSON.
 */
import type { Field, RunView } from './fields.js';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text or attribute value, safe inside elements and double- or single-quoted attributes. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** How every number from a result is written: exactly as the JSON holds it (already rounded there). */
export const numText = (v: number): string => String(v);

/** The attributes that tie an element to a JSON value: input file index and path in it. */
export function origin(run: Pick<RunView, 'source'>, f: Field<unknown>, attr = 'data-path'): string {
  return `data-src="${run.source}" ${attr}="${esc(f.path)}"`;
}

/** A number from the JSON, marked; a dash when the JSON does not hold it. */
export function num(run: Pick<RunView, 'source'>, f: Field<number> | null | undefined, unit = ''): string {
  if (!f) return '<span class="na">–</span>';
  return `<span class="n" ${origin(run, f)}>${numText(f.value)}</span>${unit}`;
}

/** A signed difference from the JSON (`+0.12`), marked with the JSON value's own text. */
export function signedNum(run: Pick<RunView, 'source'>, f: Field<number> | null | undefined): string {
  if (!f) return '<span class="na">–</span>';
  return `${f.value > 0 ? '+' : ''}<span class="n" ${origin(run, f)}>${numText(f.value)}</span>`;
}

/**
 * A string from the JSON (a name, a file, a message), escaped and marked `s`: any digits in it are
 * the JSON's, which is how the browser test tells them from numbers the page would have made up.
 */
export function str(s: string): string {
  return `<span class="s">${esc(s)}</span>`;
}

/** A string field from the JSON, as str(); a dash when absent. */
export function text(f: Field<string> | null | undefined): string {
  return f ? str(f.value) : '<span class="na">–</span>';
}

/** Fixed wording of the page that names a number (e.g. "95% interval"), marked as such. */
export function fixed(s: string): string {
  return `<span class="fixed">${s}</span>`;
}

export function yesNo(f: Field<boolean> | null | undefined, yes = 'yes', no = 'no'): string {
  return f ? (f.value ? yes : no) : '<span class="na">–</span>';
}

/** `[low, high]` from an interval field. */
export function interval(run: Pick<RunView, 'source'>, f: Field<number>[] | null): string {
  if (!f || f.length !== 2) return '<span class="na">–</span>';
  return `[${num(run, f[0])}, ${num(run, f[1])}]`;
}

/** A cell: ready HTML, or HTML with the value a sortable table sorts by. */
export type Cell = string | { html: string; sort: string };

/** A table from header cells and rows of cells. */
export function table(head: readonly string[], rows: readonly (readonly Cell[])[], cls = ''): string {
  const th = head.map((h) => `<th>${h}</th>`).join('');
  const td = (c: Cell) => (typeof c === 'string' ? `<td>${c}</td>` : `<td data-sort="${esc(c.sort)}">${c.html}</td>`);
  const body = rows.map((r) => `<tr>${r.map(td).join('')}</tr>`).join('\n');
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** Two-column key/value table. */
export function facts(rows: readonly [string, string][]): string {
  return `<table class="facts"><tbody>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join('')}</tbody></table>`;
}
