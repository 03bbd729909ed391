/**
 * Issue 9, items 1-3: what zoo does to the files it writes, through the real CLI.
 *  1. outputs that are one file, an output that is the weights file or lies inside the data: refused
 *     (exit 2, one line) before any work, every file left as it was;
 *  2. a symlink is followed (the link stays), a FIFO is streamed to (it stays a FIFO), `-` and
 *     /dev/stdout are stdout (the table moves to stderr);
 *  3. a missing folder, a folder given as a file, a parent that is a file: exit 2 before the run;
 *     a write that fails late (a symlink to /dev/full: ENOSPC) is one line, leaves no temporary
 *     file and keeps the state, from which --resume writes the outputs without evaluating again.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, statSync } from 'node:fs';
import { chmod, link, lstat, mkdir, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/errors.js';
import { makeFlatFolder, ROOT, runZoo, tempDir, val227Files, writeRecipeCheckpoint, ZOO_BIN } from './support/cli.js';
import { evalArgs, type ResultJson } from './support/trust.js';

let dir: string;
let flat: string;
let weights: string;
const run = (extra: string[]) => runZoo(evalArgs(flat, weights, ['--batch-size', '2', ...extra]), { timeoutMs: 60_000 });

/** One error line on stderr (besides warnings about the data), no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n').filter((l) => !l.startsWith('zoo: warning:'));
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

async function noTempFiles(where: string): Promise<void> {
  expect((await readdir(where)).filter((f) => f.includes('.tmp-'))).toEqual([]);
}

beforeAll(async () => {
  dir = await tempDir('zoo-outputs-');
  flat = await makeFlatFolder(join(dir, 'flat'), await val227Files(4));
  weights = await writeRecipeCheckpoint('rexnet_100', dir);
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('colliding outputs are refused before any work (9.1)', () => {
  it.each([
    ['--state is the weights file', (w: string) => ['--state', w]],
    ['--json is the weights file', (w: string) => ['--json', w]],
    ['--json and --state are one file', () => ['--json', join(dir, 'r.json'), '--state', join(dir, 'r.json')]],
    ['--json and --predictions are one file', () => ['--json', join(dir, 'x'), '--predictions', join(dir, 'x')]],
    ['--json and --csv are one file', () => ['--json', join(dir, 'x'), '--csv', join(dir, 'x')]],
    ['--json and --csv are one file by another name', () => ['--json', join(dir, 'x'), '--csv', join(dir, '.', 'sub', '..', 'x')]],
  ])('%s', async (_what, args) => {
    const before = await readFile(weights);
    const a = args(weights);
    const r = await run(a.includes('--state') ? a : [...a, '--state', join(dir, 'collide.state.json')]);
    expect(r.code, r.stderr).toBe(ExitCode.USAGE);
    expect(oneLine(r.stderr)).toMatch(/same file|would overwrite the --weights file/);
    expect((await readFile(weights)).equals(before)).toBe(true);
    expect(await readdir(dir)).not.toContain('r.json');
    expect(await readdir(dir)).not.toContain('x');
  });

  it('a hard link to an output is the same file', async () => {
    const a = join(dir, 'a.json');
    await writeFile(a, 'keep');
    await link(a, join(dir, 'b.csv'));
    const r = await run(['--json', a, '--csv', join(dir, 'b.csv')]);
    expect(r.code, r.stderr).toBe(ExitCode.USAGE);
    expect(oneLine(r.stderr)).toContain('--json and --csv name the same file');
    expect(await readFile(a, 'utf8')).toBe('keep');
  });

  it('an output inside --data (an image of it) is refused and the image kept', async () => {
    const image = join(flat, (await readdir(flat))[0]!);
    const before = await readFile(image);
    const r = await run(['--json', image]);
    expect(r.code, r.stderr).toBe(ExitCode.USAGE);
    expect(oneLine(r.stderr)).toContain('lies inside the --data folder');
    expect((await readFile(image)).equals(before)).toBe(true);
    expect(await readdir(flat)).toHaveLength(4);
  });
});

describe('symlinks, FIFOs and stdout are written, not replaced (9.2)', () => {
  it('--json - is stdout, --csv to a FIFO is streamed, --predictions through a symlink writes its target', async () => {
    const fifo = join(dir, 'csv.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const target = join(dir, 'real-predictions.csv');
    const linkPath = join(dir, 'predictions-link.csv');
    await symlink(target, linkPath);
    // The reader must be there while zoo writes: a FIFO has no storage.
    const fromFifo = new Promise<string>((resolve, reject) => {
      let text = '';
      createReadStream(fifo, 'utf8')
        .on('data', (s) => (text += String(s)))
        .on('end', () => resolve(text))
        .on('error', reject);
    });
    const r = await run(['--json', '-', '--csv', fifo, '--predictions', linkPath, '--state', join(dir, 'streams.state.json')]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as ResultJson; // stdout holds the JSON alone
    expect(result.images).toBe(4);
    expect(r.stderr).toContain('top-1'); // the table went to stderr
    const csv = await fromFifo;
    expect(csv.split('\n')[0]).toMatch(/^model,top1,/);
    expect((await stat(fifo)).isFIFO()).toBe(true);
    expect((await lstat(linkPath)).isSymbolicLink()).toBe(true);
    expect(await readlink(linkPath)).toBe(target);
    expect((await readFile(target, 'utf8')).trim().split('\n')).toHaveLength(5);
    await noTempFiles(dir);
  });

  it("a process substitution's /dev/fd/N (zoo eval --csv >(cat)) is written as a stream", async () => {
    // The shell's >(cat) is a pipe on fd 63 named /dev/fd/63; here the pipe is the child's fd 3.
    const child = spawn(process.execPath, [ZOO_BIN, ...evalArgs(flat, weights, ['--csv', '/dev/fd/3', '--state', join(dir, 'fd.state.json')])], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    let csv = '';
    let stderr = '';
    (child.stdio[3] as import('node:stream').Readable).setEncoding('utf8').on('data', (s: string) => (csv += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdout!.resume();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(0);
    expect(csv.split('\n')[0]).toMatch(/^model,top1,/);
    expect(csv.trim().split('\n')).toHaveLength(2);
  });

  it('--json /dev/stdout is stdout, not a file to replace', async () => {
    const r = await run(['--json', '/dev/stdout', '--state', join(dir, 'devstdout.state.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as ResultJson).images).toBe(4);
  });
});

describe('unwritable outputs fail before the run; late failures are one line (9.3)', () => {
  it.each([
    ['a missing folder', () => join(dir, 'nodir', 'p.csv'), /folder .* does not exist/],
    ['a folder given as the file', () => flat.replace(/flat$/, ''), /is a folder/],
    ['a parent that is a file', () => join(weights, 'p.csv'), /parent of this path is a file/],
  ])('--predictions on %s: exit 2, one line, no state written', async (_what, path, message) => {
    const state = join(dir, 'early.state.json');
    const r = await run(['--predictions', path(), '--state', state]);
    expect(r.code, r.stderr).toBe(ExitCode.USAGE);
    expect(oneLine(r.stderr)).toMatch(message);
    await expect(stat(state)).rejects.toThrow();
  });

  /** Every directory from / down to `dir` lets others through. */
  const traversable = (dir: string): boolean => {
    for (let d = dir; ; d = dirname(d)) {
      if ((statSync(d).mode & 0o001) === 0) return false;
      if (dirname(d) === d) return true;
    }
  };
  // Root writes anywhere: the unwritable folder is tried as uid 65534, which needs the checkout reachable.
  const asRoot = process.getuid?.() === 0;
  it('a folder the user cannot write: exit 2, one line, before anything is read', async (ctx) => {
    await chmod(dir, 0o755);
    if (asRoot && !(traversable(ROOT) && traversable(dir))) ctx.skip(); // uid 65534 could not even start zoo here
    const locked = join(dir, 'readonly');
    await mkdir(locked);
    await chmod(locked, 0o555);
    const r = spawnSync(process.execPath, [ZOO_BIN, 'eval', 'rexnet_100', '--data', join(dir, 'not-read'), '--json', join(locked, 'r.json'), '--state', join(dir, 'ro.state.json')], {
      encoding: 'utf8',
      timeout: 60_000,
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    });
    expect(r.status, r.stderr).toBe(ExitCode.USAGE);
    expect(oneLine(r.stderr)).toMatch(/--json: the folder .*readonly is not writable/);
    expect(await readdir(locked)).toEqual([]);
  });

  it('a write that fails at the end (ENOSPC) is one line, leaves no temp file, keeps the state; --resume writes the outputs', async () => {
    const out = join(dir, 'late');
    await mkdir(out);
    const full = join(out, 'full.csv');
    await symlink('/dev/full', full);
    const state = join(out, 'run.state.json');
    const r = await run(['--predictions', full, '--state', state]);
    expect(r.code, r.stderr).toBe(ExitCode.USAGE);
    expect(oneLine(r.stderr)).toMatch(/--predictions: writing failed \(ENOSPC\).*--resume/);
    expect((await lstat(full)).isSymbolicLink()).toBe(true);
    await noTempFiles(out);
    const saved = JSON.parse(await readFile(state, 'utf8')) as { next: number };
    expect(saved.next).toBe(4);

    const again = await run(['--predictions', join(out, 'p.csv'), '--state', state, '--resume']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('resuming at image 4 of 4');
    expect((await readFile(join(out, 'p.csv'), 'utf8')).trim().split('\n')).toHaveLength(5);
    await noTempFiles(out);
  });
});
