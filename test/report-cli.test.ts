/**
 * `zoo report` with bad input, through the real CLI: one line naming the file, what is wrong and the
 * fix, exit 2, no stack trace, and no page written (nor any input replaced). Also: `--output -`
 * writes the page to stdout, and a results file holding a list of runs (a sweep) gives one section per run.
 */
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/errors.js';
import { runZoo, tempDir } from './support/cli.js';

let dir: string;
let result: string;
const page = () => join(dir, 'page.html');

/** The smallest thing the report accepts as a result: the page shows what is absent as missing. */
const MINIMAL = { model: 'rexnet_100', top1: 12.5, top5: 40.25, images: 8 };

beforeAll(async () => {
  dir = await tempDir('zoo-report-cli-');
  result = join(dir, 'result.json');
  await writeFile(result, JSON.stringify(MINIMAL));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function refused(args: string[], pattern: RegExp) {
  const r = await runZoo(['report', ...args]);
  expect(r.code, r.stderr).toBe(ExitCode.USAGE);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^zoo: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(existsSync(page())).toBe(false);
}

describe('zoo report: bad input', () => {
  it('a missing file, a file that is not JSON, JSON that holds no result', async () => {
    await refused([join(dir, 'nope.json'), '-o', page()], /nope\.json: cannot read the result: no such file or folder; check the path/);
    const text = join(dir, 'text.json');
    await writeFile(text, 'top1 = 3\n');
    await refused([text, '-o', page()], /text\.json: not JSON \(expected a result written by zoo eval --json/);
    const other = join(dir, 'other.json');
    await writeFile(other, JSON.stringify({ hello: [1, 2] }));
    await refused([result, other, '-o', page()], /other\.json: no zoo result in this file/);
  });

  it('no --output; an --output that is one of the inputs (left as it was)', async () => {
    await refused([result], /needs --output/);
    const before = await readFile(result, 'utf8');
    const r = await runZoo(['report', result, '-o', result]);
    expect(r.code).toBe(ExitCode.USAGE);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(await readFile(result, 'utf8')).toBe(before);
  });

  it('--examples without predictions, with a file that is not a predictions CSV, with too many', async () => {
    await refused([result, '-o', page(), '--examples', '3'], /--examples needs the per-image predictions/);
    const csv = join(dir, 'p.csv');
    await writeFile(csv, 'a,b\n1,2\n');
    await refused([result, '-o', page(), '--examples', '3', '--predictions', csv, '--data', join(dir, 'images')], /p\.csv: not a zoo predictions file/);
    // The page may not be written inside the image folder it reads.
    await refused([result, '-o', page(), '--examples', '3', '--predictions', csv, '--data', dir], /--output/);
    await refused([result, '-o', page(), '--examples', '3', '--predictions', csv, csv], /2 predictions files for 1 run/);
    await refused([result, '-o', page(), '--examples', '0'], /--examples/);
  });
});

describe('zoo report: outputs and inputs', () => {
  it('--output - writes the page to stdout', async () => {
    const r = await runZoo(['report', result, '--output', '-']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^<!DOCTYPE html>/);
    expect(r.stdout).toContain('data-path="top1">12.5</span>');
  });

  it('a file holding a list of runs (a sweep): each run shown, paths into the list', async () => {
    const sweep = join(dir, 'sweep.json');
    await writeFile(sweep, JSON.stringify({ results: [MINIMAL, { ...MINIMAL, model: 'rexnet_130', top1: 20 }] }));
    const r = await runZoo(['report', sweep, '--output', '-']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('data-path="results.0.top1">12.5</span>');
    expect(r.stdout).toContain('data-path="results.1.top1">20</span>');
    expect(r.stdout).toContain('id="compare"');
  });
});
