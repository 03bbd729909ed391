/**
 * The CSVs zoo writes (--csv, --predictions, --results-file), where a field holding `"`, `,` or a
 * line break is quoted, and their reading back: the --predictions CSV that zoo compare,
 * --baseline-predictions (src/metrics/outcomes-file.ts) and zoo report --examples
 * (src/report/examples.ts) read.
 */

/** `s` as one CSV field: quoted (quotes doubled) when it holds `"`, `,` or a line break. */
export function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One field at `i` of `line` (unquoted); returns [value, index of the next field]. */
function field(line: string, i: number): [string, number] {
  if (line[i] !== '"') {
    const end = line.indexOf(',', i);
    return end < 0 ? [line.slice(i), line.length + 1] : [line.slice(i, end), end + 1];
  }
  let out = '';
  let j = i + 1;
  for (;;) {
    const q = line.indexOf('"', j);
    if (q < 0) return [out + line.slice(j), line.length + 1];
    out += line.slice(j, q);
    if (line[q + 1] === '"') {
      out += '"';
      j = q + 2;
    } else return [out, q + 2];
  }
}

/** Splits CSV text into its non-empty records, keeping newlines inside quoted fields. */
export function csvRecords(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (c === '\n' && !quoted) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (start < text.length) out.push(text.slice(start));
  return out.filter((r) => r.length > 0);
}

/** The first `max` fields of a record (fewer when it has fewer). */
export function csvCells(record: string, max: number): string[] {
  const cells: string[] = [];
  for (let i = 0; i <= record.length && cells.length < max; ) {
    const [v, next] = field(record, i);
    cells.push(v);
    i = next;
  }
  return cells;
}
