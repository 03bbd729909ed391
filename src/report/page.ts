/**
 * The report page: one self-contained HTML file (inline CSS, one small inline script for sorting,
 * inline SVG, images as data: URIs) built from the runs read by fields.ts. A Content-Security-Policy
 * allows only that one script (by hash) and data: images, so the page makes no request and a string
 * that escaped escaping still could not run.
 *
 * The page is a view of the JSON: every figure is a value the result holds, written as the JSON
 * writes it; sorting and choosing what to list (the 25 worst classes) are the only work done here.
 */
import { createHash } from 'node:crypto';
import { accuracyStrip, forestPlot, scatter, type ForestRow, type ScatterPoint } from './charts.js';
import { evalConfigRows, type Field, type RunView } from './fields.js';
import { esc, facts, fixed, interval, num, numText, signedNum, str, table, text, yesNo, type Cell } from './html.js';
import { PAGE_CSS } from './style.js';
import { examplesSection, type RunExamples } from './examples-section.js';

export interface PageInput {
  runs: readonly RunView[];
  /** The input files, as named on the command line (shown, escaped). */
  files: readonly string[];
  /** Thumbnails per run index, when --examples was asked. */
  examples?: ReadonlyMap<number, RunExamples>;
  /** ImageNet class names, for thumbnails of classes the JSON does not name. */
  classNames?: readonly string[];
  /** How many worst classes and confused pairs to list. */
  worst?: number;
}

/** Sorts the many-runs table by a clicked column, using each cell's data-sort value. */
const SORT_SCRIPT = `
document.querySelectorAll('table.sortable').forEach(function (t) {
  t.querySelectorAll('th').forEach(function (th, col) {
    var b = document.createElement('button');
    b.type = 'button';
    b.textContent = th.textContent;
    th.textContent = '';
    th.appendChild(b);
    b.addEventListener('click', function () {
      var dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
      t.querySelectorAll('th').forEach(function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
      var body = t.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, c) {
        var x = a.cells[col].getAttribute('data-sort'), y = c.cells[col].getAttribute('data-sort');
        var nx = parseFloat(x), ny = parseFloat(y);
        if (!isNaN(nx) && !isNaN(ny)) return (nx - ny) * dir;
        return String(x).localeCompare(String(y)) * dir;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
// Printing shows everything: collapsed sections open for the printout.
window.addEventListener('beforeprint', function () {
  document.querySelectorAll('details:not([open])').forEach(function (d) { d.setAttribute('open', ''); d.setAttribute('data-print-opened', ''); });
});
window.addEventListener('afterprint', function () {
  document.querySelectorAll('details[data-print-opened]').forEach(function (d) { d.removeAttribute('open'); d.removeAttribute('data-print-opened'); });
});
`;

function verdictClass(run: RunView): string {
  if (run.interrupted?.value) return 'warn';
  if (run.verdict?.value.startsWith('regression')) return 'bad';
  if (run.comparable && !run.comparable.value) return 'warn';
  return 'ok';
}

function metricRows(run: RunView): string[][] {
  const p = run.published;
  const consistent = (f: Field<boolean> | null | undefined) => (f ? (f.value ? '<span class="ok">consistent</span>' : '<span class="bad">differs</span>') : '');
  return [
    [fixed('top-1'), num(run, run.top1, ' %'), interval(run, run.top1Interval), num(run, p?.top1), signedNum(run, p?.top1Diff), consistent(p?.consistentTop1)],
    [fixed('top-5'), num(run, run.top5, ' %'), interval(run, run.top5Interval), num(run, p?.top5), signedNum(run, p?.top5Diff), consistent(p?.consistentTop5)],
  ];
}

function configText(run: RunView): string {
  if (!run.evalConfig) return '<span class="na">–</span>';
  return evalConfigRows(run.evalConfig)
    .flatMap(([label, f]) => {
      if (!f) return [];
      const v = Array.isArray(f) ? `[${f.map((x) => num(run, x)).join(', ')}]` : typeof f.value === 'number' ? num(run, f as Field<number>) : str(String(f.value));
      return [`${esc(label)} ${v}`];
    })
    .join('; ');
}

function configSource(run: RunView): string {
  const s = run.evalConfigSource;
  if (!s) return '<span class="na">not recorded in the result</span>';
  if ('value' in s) return str(s.value);
  // Grouped by source: "input_size, crop_pct: config.json; mean, std: --mean/--std".
  const bySource = new Map<string, string[]>();
  for (const [k, v] of Object.entries(s.obj)) {
    const from = typeof v === 'string' ? v : JSON.stringify(v);
    bySource.set(from, [...(bySource.get(from) ?? []), k]);
  }
  return [...bySource].map(([from, keys]) => str(`${keys.join(', ')}: ${from}`)).join('; ');
}

function notRecorded(f: Field<string> | null): string {
  return f ? str(f.value) : '<span class="na">not recorded in the result</span>';
}

function identity(run: RunView): string {
  return facts([
    ['model', text(run.model)],
    ['tag', run.arch && run.tag ? str(`${run.arch.value}.${run.tag.value}`) : text(run.tag)],
    ...(run.modelFile ? [['model file', `${text(run.modelFile)}${run.modelFormat ? ` (${str(run.modelFormat.value)})` : ''}`] as [string, string]] : []),
    ['weights', text(run.weightsFile)],
    ['weights SHA-256', run.weightsSha256 ? `<code>${esc(run.weightsSha256.value)}</code>` : '<span class="na">–</span>'],
    ['eval config', configText(run)],
    ['config from', configSource(run)],
    ['engine', `${text(run.engine)}${run.backend ? ` (${str(run.backend.value)})` : ''}`],
    ['device', text(run.device)],
    ['data', text(run.dataRoot)],
    ['zoo version', notRecorded(run.zooVersion)],
    ['date', notRecorded(run.date)],
    ['speed', run.imagesPerSec ? `${num(run, run.imagesPerSec)} images/s, ${num(run, run.wallS)} s` : '<span class="na">–</span>'],
  ]);
}

function completeness(run: RunView): string {
  const lines: string[] = [];
  const n = run.images ? num(run, run.images) : '?';
  const sel = run.selectionImages ? ` of ${num(run, run.selectionImages)} selected` : '';
  lines.push(`${n} images evaluated${sel}${run.subset?.value ? fixed(' (a subset: the 95% interval decides consistency)') : ''}.`);
  if (run.mergedFrom > 0) lines.push(`Merged from ${num(run, { value: run.mergedFrom, path: `${run.root ? run.root + '.' : ''}merged_from.length` })} shards.`);
  lines.push(run.complete ? (run.complete.value ? '<span class="ok">Complete</span>: every val image, no warnings.' : '<span class="warn">Not the complete val set.</span>') : '');
  if (run.comparable && !run.comparable.value) lines.push(`<span class="warn">Not comparable</span> with published numbers: ${run.notComparableBecause.map(str).join('; ')}.`);
  for (const w of run.dataWarnings) lines.push(`<span class="warn">Data:</span> ${str(w)}`);
  return lines.filter(Boolean).map((l) => `<p>${l}</p>`).join('');
}

function skippedBlock(run: RunView): string {
  if (run.skipped.length === 0) return '';
  const shown = run.skipped.slice(0, 50);
  const count = { value: run.skipped.length, path: `${run.root ? run.root + '.' : ''}skipped.length` };
  const rows = shown.map((s) => [`<code>${text(s.file)}</code>`, text(s.error)]);
  const more = run.skipped.length > shown.length ? `<p>The first ${fixed(String(shown.length))} are listed; the JSON lists them all.</p>` : '';
  return `<details class="skipped" open><summary>${num(run, count)} skipped image(s)</summary>${table(['file', 'why'], rows)}${more}</details>`;
}

function runSummary(run: RunView, i: number): string {
  return `<article class="run" id="run-${i}">
<h3>${esc(run.label)}${run.dataset ? ` <small>${esc(run.dataset.value)}</small>` : ''}</h3>
<p class="verdict ${verdictClass(run)}">${text(run.verdict)}</p>
${table(['', 'measured', '95% interval', 'published', 'diff', ''], metricRows(run), 'metrics')}
${run.published?.source ? `<p class="note">published: ${str(run.published.source.value)}</p>` : '<p class="note">no published numbers for this tag</p>'}
${completeness(run)}
${skippedBlock(run)}
<details><summary>identity</summary>${identity(run)}</details>
</article>`;
}

function forest(runs: readonly RunView[], which: 'top1' | 'top5'): string {
  const rows: ForestRow[] = runs.flatMap((r) => {
    const point = which === 'top1' ? r.top1 : r.top5;
    if (!point) return [];
    return [{ run: r, label: r.label, point, interval: which === 'top1' ? r.top1Interval : r.top5Interval, published: (which === 'top1' ? r.published?.top1 : r.published?.top5) ?? null }];
  });
  return forestPlot(rows, which === 'top1' ? 'top-1 %' : 'top-5 %');
}

function summarySection(runs: readonly RunView[]): string {
  const legend = '<p class="legend"><span class="key pt"></span> measured, with its 95% interval <span class="key pub"></span> published</p>';
  return `<section id="summary"><h2>Summary</h2>
<figure><figcaption>top-1 against the published number</figcaption>${forest(runs, 'top1')}${legend}</figure>
<figure><figcaption>top-5 against the published number</figcaption>${forest(runs, 'top5')}</figure>
${runs.map(runSummary).join('\n')}
</section>`;
}

function sortCell(run: RunView, f: Field<number> | null | undefined, html = num(run, f)): Cell {
  return { html, sort: f ? numText(f.value) : '' };
}

function compareSection(runs: readonly RunView[]): string {
  if (runs.length < 2) return '';
  const axes: [string, (r: RunView) => Field<number> | null][] = [
    ['params (M)', (r) => r.params],
    ['GMACs', (r) => r.gmacs],
    ['images/s', (r) => r.imagesPerSec],
  ];
  const charts = axes
    .map(([label, get]) => {
      const pts: ScatterPoint[] = runs.flatMap((r) => {
        const x = get(r);
        return x && r.top1 ? [{ run: r, label: r.label, x, y: r.top1, published: r.published?.top1 ?? null }] : [];
      });
      if (pts.length === 0) return `<figure class="na-chart"><figcaption>top-1 against ${esc(label)}</figcaption><p class="na">the results do not record ${esc(label)}</p></figure>`;
      return `<figure><figcaption>top-1 against ${esc(label)}</figcaption>${scatter(pts, label, 'top-1 %')}</figure>`;
    })
    .join('');
  const head = ['model', 'images', 'top-1', 'top-5', 'published top-1', 'diff', 'params (M)', 'GMACs', 'images/s', 'complete', 'verdict'];
  const rows = runs.map((r, i) => [
    { html: `<a href="#run-${i}">${str(r.label)}</a>`, sort: r.label },
    sortCell(r, r.images),
    sortCell(r, r.top1),
    sortCell(r, r.top5),
    sortCell(r, r.published?.top1),
    sortCell(r, r.published?.top1Diff, signedNum(r, r.published?.top1Diff)),
    sortCell(r, r.params),
    sortCell(r, r.gmacs),
    sortCell(r, r.imagesPerSec),
    { html: yesNo(r.complete), sort: String(r.complete?.value ?? '') },
    { html: text(r.verdict), sort: r.verdict?.value ?? '' },
  ]);
  // data-sort on cells: the script sorts by it; the marked span inside keeps the JSON's text.
  const tableHtml = table(head, rows, 'sortable');
  const legend = '<p class="legend"><span class="key pt"></span> measured <span class="key pubpt"></span> published (same model)</p>';
  return `<section id="compare"><h2>Runs side by side</h2><div class="charts">${charts}</div>${legend}${tableHtml}</section>`;
}

function classSection(run: RunView, i: number, worstN: number): string {
  if (run.perClass.length === 0) return '';
  const sorted = [...run.perClass].sort((a, b) => a.top1.value - b.top1.value || (a.index?.value ?? 0) - (b.index?.value ?? 0));
  const strip = accuracyStrip(run, sorted.map((c) => ({ label: c.name?.value ?? String(c.index?.value ?? '?'), value: c.top1 })), 'top-1 %');
  const worst = sorted.slice(0, worstN).map((c) => [num(run, c.index), text(c.name), num(run, c.images), num(run, c.top1), num(run, c.top5)]);
  const confused = run.mostConfused.slice(0, worstN).map((p) => [`${num(run, p.trueIndex)} ${str(p.trueName)}`, `${num(run, p.predictedIndex)} ${str(p.predictedName)}`, num(run, p.count)]);
  return `<details class="classes" ${i === 0 ? 'open' : ''}><summary>${esc(run.label)}: ${run.perClass.length} classes</summary>
<figure><figcaption>top-1 of every class, sorted</figcaption>${strip}</figure>
<div class="two">
<div><h4>${Math.min(worstN, sorted.length)} worst classes</h4>${table(['class', 'name', 'images', 'top-1 %', 'top-5 %'], worst)}</div>
<div><h4>Most confused pairs</h4>${confused.length ? table(['true', 'predicted instead', 'images'], confused) : '<p class="na">no top-1 errors recorded</p>'}</div>
</div></details>`;
}

/**
 * Test sets side by side: one row per model, one column per test set (the runs' `dataset`, then
 * ReaL and any further sets a result holds), each cell the measured top-1 and the published one.
 * Shown when the runs cover more than one set or carry ReaL figures.
 */
function otherSetsSection(runs: readonly RunView[]): string {
  type SetCell = { run: RunView; top1: Field<number> | null; published: Field<number> | null; images: Field<number> | null };
  const columns: string[] = [];
  const rows = new Map<string, Map<string, SetCell>>();
  const put = (model: string, set: string, cell: SetCell) => {
    if (!columns.includes(set)) columns.push(set);
    if (!rows.has(model)) rows.set(model, new Map());
    if (!rows.get(model)!.has(set)) rows.get(model)!.set(set, cell);
  };
  for (const r of runs) {
    put(r.label, r.dataset?.value ?? 'imagenet', { run: r, top1: r.top1, published: r.published?.top1 ?? null, images: r.images });
    for (const o of r.otherSets) put(r.label, o.name, { run: r, top1: o.top1, published: o.publishedTop1, images: o.images });
  }
  if (columns.length < 2) return '';
  const cell = (c: SetCell | undefined) =>
    c ? `${num(c.run, c.top1)}${c.published ? ` <span class="note">(published ${num(c.run, c.published)})</span>` : ''}${c.images ? `<br><span class="note">${num(c.run, c.images)} images</span>` : ''}` : '<span class="na">–</span>';
  const body = [...rows].map(([model, sets]) => [str(model), ...columns.map((c) => cell(sets.get(c)))]);
  return `<section id="sets"><h2>Test sets side by side</h2><p class="note">${fixed('top-1')} % on each set</p>${table(['model', ...columns.map(esc)], body)}</section>`;
}

/** The whole page. */
export function renderPage(input: PageInput): string {
  const worst = input.worst ?? 25;
  const runs = input.runs;
  const script = SORT_SCRIPT;
  const hash = createHash('sha256').update(script).digest('base64');
  const csp = `default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-${hash}'`;
  const classes = runs.map((r, i) => classSection(r, i, worst)).filter(Boolean);
  const examples = input.examples && input.examples.size > 0 ? examplesSection(runs, input.examples, input.classNames ?? []) : '';
  const sets = otherSetsSection(runs);
  const title = runs.length === 1 ? `zoo report: ${runs[0]!.label}` : `zoo report: ${runs.length} runs`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${esc(title)}</title>
<style>${PAGE_CSS}</style>
</head>
<body>
<header><h1>${esc(title)}</h1><p class="note">from ${input.files.map((f) => `<code>${esc(f)}</code>`).join(', ')}</p>
<nav><a href="#summary">summary</a>${runs.length > 1 ? ' · <a href="#compare">side by side</a>' : ''}${classes.length ? ' · <a href="#classes">per class</a>' : ''}${sets ? ' · <a href="#sets">test sets</a>' : ''}${examples ? ' · <a href="#examples">examples</a>' : ''}</nav></header>
<main>
${summarySection(runs)}
${compareSection(runs)}
${classes.length ? `<section id="classes"><h2>Per class</h2>${classes.join('\n')}</section>` : ''}
${sets}
${examples}
</main>
<script>${script}</script>
</body>
</html>
`;
}
