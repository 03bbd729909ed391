/**
 * Issue 9, items 12, 14, 15: values that used to allocate gigabytes, be read wrongly or crash, as
 * one-line errors from the real CLI.
 *  12. --workers/--threads/--batch-size/--img-size above their limits and --crop-pct below its
 *      limit are usage errors naming the limit; --std 0 or negative is refused; workers and batches
 *      larger than the run's images are cut to them.
 *  14. --labels: two lines giving one image different labels, a non-decimal label (0x10), a binary
 *      file: data errors naming the line, with no control byte echoed.
 *  15. zoo logits: .npy shapes with negative, zero or non-integer dimensions are one-line data errors.
 */
import { randomBytes } from 'node:crypto';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '../src/data/npy.js';
import { ExitCode } from '../src/errors.js';
import { makeFlatFolder, runZoo, tempDir, val227Files, writeRecipeCheckpoint } from './support/cli.js';
import { evalArgs, readJson } from './support/trust.js';

let dir: string;
let flat: string;
let names: string[];
let weights: string;

/** stderr is one line, `zoo: ...`, with no stack and no control byte but its newline. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n').filter((l) => !l.startsWith('zoo: warning:'));
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  expect(stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
  return lines[0]!;
}

beforeAll(async () => {
  dir = await tempDir('zoo-bad-input-');
  names = await val227Files(4);
  flat = await makeFlatFolder(join(dir, 'flat'), names);
  weights = await writeRecipeCheckpoint('rexnet_100', dir);
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('option bounds (9.12)', () => {
  // --data does not exist: the option must be refused before discovery looks (exit 2, not 3).
  it.each([
    ['--workers', '100000', /--workers.*100000 is above the limit of \d+ \(4 per core/],
    ['--threads', '100000', /--threads.*100000 is above the limit of \d+ \(4 per core/],
    ['--batch-size', '1000000000', /--batch-size.*above the limit of 4096/],
    ['--img-size', '100000', /--img-size.*above the limit of 2048/],
    ['--crop-pct', '1e-9', /--crop-pct.*\[0\.1, 1\]/],
    ['--std', '0', /--std.*positive/],
    ['--std', '0.2,-0.2,0.2', /--std.*positive/],
  ])('%s %s is a usage error naming the limit', async (flag, value, message) => {
    const r = await runZoo(['eval', 'rexnet_100', '--data', join(dir, 'missing'), flag, value]);
    expect(r.code, r.stderr).toBe(ExitCode.USAGE);
    expect(oneLine(r.stderr)).toMatch(message);
  });

  it('zoo logits --batch-size is bounded too', async () => {
    const r = await runZoo(['logits', 'rexnet_100', '--input', join(dir, 'x.npy'), '--output', join(dir, 'y.npy'), '--batch-size', '99999999']);
    expect(r.code, r.stderr).toBe(ExitCode.USAGE);
    expect(oneLine(r.stderr)).toMatch(/above the limit of 4096/);
  });

  it('workers and the batch are cut to the images of the run', async () => {
    const json = join(dir, 'cut.json');
    const r = await runZoo(evalArgs(flat, weights, ['--limit', '2', '--workers', '3', '--batch-size', '1000', '--json', json, '--state', join(dir, 'cut.state.json')]));
    expect(r.code, r.stderr).toBe(0);
    const result = await readJson(json);
    expect(result.images).toBe(2);
    expect(result.workers).toBe(2);
    expect(result.batch_size).toBe(2);
  });
});

describe('--labels parsing (9.14)', () => {
  const evalWith = (labels: string) => runZoo(['eval', 'rexnet_100', '--data', flat, '--labels', labels, '--weights', weights, '--offline', '--quiet']);

  it('two lines giving one image different labels: exit 3 naming both lines', async () => {
    const file = join(dir, 'dup.txt');
    await writeFile(file, `${names[0]} 1\n${names[1]} 2\n\n${names[0]} 7\n${names[2]} 3\n${names[3]} 4\n`);
    const r = await evalWith(file);
    expect(r.code, r.stderr).toBe(ExitCode.DATA);
    expect(oneLine(r.stderr)).toContain(`line 4 gives ${names[0]!.replace('.JPEG', '')} label 7, line 1 gave it 1`);
  });

  it('a label in hexadecimal is not read as a number: exit 3 naming the line', async () => {
    const file = join(dir, 'hex.txt');
    await writeFile(file, names.map((n, i) => `${n} ${i === 2 ? '0x10' : i}`).join('\n') + '\n');
    const r = await evalWith(file);
    expect(r.code, r.stderr).toBe(ExitCode.DATA);
    expect(oneLine(r.stderr)).toMatch(/line 3 is not `NAME LABEL` with LABEL a decimal class index 0\.\.999: .*0x10/);
  });

  it('a line with control bytes, and a binary file: exit 3 naming the line, nothing echoed raw', async () => {
    const esc = join(dir, 'esc.txt');
    await writeFile(esc, `${names[0]} 1\n${names[1]} \u001b[2J\u0007 2\n`);
    const r1 = await evalWith(esc);
    expect(r1.code, r1.stderr).toBe(ExitCode.DATA);
    expect(oneLine(r1.stderr)).toContain('line 2 holds control bytes');

    const bin = join(dir, 'labels.bin');
    // Seeded-free but harmless: any bytes that are not UTF-8 text must be refused the same way.
    await writeFile(bin, Buffer.concat([Buffer.from(`${names[0]} 1\n`), Buffer.from([0xff, 0xfe, 0x00, 0x1b, 0x5b, 0x32, 0x4a]), randomBytes(64)]));
    const r2 = await evalWith(bin);
    expect(r2.code, r2.stderr).toBe(ExitCode.DATA);
    expect(oneLine(r2.stderr)).toMatch(/line 2 is not UTF-8 text/);
  });

  it('a repeated line with the same label is fine', async () => {
    const file = join(dir, 'same.txt');
    await writeFile(file, [...names, names[1]!].map((n) => `${n} 5`).join('\n') + '\n');
    const r = await runZoo(evalArgs(flat, weights, ['--labels', file, '--state', join(dir, 'same.state.json')]));
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('zoo logits .npy shapes (9.15)', () => {
  it.each([
    ['(-1, 3, -4, 4)', [-1, 3, -4, 4], 48, /dimension '-1', not a non-negative integer/],
    ['(0, 3, 224, 224)', [0, 3, 224, 224], 0, /input has shape \(0, 3, 224, 224\).*at least 1/],
    ['(1.5, 3, 2, 2)', [1.5, 3, 2, 2], 18, /dimension '1\.5', not a non-negative integer/],
    ['(1, 3, 0, 4)', [1, 3, 0, 4], 0, /input has shape \(1, 3, 0, 4\)/],
  ])('%s: exit 3, one line, nothing written', async (_what, shape, values, message) => {
    const x = join(dir, 'shape.npy');
    const y = join(dir, 'shape.out.npy');
    await writeFile(x, encodeNpy({ shape, data: new Float32Array(values) }));
    const r = await runZoo(['logits', 'rexnet_100', '--weights', weights, '--input', x, '--output', y, '--offline']);
    expect(r.code, r.stderr).toBe(ExitCode.DATA);
    expect(oneLine(r.stderr)).toMatch(message);
    expect(await readdir(dir)).not.toContain('shape.out.npy');
  });
});
