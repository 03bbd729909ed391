/**
 * The report's charts, as inline SVG written here (no charting library: the page must stay one
 * self-contained file, and these three charts are a few dozen lines each). Colours come from CSS
 * classes so the page's light/dark/print styles apply. Each data mark carries `data-src`/`data-path`
 * (and `data-path-x` for a scatter's x) and a `<title>` holding the same numbers as the JSON, so a
 * hover shows the value and a test can check it.
 */
import type { Field, RunView } from './fields.js';
import { esc, numText, origin } from './html.js';

type Src = Pick<RunView, 'source'>;

/** Round tick values covering [lo, hi]. Axes only: no data value is derived from them. */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Data range padded a little, for an axis. */
function extent(values: readonly number[], pad = 0.05): [number, number] {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (!Number.isFinite(lo)) return [0, 1];
  if (hi === lo) {
    lo -= 1;
    hi += 1;
  }
  const p = (hi - lo) * pad;
  return [lo - p, hi + p];
}

const f1 = (v: number) => Number(v.toFixed(1));

export interface ForestRow {
  run: Src;
  label: string;
  point: Field<number>;
  interval: Field<number>[] | null;
  published: Field<number> | null;
}

/** Measured value with its 95% interval per row, the published value as a diamond beside it. */
export function forestPlot(rows: readonly ForestRow[], metric: string): string {
  if (rows.length === 0) return '';
  const W = 720;
  const left = 230;
  const right = 20;
  const rowH = 26;
  const top = 10;
  const H = top + rows.length * rowH + 34;
  const values = rows.flatMap((r) => [r.point.value, ...(r.interval ?? []).map((f) => f.value), ...(r.published ? [r.published.value] : [])]);
  const [lo, hi] = extent(values);
  const x = (v: number) => f1(left + ((v - lo) / (hi - lo)) * (W - left - right));
  const parts: string[] = [];
  for (const t of ticks(lo, hi)) {
    parts.push(`<line class="grid" x1="${x(t)}" x2="${x(t)}" y1="${top}" y2="${H - 24}"/><text class="tick" x="${x(t)}" y="${H - 8}" text-anchor="middle">${t}</text>`);
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH + rowH / 2;
    const label = r.label.length > 34 ? r.label.slice(0, 33) + '…' : r.label;
    parts.push(`<text class="label" x="${left - 8}" y="${y + 4}" text-anchor="end">${esc(label)}<title>${esc(r.label)}</title></text>`);
    if (r.interval && r.interval.length === 2) {
      const [a, b] = r.interval as [Field<number>, Field<number>];
      parts.push(
        `<line class="ci" x1="${x(a.value)}" x2="${x(b.value)}" y1="${y}" y2="${y}" ${origin(r.run, a)} ${origin(r.run, b, 'data-path-x')}><title>95% interval ${numText(a.value)} – ${numText(b.value)}</title></line>`,
      );
    }
    parts.push(`<circle class="pt" cx="${x(r.point.value)}" cy="${y}" r="5" ${origin(r.run, r.point)}><title>${esc(r.label)}: ${metric} ${numText(r.point.value)}</title></circle>`);
    if (r.published) {
      const px = x(r.published.value);
      parts.push(
        `<path class="pub" d="M${px} ${y - 6}L${f1(px + 6)} ${y}L${px} ${y + 6}L${f1(px - 6)} ${y}Z" ${origin(r.run, r.published)}><title>published ${metric} ${numText(r.published.value)}</title></path>`,
      );
    }
  });
  return `<svg class="chart" role="img" aria-label="${esc(metric)} with 95% intervals and published values" viewBox="0 0 ${W} ${H}" width="100%">${parts.join('')}</svg>`;
}

export interface ScatterPoint {
  run: Src;
  label: string;
  x: Field<number>;
  y: Field<number>;
  published: Field<number> | null;
}

/** top-1 (y) against one property (x) per run; published top-1 as a hollow mark at the same x. */
export function scatter(points: readonly ScatterPoint[], xLabel: string, yLabel: string): string {
  if (points.length === 0) return '';
  const W = 360;
  const H = 260;
  const m = { l: 44, r: 12, t: 12, b: 40 };
  const [xl, xh] = extent(points.map((p) => p.x.value), 0.08);
  const [yl, yh] = extent(points.flatMap((p) => [p.y.value, ...(p.published ? [p.published.value] : [])]), 0.08);
  const x = (v: number) => f1(m.l + ((v - xl) / (xh - xl)) * (W - m.l - m.r));
  const y = (v: number) => f1(H - m.b - ((v - yl) / (yh - yl)) * (H - m.t - m.b));
  const parts: string[] = [];
  for (const t of ticks(xl, xh, 4)) parts.push(`<line class="grid" x1="${x(t)}" x2="${x(t)}" y1="${m.t}" y2="${H - m.b}"/><text class="tick" x="${x(t)}" y="${H - m.b + 14}" text-anchor="middle">${t}</text>`);
  for (const t of ticks(yl, yh, 4)) parts.push(`<line class="grid" x1="${m.l}" x2="${W - m.r}" y1="${y(t)}" y2="${y(t)}"/><text class="tick" x="${m.l - 4}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
  parts.push(`<text class="axis" x="${f1((m.l + W - m.r) / 2)}" y="${H - 6}" text-anchor="middle">${esc(xLabel)}</text>`);
  parts.push(`<text class="axis" transform="translate(12 ${f1((m.t + H - m.b) / 2)}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  for (const p of points) {
    if (p.published) {
      parts.push(`<line class="link" x1="${x(p.x.value)}" x2="${x(p.x.value)}" y1="${y(p.y.value)}" y2="${y(p.published.value)}"/>`);
      parts.push(
        `<circle class="pubpt" cx="${x(p.x.value)}" cy="${y(p.published.value)}" r="5" ${origin(p.run, p.published)} ${origin(p.run, p.x, 'data-path-x')}><title>${esc(p.label)} published: ${esc(xLabel)} ${numText(p.x.value)}, ${esc(yLabel)} ${numText(p.published.value)}</title></circle>`,
      );
    }
    parts.push(
      `<circle class="pt" cx="${x(p.x.value)}" cy="${y(p.y.value)}" r="5" ${origin(p.run, p.y)} ${origin(p.run, p.x, 'data-path-x')}><title>${esc(p.label)}: ${esc(xLabel)} ${numText(p.x.value)}, ${esc(yLabel)} ${numText(p.y.value)}</title></circle>`,
    );
  }
  return `<svg class="chart scatter" role="img" aria-label="${esc(yLabel)} against ${esc(xLabel)}" viewBox="0 0 ${W} ${H}" width="100%">${parts.join('')}</svg>`;
}

export interface StripBar {
  label: string;
  value: Field<number>;
}

/**
 * Per-class accuracy, one bar per class in the order given (the caller sorts), 0–100 %. One bar per
 * class keeps every class visible; the worst classes are listed by name beside it.
 */
export function accuracyStrip(run: Src, bars: readonly StripBar[], metric: string): string {
  if (bars.length === 0) return '';
  const W = 1000;
  const H = 140;
  const m = { l: 34, b: 18, t: 6 };
  const bw = (W - m.l) / bars.length;
  const y = (v: number) => f1(H - m.b - (v / 100) * (H - m.b - m.t));
  const parts: string[] = [];
  for (const t of [0, 25, 50, 75, 100]) parts.push(`<line class="grid" x1="${m.l}" x2="${W}" y1="${y(t)}" y2="${y(t)}"/><text class="tick" x="${m.l - 4}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
  bars.forEach((b, i) => {
    const top = y(b.value.value);
    parts.push(
      `<rect class="bar" x="${f1(m.l + i * bw)}" y="${top}" width="${Math.max(f1(bw), 0.1)}" height="${f1(H - m.b - top)}" ${origin(run, b.value)}><title>${esc(b.label)}: ${metric} ${numText(b.value.value)}</title></rect>`,
    );
  });
  parts.push(`<text class="axis" x="${f1((m.l + W) / 2)}" y="${H - 3}" text-anchor="middle">${bars.length} classes, worst to best</text>`);
  return `<svg class="chart strip" role="img" aria-label="${esc(metric)} of every class" viewBox="0 0 ${W} ${H}" width="100%" preserveAspectRatio="none">${parts.join('')}</svg>`;
}
