/**
 * A real browser for the report tests: Debian's chromium driven by playwright-core (no browser
 * download; .ci/run installs chromium when absent). Opens a page from disk and returns what a test
 * checks: console errors, failed requests, dialogs, every number marked with data-path, screenshots.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { ROOT } from './cli.js';

/** The chromium binary: $CHROMIUM_PATH, else Debian's. null when none exists here. */
export function chromiumPath(): string | null {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p);
  return candidates.find((p) => existsSync(p)) ?? null;
}

export function launchChromium(executablePath: string): Promise<Browser> {
  // --no-sandbox: CI containers run as root, where chromium's sandbox refuses to start.
  return chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu'], timeout: 60_000 });
}

/** One marked number as the page shows it. */
export interface MarkedNumber {
  src: number;
  path: string;
  pathX: string | null;
  /** Text of a span, or the <title> of an SVG mark. */
  shown: string;
  svg: boolean;
}

export interface OpenedPage {
  page: Page;
  problems: string[];
  dialogs: string[];
  loadMs: number;
}

/** Opens `file` at `width`, collecting console errors, page errors, failed requests and dialogs. */
export async function openReport(browser: Browser, file: string, width: number): Promise<OpenedPage> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const problems: string[] = [];
  const dialogs: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  page.on('request', (r) => {
    if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) problems.push(`network request: ${r.url()}`);
  });
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  // performance.now() in the page: navigation start to the load event, the figure a user waits.
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  const loadMs = await page.evaluate<number>(`(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    return nav ? nav.loadEventEnd - nav.startTime : -1;
  })()`);
  return { page, problems, dialogs, loadMs };
}

// Page scripts are strings: they run in the browser, and the test build has no DOM types.
export function markedNumbers(page: Page): Promise<MarkedNumber[]> {
  return page.evaluate<MarkedNumber[]>(`Array.from(document.querySelectorAll('[data-path]')).map((el) => {
    const svg = el.namespaceURI === 'http://www.w3.org/2000/svg';
    const title = svg ? (el.querySelector('title')?.textContent ?? '') : '';
    return { src: Number(el.getAttribute('data-src')), path: el.getAttribute('data-path'), pathX: el.getAttribute('data-path-x'), shown: svg ? title : (el.textContent ?? ''), svg };
  })`);
}

/** window.__pwned, which the hostile strings would set if any of them ran. */
export function pwned(page: Page): Promise<unknown> {
  return page.evaluate<unknown>('window.__pwned');
}

/** The value at a dotted path (`per_class.3.top1`, `skipped.length`) of a parsed JSON document. */
export function atPath(doc: unknown, path: string): unknown {
  let v: unknown = doc;
  for (const k of path.split('.')) {
    if (v === null || v === undefined) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** Where screenshots go: .ci/out/ (gitignored), kept as CI artifacts. */
export const SCREENSHOT_DIR = join(ROOT, '.ci', 'out', 'report-screens');

/** A full-page screenshot at the page's width, saved and checked not to be blank. */
export async function screenshot(page: Page, name: string): Promise<{ file: string; stdev: number; width: number }> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  const stats = await sharp(file).stats();
  const meta = await sharp(file).metadata();
  const stdev = Math.max(...stats.channels.slice(0, 3).map((c) => c.stdev));
  return { file, stdev, width: meta.width ?? 0 };
}
