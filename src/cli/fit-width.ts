/**
 * Fits printed output to a terminal's width instead of letting the terminal wrap it mid-word or
 * mid-table. Works on rendered text (format.ts tables: a header line over a line of dashes), so
 * every command's output can go through it:
 *
 * - a table wider than the terminal is laid out narrow: each row as one "header value, ..." entry,
 *   word-wrapped, its first cell leading;
 * - any other line longer than the terminal is word-wrapped with a two-space hanging indent.
 *
 * Output that is not a terminal (a pipe, a file) is left as it is: scripts read whole lines.
 */

/**
 * Splits a word too long for a line (a path, a URL, a long list) into pieces of at most `room`
 * characters, each ending after a separator (`/`, `,`, `;`, `-`, `_`, `.`) where there is one, so
 * a path breaks between its folders; without one it breaks at `room`.
 */
function splitLongWord(word: string, room: number): string[] {
  const pieces: string[] = [];
  let rest = word;
  while (rest.length > room) {
    const head = rest.slice(0, room);
    const cut = Math.max(...['/', ',', ';', '-', '_', '.'].map((sep) => head.lastIndexOf(sep)));
    const at = cut > 0 ? cut + 1 : room;
    pieces.push(rest.slice(0, at));
    rest = rest.slice(at);
  }
  pieces.push(rest);
  return pieces;
}

/**
 * Word-wraps `line` to `width`, continuation lines indented by `indent`. A word longer than a
 * line (a deep path) is split by splitLongWord, so no printed line is ever wider than `width`.
 */
export function wrapLine(line: string, width: number, indent = '  '): string[] {
  if (line.length <= width) return [line];
  const room = Math.max(1, width - indent.length);
  // A piece of a split word continues its word: it joins the line without a space.
  const words = line.split(' ').flatMap((w) => (w.length > room ? splitLongWord(w, room).map((text, i) => ({ text, glued: i > 0 })) : [{ text: w, glued: false }]));
  const out: string[] = [];
  let cur = '';
  for (const { text: w, glued } of words) {
    const next = cur === '' ? w : glued ? `${cur}${w}` : `${cur} ${w}`;
    if (next.length <= width || cur.trim() === '') cur = next;
    else {
      out.push(cur);
      cur = `${indent}${w}`;
    }
  }
  if (cur.trim() !== '') out.push(cur);
  return out;
}

/** Column spans [start, end) from a table's dash line. */
function columnSpans(dashes: string): [number, number][] {
  const spans: [number, number][] = [];
  const re = /-+/g;
  for (let m = re.exec(dashes); m; m = re.exec(dashes)) spans.push([m.index, m.index + m[0].length]);
  return spans;
}

function cells(line: string, spans: readonly [number, number][]): string[] {
  return spans.map(([s], i) => line.slice(s, i + 1 < spans.length ? spans[i + 1]![0] : undefined).trim());
}

export function fitToWidth(text: string, columns: number | undefined): string {
  if (columns === undefined) return text;
  const width = Math.max(20, columns - 1);
  const lines = text.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const next = lines[i + 1];
    const isTable = next !== undefined && /^[- ]*-[- ]*$/.test(next) && next.includes('-');
    if (isTable) {
      let end = i + 2;
      while (end < lines.length && lines[end]!.trim() !== '' && !/^[a-z][\w -]*: /i.test(lines[end]!)) end++;
      const block = lines.slice(i, end);
      if (block.every((l) => l.length <= width)) out.push(...block);
      else {
        const spans = columnSpans(next);
        const headers = cells(line, spans);
        for (const row of block.slice(2)) {
          const c = cells(row, spans);
          const lead = headers[0] ? `${headers[0]} ${c[0]}` : c[0]!;
          const rest = c.slice(1).map((v, k) => (v === '' ? '' : headers[k + 1] ? `${headers[k + 1]} ${v}` : v)).filter((s) => s !== '');
          out.push(...wrapLine(`${lead}: ${rest.join(', ')}`, width));
        }
      }
      i = end - 1;
      continue;
    }
    out.push(...wrapLine(line, width));
  }
  return out.join('\n');
}
