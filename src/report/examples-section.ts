/**
 * The examples section of the page: thumbnails gathered by examples.ts, with the true and predicted
 * class names. Names come from the result's per-class list, else from the bundled ImageNet names.
 */
import type { RunView } from './fields.js';
import { esc } from './html.js';
import type { RunExamples, Thumb } from './examples.js';

export type { RunExamples } from './examples.js';

/** Class index -> name, from what the run's JSON holds, then `fallback`. */
function namer(run: RunView, fallback: readonly string[]): (c: number) => string {
  const names = new Map<number, string>();
  for (const c of run.perClass) if (c.index && c.name) names.set(c.index.value, c.name.value);
  for (const p of run.mostConfused) {
    if (p.trueIndex) names.set(p.trueIndex.value, p.trueName);
    if (p.predictedIndex) names.set(p.predictedIndex.value, p.predictedName);
  }
  return (c) => names.get(c) ?? fallback[c] ?? `class ${c}`;
}

function thumb(t: Thumb, name: (c: number) => string): string {
  const wrong = t.predicted !== t.trueClass;
  return `<figure class="thumb"><img src="${t.uri}" alt="${esc(t.file)}" width="128" height="128"><figcaption><b>${esc(name(t.trueClass))}</b><br>${wrong ? `<span class="bad">predicted ${esc(name(t.predicted))}</span>` : '<span class="ok">correct</span>'}<br><code>${esc(t.file)}</code></figcaption></figure>`;
}

export function examplesSection(runs: readonly RunView[], examples: ReadonlyMap<number, RunExamples>, fallbackNames: readonly string[]): string {
  const blocks = runs.flatMap((run, i) => {
    const ex = examples.get(i);
    if (!ex) return [];
    const name = namer(run, fallbackNames);
    const worst = ex.worstClasses
      .filter((w) => w.thumbs.length > 0)
      .map((w) => `<h4>${esc(name(w.class))}</h4><div class="thumbs">${w.thumbs.map((t) => thumb(t, name)).join('')}</div>`)
      .join('');
    const note = ex.unreadable > 0 ? `<p class="note">${ex.unreadable} image(s) named by the predictions could not be read.</p>` : '';
    return [
      `<details open><summary>${esc(run.label)}</summary><h4>${ex.ranked === false ? 'Mistakes <span class="note">(by file name: per_image holds no confidences; --predictions ranks them)</span>' : 'Most confident mistakes'}</h4>${ex.mistakes.length ? `<div class="thumbs">${ex.mistakes.map((t) => thumb(t, name)).join('')}</div>` : '<p class="na">no mistakes</p>'}${worst ? `<h3>Worst classes</h3>${worst}` : ''}${note}</details>`,
    ];
  });
  return blocks.length ? `<section id="examples"><h2>Examples</h2>${blocks.join('\n')}</section>` : '';
}
