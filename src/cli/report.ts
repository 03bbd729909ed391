/** The final table of an eval run, from its result. */
import { duration, pct, renderTable, signed } from '../util/format.js';
import { describeSources } from '../models/file/config.js';
import { measuredAccuracy, type DataSummary, type EvalResult } from '../run/result.js';

export function renderReport(r: EvalResult): string {
  const head = renderTable(
    ['model', 'tag', 'images', 'images/s', 'wall', 'engine'],
    [[r.arch, r.tag, r.subset ? `${r.images} (subset)` : String(r.images), r.images_per_sec.toFixed(1), duration(r.wall_s), r.backend]],
    ['left', 'left', 'right', 'right', 'right', 'left'],
  );
  const p = r.published;
  const interval = (i: [number, number]) => (r.subset ? `[${i[0].toFixed(2)}, ${i[1].toFixed(2)}]` : '-');
  const verdict = (v: boolean | null | undefined) => (v === null || v === undefined ? '' : v ? 'consistent' : 'differs');
  // The diffs too come from the measured values, not from the JSON's rounded top1_diff/top5_diff.
  const { top1, top5 } = measuredAccuracy(r);
  const metrics = renderTable(
    ['', 'measured', '95% interval', 'published', 'diff', ''],
    [
      ['top-1', pct(top1), interval(r.top1_interval), pct(p?.top1), signed(p ? top1 - p.top1 : null), verdict(p?.consistent_top1)],
      ['top-5', pct(top5), interval(r.top5_interval), pct(p?.top5), signed(p && p.top5 !== null ? top5 - p.top5 : null), verdict(p?.consistent_top5)],
    ],
    ['left', 'right', 'right', 'right', 'right', 'left'],
  );
  const src = p
    ? `published: ${p.source} (${p.dataset}, ${p.img_size}px, crop ${p.crop_pct})${r.subset ? '; on a subset the 95% interval decides consistency' : ''}\n`
    : r.not_comparable_because.some((w) => w.startsWith('no published number at this eval config'))
      ? `published: none at this eval config, so not comparable (${r.not_comparable_because.find((w) => w.startsWith('no published number at this eval config'))!.replace(/^no published number at this eval config \((.*)\)$/, '$1')})\n`
      : `published: no published numbers for this tag${r.dataset === 'imagenet' ? '' : ` on ${r.dataset}`}\n`;
  // No leading blank line: `zoo eval ... | head -1` is the table's header.
  let out = `${head}\n${metrics}${src}`;
  // The config the numbers were measured at, and where each value came from (issue 10.2).
  if (r.config_sources) out += `config: ${describeSources(r.eval_config, r.config_sources)}\n`;
  if (r.data.name !== 'imagenet' || r.data.detected) out += testSetLine(r.data);
  if (r.real) {
    const rp = r.real.published;
    const { top1: real1, top5: real5 } = measuredAccuracy(r.real);
    out +=
      '\n' +
      renderTable(
        // The interval and verdict columns of the val rows (issue 10.13); results of older versions lack them.
        ['ReaL', 'measured', '95% interval', 'published', 'diff', '', 'images'],
        [
          ['top-1', pct(real1), r.real.top1_interval ? interval(r.real.top1_interval) : '-', pct(rp?.top1), signed(rp ? real1 - rp.top1 : null), verdict(rp?.consistent_top1), String(r.real.images)],
          ['top-5', pct(real5), r.real.top5_interval ? interval(r.real.top5_interval) : '-', pct(rp?.top5), signed(rp && rp.top5 !== null ? real5 - rp.top5 : null), verdict(rp?.consistent_top5), ''],
        ],
        ['left', 'right', 'right', 'right', 'right', 'left', 'right'],
      ) +
      `ReaL labels: ${r.real.source}; ${r.real.no_label} image(s) without a ReaL label left out${r.real.unmatched ? `, ${r.real.unmatched} not val file names` : ''}\n`;
  }
  if (r.skipped.length > 0) {
    out += `\nskipped ${r.skipped.length} image(s) (--on-error skip):\n`;
    for (const s of r.skipped.slice(0, 20)) out += `  ${s.file}: ${s.error}\n`;
    if (r.skipped.length > 20) out += `  ... and ${r.skipped.length - 20} more (all in --json)\n`;
  }
  if (!r.comparable) {
    out += `NOT COMPARABLE with published numbers: ${r.not_comparable_because.join('; ')}\n`;
  }
  if (!r.data.complete) out += `incomplete data: ${r.data.warnings.length ? r.data.warnings.join('; ') : 'not the full val set'}\n`;
  if (r.selection.per_class !== null || r.selection.limit !== null || r.selection.shard !== null) {
    const parts = [
      r.selection.per_class !== null ? `--per-class ${r.selection.per_class}` : '',
      r.selection.limit !== null ? `--limit ${r.selection.limit}` : '',
      r.selection.shard !== null ? `--shard ${r.selection.shard}` : '',
    ].filter(Boolean);
    out += `subset: ${parts.join(' ')} (${r.selection.images} images selected)\n`;
  }
  if (r.checks) {
    out += '\n';
    for (const c of r.checks.results) out += `check: ${c.verdict}\n`;
  }
  return out;
}

/** Which test set the run took and why, and what its predictions may be. */
function testSetLine(d: DataSummary): string {
  return `test set: ${d.title} (--dataset ${d.name}${d.detected ? `, detected from ${d.detected}` : ''}); predictions among ${d.label_space}\n`;
}
