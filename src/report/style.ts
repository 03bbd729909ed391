/**
 * The report's stylesheet: system fonts only (no web fonts: the page makes no request), light and
 * dark by prefers-color-scheme, narrow screens by one breakpoint, and a print style that forces
 * light colours, opens collapsed details and keeps charts and tables from splitting across pages.
 */
export const PAGE_CSS = `
:root {
  --bg: #ffffff; --fg: #1b1f24; --muted: #5b6470; --line: #d5dae0; --panel: #f5f7f9;
  --accent: #1f6feb; --pub: #c2410c; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --bar: #3b82c4;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1318; --fg: #e6e9ed; --muted: #9aa4af; --line: #2e3640; --panel: #171d24;
    --accent: #6aa9ff; --pub: #fb923c; --ok: #4ac26b; --warn: #d4a72c; --bad: #ff7b72; --bar: #5fa3e0;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header, main { max-width: 1100px; margin: 0 auto; padding: 0 16px; }
header { padding-top: 20px; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.5rem; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin: 28px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 1.05rem; margin: 0 0 6px; overflow-wrap: anywhere; }
h3 small { color: var(--muted); font-weight: normal; }
h4 { margin: 10px 0 6px; }
nav { margin: 6px 0 12px; }
a { color: var(--accent); }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.88em; overflow-wrap: anywhere; white-space: pre-wrap; }
.note, .na, .legend { color: var(--muted); }
.ok { color: var(--ok); } .warn { color: var(--warn); } .bad { color: var(--bad); }
.verdict { font-weight: 600; white-space: pre-wrap; overflow-wrap: anywhere; }
article.run { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; margin: 12px 0; }
table { border-collapse: collapse; margin: 6px 0; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px 3px 0; text-align: left; vertical-align: top; border-bottom: 1px solid var(--line); }
td { overflow-wrap: break-word; white-space: pre-wrap; }
table.facts th { color: var(--muted); font-weight: normal; white-space: nowrap; }
table.sortable th button { font: inherit; font-weight: 600; color: inherit; background: none; border: 0; padding: 0; cursor: pointer; }
table.sortable th[aria-sort=ascending] button::after { content: " ▲"; }
table.sortable th[aria-sort=descending] button::after { content: " ▼"; }
.table-wrap { overflow-x: auto; }
figure { margin: 10px 0; }
figcaption { color: var(--muted); font-size: 0.9em; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg.strip { height: 140px; }
svg text { fill: var(--fg); font-size: 11px; }
svg .tick { fill: var(--muted); }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .ci { stroke: var(--accent); stroke-width: 2.5; }
svg .pt { fill: var(--accent); }
svg .pub { fill: var(--pub); }
svg .pubpt { fill: none; stroke: var(--pub); stroke-width: 2; }
svg .link { stroke: var(--muted); stroke-dasharray: 2 2; }
svg .bar { fill: var(--bar); }
.legend .key { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin: 0 4px 0 10px; vertical-align: middle; }
.legend .key.pt { background: var(--accent); }
.legend .key.pub { background: var(--pub); transform: rotate(45deg); border-radius: 0; }
.legend .key.pubpt { border: 2px solid var(--pub); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 12px; }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; }
details { margin: 8px 0; }
summary { cursor: pointer; font-weight: 600; }
.thumbs { display: flex; flex-wrap: wrap; gap: 10px; }
.thumb { width: 140px; font-size: 0.8em; overflow-wrap: anywhere; }
.thumb img { display: block; width: 128px; height: 128px; object-fit: cover; border-radius: 4px; background: var(--panel); }
@media (max-width: 700px) {
  body { font-size: 14px; }
  .two { grid-template-columns: 1fr; }
  table { display: block; overflow-x: auto; max-width: 100%; }
  table.metrics td { white-space: nowrap; }
  /* Charts keep a readable size and scroll sideways rather than shrink their text. */
  figure { overflow-x: auto; }
  svg.chart:not(.scatter) { min-width: 600px; }
}
@media print {
  :root { --bg: #fff; --fg: #000; --muted: #444; --line: #bbb; --panel: #fff; }
  body { font-size: 11pt; }
  nav, table.sortable th button::after { display: none; }
  article.run, figure, table, .thumb { break-inside: avoid; }
  h2 { break-after: avoid; }
  details > summary { list-style: none; }
  /* Closed sections print open (the script also opens them on beforeprint, for older engines). */
  details::details-content { content-visibility: visible; display: block; }
  a { color: inherit; text-decoration: none; }
}
`;
