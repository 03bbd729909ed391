/**
 * `zoo report` and `zoo eval --report` opened in a real browser (Debian's chromium through
 * playwright-core). The reports are made from real runs of the CLI on the shared val images: a single
 * run (with example thumbnails), shards merged with `zoo merge`, four models side by side, and a run
 * that skipped a corrupt image whose file name is hostile. For each page: every number marked in the
 * DOM equals the JSON's value at its path, no other digits appear in table cells and paragraphs, no
 * console errors, no failed or network requests, and screenshots at 1280 and 390 px are not blank
 * (kept under .ci/out/report-screens for CI). Hostile model and file names must show as text and run
 * nothing. A synthetic 50,000-image result gives the page size (asserted < 3 MB) and load time
 * (printed, not asserted).
 *
 * Skips only when no chromium binary exists on this machine; .ci/run installs it so CI never skips.
 */
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { atPath, chromiumPath, launchChromium, markedNumbers, openReport, pwned, screenshot } from './support/browser.js';
import { makeFlatFolder, makeImageFolder, runZoo, tempDir, val227Files, VAL_227, writeRecipeCheckpoint } from './support/cli.js';
import { wnidOf } from './support/fixtures.js';

const CHROMIUM = chromiumPath();
const SKIP_NOTE = CHROMIUM ? '' : ' (SKIPPED: no chromium binary here; apt-get install chromium, or set CHROMIUM_PATH)';
if (!CHROMIUM) console.warn(`report-browser.test.ts${SKIP_NOTE}`);

// .ci/run installs chromium and sets this: there a missing browser is a failure, not a skip.
describe.runIf(!CHROMIUM && process.env.ZOO_REQUIRE_CHROMIUM === '1')('zoo report in chromium', () => {
  it('needs a chromium binary (ZOO_REQUIRE_CHROMIUM=1)', () => {
    expect.fail('no chromium binary: .ci/run should have installed it (apt-get install chromium), or set CHROMIUM_PATH');
  });
});

/**
 * Four small models: name on the command line and golden recipe key of its weights. The first is the
 * embedded pretrained int8 MobileNetV2 (a model file, real accuracy, no weights flag); the built-in
 * ones run recipe weights (real graphs, real images, near-zero accuracy).
 */
const REAL_MODEL = 'mobilenetv2-12-int8';
const MODELS: [string, string | null][] = [
  [REAL_MODEL, null],
  ['rexnet_100', 'rexnet_100'],
  ['rexnet_130', 'rexnet_130'],
  ['rexnet_lite_1.0x', 'official__rexnet_lite_1.0x'],
];
// No '/' in a file name: an unclosed <script> and an <svg onload> are as bad if they reach the DOM.
const HOSTILE_FILE = `bad "quote' <script>window.__pwned=1<svg onload="window.__pwned=5">\n<img src=x onerror="window.__pwned=2">.JPEG`;
const HOSTILE_MODEL = `evil</title><script>window.__pwned=3</script>"'\nnext line`;

let dir: string;
let browser: Browser;
const json = (name: string) => join(dir, `${name}.json`);
const html = (name: string) => join(dir, `${name}.html`);

const evalRun = (model: string, data: string, weights: string | null, extra: string[]) =>
  runZoo(['eval', model, '--data', data, ...(weights ? ['--weights', weights] : []), '--threads', '1', '--workers', '1', '--batch-size', '4', '--quiet', ...extra], { timeoutMs: 90_000 });

async function readDoc(file: string): Promise<unknown> {
  return JSON.parse(await readFile(file, 'utf8')) as unknown;
}

beforeAll(async () => {
  if (!CHROMIUM) return;
  dir = await tempDir('zoo-report-browser-');
  const flat = await makeFlatFolder(join(dir, 'flat'), await val227Files(12));
  const weights = new Map<string, string | null>();
  for (const [name, key] of MODELS) weights.set(name, key ? await writeRecipeCheckpoint(key, dir) : null);
  // A folder with one truncated image under a hostile name: a real --on-error skip run.
  const good = await val227Files(4);
  const folder = await makeImageFolder(join(dir, 'hostile-data'), good);
  const jpeg = await readFile(join(VAL_227, good[0]!));
  await writeFile(join(folder, wnidOf(good[0]!), HOSTILE_FILE), jpeg.subarray(0, Math.floor(jpeg.length / 3)));

  const w = (m: string) => weights.get(m)!;
  const runs: [string, string, string | null, string[]][] = [
    [REAL_MODEL, flat, null, ['--real-labels', '--json', json('single'), '--predictions', join(dir, 'single.csv'), '--report', html('eval-report')]],
    ...MODELS.slice(1).map(([m]): [string, string, string | null, string[]] => [m, flat, w(m), ['--json', json(m)]]),
    [REAL_MODEL, flat, null, ['--shard', '1/2', '--json', json('shard1')]],
    [REAL_MODEL, flat, null, ['--shard', '2/2', '--json', json('shard2')]],
    ['rexnet_100', folder, w('rexnet_100'), ['--on-error', 'skip', '--json', json('skipped')]],
  ];
  // Two at a time: the machine has two cores.
  for (let i = 0; i < runs.length; i += 2) {
    const done = await Promise.all(runs.slice(i, i + 2).map(([m, d, wt, extra]) => evalRun(m, d, wt, extra)));
    for (const r of done) expect(r.code, r.stderr).toBe(0);
  }
  const merge = await runZoo(['merge', json('shard1'), json('shard2'), '--json', json('merged')]);
  expect(merge.code, merge.stderr).toBe(0);
  browser = await launchChromium(CHROMIUM);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function report(files: string[], out: string, extra: string[] = []): Promise<string> {
  const r = await runZoo(['report', ...files, '--output', out, ...extra], { timeoutMs: 60_000 });
  expect(r.code, r.stderr).toBe(0);
  return out;
}

/**
 * Every marked number equals the JSON's value at its path (SVG marks: the value is one of the numbers
 * in their <title>), and no cell or paragraph holds a digit outside a marked number, a string from
 * the JSON, code, or fixed wording. Returns the marks.
 */
async function checkNumbers(page: Page, docs: readonly unknown[]) {
  const marks = await markedNumbers(page);
  const wrong: string[] = [];
  const tokens = (s: string): string[] => s.match(/-?\d+(?:\.\d+)?(?:e[-+]?\d+)?/g) ?? [];
  for (const m of marks) {
    for (const path of [m.path, m.pathX]) {
      if (path === null) continue;
      const v = atPath(docs[m.src], path);
      if (typeof v !== 'number') wrong.push(`${path}: no number in the JSON (${String(v)})`);
      else if (m.svg ? !tokens(m.shown).includes(String(v)) : m.shown !== String(v)) wrong.push(`${path}: page shows "${m.shown}", JSON holds ${v}`);
    }
  }
  expect(wrong).toEqual([]);
  const stray = await page.evaluate<string[]>(`Array.from(document.querySelectorAll('main td, main p')).flatMap((el) => {
    const copy = el.cloneNode(true);
    copy.querySelectorAll('[data-path], .s, code, .na, .fixed').forEach((e) => e.remove());
    return /[0-9]/.test(copy.textContent ?? '') && !el.closest('.legend') ? [el.outerHTML.slice(0, 200)] : [];
  })`);
  expect(stray).toEqual([]);
  return marks;
}

/** Opens `file` at 1280 and 390 px, checks numbers and problems, saves screenshots named `name`. */
async function checkPage(file: string, name: string, docs: readonly unknown[]): Promise<Page> {
  let wide: Page | null = null;
  for (const width of [1280, 390]) {
    const opened = await openReport(browser, file, width);
    expect(opened.problems).toEqual([]);
    expect(opened.dialogs).toEqual([]);
    const shot = await screenshot(opened.page, `${name}-${width}`);
    expect(shot.width).toBe(width);
    expect(shot.stdev, `${shot.file} is blank`).toBeGreaterThan(10);
    if (width === 1280) {
      await checkNumbers(opened.page, docs);
      wide = opened.page;
    } else await opened.page.close();
  }
  return wide!;
}

/** The marks of one run's key figures are present. */
function expectMarked(marks: { src: number; path: string }[], src: number, paths: string[]) {
  for (const p of paths) expect(marks.some((m) => m.src === src && m.path === p), `${p} of input ${src} is shown`).toBe(true);
}

describe.skipIf(!CHROMIUM)(`zoo report in chromium${SKIP_NOTE}`, () => {
  it('a single run, with example thumbnails; zoo eval --report shows the same numbers', async () => {
    const doc = await readDoc(json('single'));
    const out = await report([json('single')], html('single'), ['--examples', '3', '--predictions', join(dir, 'single.csv')]);
    const page = await checkPage(out, 'single', [doc]);
    const marks = await markedNumbers(page);
    expectMarked(marks, 0, ['top1', 'top5', 'top1_interval.0', 'top1_interval.1', 'published.top1', 'published.top1_diff', 'images', 'real.top1', 'per_class.0.top1', 'most_confused.0.count']);
    // Every class of the JSON is a bar of the strip; the worst-classes table lists 8 (all there are).
    const perClass = atPath(doc, 'per_class') as unknown[];
    expect(await page.locator('svg.strip rect.bar').count()).toBe(perClass.length);
    // Identity: weights hash, zoo version and date as the JSON holds them.
    for (const k of ['zoo_version', 'date']) expect(await page.locator('table.facts td', { hasText: atPath(doc, k) as string }).count()).toBe(1);
    expect(await page.locator('code', { hasText: atPath(doc, 'identity.weights.sha256') as string }).count()).toBe(1);
    // A real model: some classes right (bars above zero); the model file and where its config came from.
    expect(atPath(doc, 'top1')).toBeGreaterThan(0);
    expect(await page.locator('svg.strip rect.bar:not([height="0"])').count()).toBeGreaterThan(0);
    expect(await page.locator('table.facts td', { hasText: atPath(doc, 'model_file.file') as string }).count()).toBeGreaterThan(0);
    expect(await page.locator('table.facts td', { hasText: atPath(doc, 'config_sources.input_size') as string }).count()).toBe(1);
    // Thumbnails: embedded JPEGs that decoded (naturalWidth > 0), with the true class named.
    const imgs = await page.evaluate<{ src: string; w: number }[]>(`Array.from(document.querySelectorAll('#examples img')).map((e) => ({ src: e.src.slice(0, 23), w: e.naturalWidth }))`);
    expect(imgs.length).toBeGreaterThan(0);
    for (const i of imgs) expect(i).toEqual({ src: 'data:image/jpeg;base64,', w: 112 });
    await page.close();

    // Without the CSV, --examples takes the mistakes from the JSON's per_image (unranked).
    const fromJson = await openReport(browser, await report([json('single')], html('single-per-image'), ['--examples', '2']), 1280);
    expect(fromJson.problems).toEqual([]);
    expect(await fromJson.page.locator('#examples h4').first().textContent()).toMatch(/^Mistakes \(by file name/);
    const perImage = atPath(doc, 'per_image') as { file: string[]; label: number[]; top1: number[] };
    const wrong = perImage.file.filter((_, i) => perImage.label[i] !== perImage.top1[i]).sort();
    expect(await fromJson.page.locator('#examples details > .thumbs').first().locator('code').allTextContents()).toEqual(wrong.slice(0, 2));
    await fromJson.page.close();

    const fromEval = await checkPage(html('eval-report'), 'eval-report', [doc]);
    const evalMarks = (await markedNumbers(fromEval)).map((m) => m.path).sort();
    const reportMarks = marks.map((m) => m.path).sort();
    expect(evalMarks).toEqual(reportMarks);
    await fromEval.close();
  }, 120_000);

  it('dark mode follows the system; print is light with every section open', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
    await page.goto(pathToFileURL(await report([json('single')], html('dark'))).href);
    const background = () => page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
    expect(await background()).toBe('rgb(15, 19, 24)');
    const shot = await screenshot(page, 'single-dark-1280');
    expect(shot.stdev).toBeGreaterThan(10);
    const identity = page.locator('article.run details table.facts').first();
    expect(await identity.isVisible()).toBe(false); // collapsed on screen
    await page.emulateMedia({ media: 'print' });
    expect(await background()).toBe('rgb(255, 255, 255)');
    expect(await identity.isVisible()).toBe(true);
    const pdf = await page.pdf({ format: 'A4' });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    await page.close();
  }, 60_000);

  it('shards merged with zoo merge', async () => {
    const doc = await readDoc(json('merged'));
    const page = await checkPage(await report([json('merged')], html('merged')), 'merged', [doc]);
    expectMarked(await markedNumbers(page), 0, ['top1', 'top5', 'images', 'merged_from.length']);
    expect(await page.locator('text=Merged from').textContent()).toContain('2');
    await page.close();
  }, 120_000);

  it('four models side by side: forest plot, scatter charts and a sortable table', async () => {
    const files = [json('single'), ...MODELS.slice(1).map(([m]) => json(m))];
    const docs = await Promise.all(files.map(readDoc));
    const page = await checkPage(await report(files, html('models')), 'models', docs);
    const marks = await markedNumbers(page);
    for (let i = 0; i < docs.length; i++) expectMarked(marks, i, ['top1', 'top5', 'param_count', 'images_per_sec', ...(i > 0 ? ['gmacs'] : [])]);
    expect(await page.locator('#summary svg.chart').first().locator('circle.pt').count()).toBe(4);
    // params and images/s for all four; GMACs for the built-in three (a model file's JSON has gmacs null).
    expect(atPath(docs[0], 'gmacs')).toBeNull();
    expect(await page.locator('#compare svg.scatter circle.pt').count()).toBe(11);
    expect(await page.locator('#compare svg.scatter circle.pubpt').count()).toBe(11);
    expect(await page.locator('#compare table.sortable tbody tr').count()).toBe(4);
    // Sorting by images/s orders the rows by the JSON's images_per_sec.
    const speeds = docs.map((d) => atPath(d, 'images_per_sec') as number);
    await page.locator('#compare table.sortable th button', { hasText: 'images/s' }).click();
    const col = ['model', 'images', 'top-1', 'top-5', 'published top-1', 'diff', 'params (M)', 'GMACs', 'images/s'].length;
    const shown = await page.locator(`#compare table.sortable tbody tr td:nth-child(${col})`).allTextContents();
    expect(shown).toEqual([...speeds].sort((a, b) => a - b).map(String));
    await page.locator('#compare table.sortable th button', { hasText: 'images/s' }).click();
    expect(await page.locator(`#compare table.sortable tbody tr td:nth-child(${col})`).allTextContents()).toEqual([...speeds].sort((a, b) => b - a).map(String));
    await page.close();
  }, 120_000);

  it('a run with a skipped image: the count, the hostile file name as text, nothing runs', async () => {
    const doc = await readDoc(json('skipped'));
    const skipped = atPath(doc, 'skipped') as { file: string }[];
    expect(skipped.map((s) => s.file)).toEqual([join(wnidOf((await val227Files(1))[0]!), HOSTILE_FILE)]);
    const page = await checkPage(await report([json('skipped')], html('skipped')), 'skipped', [doc]);
    expectMarked(await markedNumbers(page), 0, ['skipped.length', 'top1', 'images']);
    expect(await page.locator('.skipped code').first().textContent()).toBe(skipped[0]!.file);
    expect(await pwned(page)).toBeUndefined();
    expect(await page.locator('#summary').textContent()).toMatch(/not comparable/i);
    await page.close();
  }, 120_000);

  it('hostile model and file names are escaped: shown as text, no script runs', async () => {
    const doc = (await readDoc(json('skipped'))) as Record<string, unknown>;
    for (const k of ['model', 'arch', 'tag', 'verdict']) doc[k] = `${HOSTILE_MODEL} ${k}`;
    (doc.identity as Record<string, unknown>).model = HOSTILE_MODEL;
    const file = join(dir, `hostile "<script>window.__pwned=4<script>'\n.json`);
    await writeFile(file, JSON.stringify(doc));
    const page = await checkPage(await report([file], html('hostile')), 'hostile', [doc]);
    expect(await pwned(page)).toBeUndefined();
    expect(await page.locator('script').count()).toBe(1);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.title()).toContain('window.__pwned=3');
    const body = (await page.locator('body').textContent()) ?? '';
    for (const s of [HOSTILE_MODEL, `${HOSTILE_MODEL} verdict`, 'window.__pwned=4']) expect(body).toContain(s);
    await page.close();
  }, 120_000);

  it('a 50,000-image result: page under 3 MB; load time printed', async () => {
    const doc = syntheticFullRun((await readDoc(json('single'))) as Record<string, unknown>);
    const file = json('synthetic-50k');
    const text = JSON.stringify(doc, null, 2);
    await writeFile(file, text);
    expect(text.split('\n').length).toBeGreaterThanOrEqual(50_000);
    const out = await report([file], html('synthetic-50k'));
    const bytes = (await stat(out)).size;
    expect(bytes).toBeLessThan(3 * 1024 * 1024);
    const opened = await openReport(browser, out, 1280);
    expect(opened.problems).toEqual([]);
    await checkNumbers(opened.page, [doc]);
    expect(await opened.page.locator('svg.strip rect.bar').count()).toBe(1000);
    console.log(`report-browser: 50,000-image result (${text.split('\n').length} JSON lines): page ${(bytes / 1024).toFixed(0)} KiB, load ${opened.loadMs.toFixed(0)} ms in chromium`);
    await opened.page.close();
  }, 120_000);
});

/**
 * A full-val result in the shape of a real one: 1,000 classes of 50 images, 20 confused pairs, a
 * sparse confusion of 9,000 pairs in the merge state (as a full run has), no per-image data.
 */
function syntheticFullRun(real: Record<string, unknown>): Record<string, unknown> {
  const names = (real.per_class as { name: string; class: number }[]).map((c) => c.name);
  const name = (c: number) => `${names[c % names.length]} ${c}`;
  let seed = 7;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const top1 = Array.from({ length: 1000 }, () => Math.floor(rnd() * 51));
  const top5 = top1.map((t) => Math.min(50, t + Math.floor(rnd() * (51 - t))));
  const confusion: [number, number, number][] = [];
  for (let i = 0; i < 9000; i++) confusion.push([i % 1000, (i * 7 + 1) % 1000, 1 + (i % 5)]);
  const correct1 = top1.reduce((a, b) => a + b, 0);
  // per_image as eval --json writes it: 50,000 files, labels and top-1 classes (not shown on the page).
  const perImage = { file: [] as string[], label: [] as number[], top1: [] as number[] };
  for (let i = 0; i < 50_000; i++) {
    perImage.file.push(`ILSVRC2012_val_${String(i + 1).padStart(8, '0')}.JPEG`);
    perImage.label.push(i % 1000);
    perImage.top1.push(i % 4 === 0 ? (i + 1) % 1000 : i % 1000);
  }
  const correct5 = top5.reduce((a, b) => a + b, 0);
  return {
    ...real,
    images: 50_000,
    top1: Math.round((correct1 / 50_000) * 1e6) / 1e4,
    top5: Math.round((correct5 / 50_000) * 1e6) / 1e4,
    top1_correct: correct1,
    top5_correct: correct5,
    subset: false,
    top1_interval: [70.1234, 71.5678],
    top5_interval: [89.1, 90.2],
    per_class: top1.map((t, c) => ({ class: c, name: name(c), images: 50, top1: (t / 50) * 100, top5: (top5[c]! / 50) * 100 })),
    per_image: perImage,
    most_confused: confusion.slice(0, 20).map(([t, p, n]) => ({ true: t, true_name: name(t), predicted: p, predicted_name: name(p), count: n })),
    metrics_state: {
      ...(real.metrics_state as object),
      images: 50_000,
      perClass: { images: top1.map(() => 50), top1Correct: top1, top5Correct: top5 },
      confusion,
    },
  };
}
