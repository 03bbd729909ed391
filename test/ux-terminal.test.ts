/**
 * Issue 10, "Terminal and output", as real processes: `zoo eval` in a pseudo-terminal of 60 and
 * 120 columns (util-linux `script`), with nothing the terminal has to wrap; Ctrl-C typed into the
 * terminal (the run held at a known point by test/support/hold.mjs) printing its message on a fresh
 * line; a resumed bar starting from the images already counted.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitToWidth, wrapLine } from '../src/cli/fit-width.js';
import { evalProgress } from '../src/cli/progress.js';
import { ROOT, VAL_227, ZOO_BIN, makeFlatFolder, runZoo, tempDir, val227Files } from './support/cli.js';

const HAS_SCRIPT = spawnSync('script', ['--version']).status === 0;
const HOLD = join(ROOT, 'test', 'support', 'hold.mjs');

let dir: string;
beforeAll(async () => {
  dir = await tempDir('zoo-ux-terminal-');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface PtyRun {
  code: number | null;
  /** Everything the terminal received. */
  raw: string;
}

/**
 * `zoo ARGS` in a pseudo-terminal `cols` wide (stdout and stderr both the terminal, as for a user).
 * `keys` is called with each output chunk and may answer with keystrokes (e.g. Ctrl-C).
 */
function zooInPty(cols: number, args: string[], opts: { env?: Record<string, string>; keys?: (all: string) => string | undefined } = {}): Promise<PtyRun> {
  const cmd = `stty cols ${cols} rows 50; exec ${quote(process.execPath)} ${quote(ZOO_BIN)} ${args.map(quote).join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qefc', cmd, '/dev/null'], {
      cwd: dir,
      env: { ...process.env, ZOO_CACHE: join(dir, 'cache'), TERM: 'xterm', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let raw = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      raw += s;
      const answer = opts.keys?.(raw);
      if (answer) child.stdin.write(answer);
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => (raw += s));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, raw });
    });
  });
}

/** The lines as the terminal shows them over time: split at \r and \n, erase-line codes removed. */
function screenLines(raw: string): string[] {
  return raw.replace(/\x1b\[K/g, '').split(/\r\n|\r|\n/).filter((l) => l.length > 0);
}

const EVAL = ['eval', 'mobilenetv2-12-int8', '--data', 'sample', '--limit', '12', '-b', '4', '-j', '1', '--threads', '1'];

describe.skipIf(!HAS_SCRIPT)('in a terminal (item 9)', () => {
  it('60 columns: nothing wraps; the numbers stay, the bar goes; the table is laid out narrow', async () => {
    // --data in a folder deeper than the terminal is wide, wherever the checkout lives (CI's path
    // is longer than a developer's): the path is printed in the header and must break, not wrap.
    const deep = await makeFlatFolder(join(dir, 'a-folder-name-long-enough', 'to-be-wider-than-sixty-columns-on-its-own', 'val'), await val227Files(12));
    const run = await zooInPty(60, [...EVAL.slice(0, 2), '--data', deep, ...EVAL.slice(4)]);
    expect(run.code, run.raw).toBe(0);
    expect(run.raw.replace(/\s+/g, '')).toContain(deep.replace(/\s+/g, ''));
    const lines = screenLines(run.raw);
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(59);
    const status = lines.filter((l) => /^(\[[#-]+\] )?.*\d+\/12 \| /.test(l));
    expect(status.length).toBeGreaterThan(0);
    expect(status.at(-1)).toMatch(/12\/12 \| top-1 \d+\.\d\d% top-5 \d+\.\d\d% \| [\d.]+ img\/s/);
    expect(lines.some((l) => /^top-1: measured \d+\.\d{3}, 95% interval/.test(l))).toBe(true);
  }, 120_000);

  it('120 columns: nothing wraps, the bar and the full table are there', async () => {
    const run = await zooInPty(120, EVAL);
    expect(run.code, run.raw).toBe(0);
    const lines = screenLines(run.raw);
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(119);
    expect(lines.some((l) => /^\[#+-*\] mobilenetv2-12-int8\.onnx_model_zoo \| 12\/12 \| top-1 .* img\/s \| ETA/.test(l))).toBe(true);
    expect(lines.some((l) => /^model\s+tag\s+images\s+images\/s/.test(l))).toBe(true);
    expect(lines.some((l) => /^top-1\s+\d+\.\d{3}\s+\[/.test(l))).toBe(true);
  }, 120_000);

  it('Ctrl-C prints its message on a fresh line, not glued to the bar', async () => {
    let sent = 0;
    const run = await zooInPty(100, [...EVAL, '--json', join(dir, 'r.json')], {
      // Held at the first state save, after the first batch drew the bar.
      env: { NODE_OPTIONS: `--import=${HOLD}`, ZOO_TEST_HOLD: 'rename' },
      keys: (all) => {
        if (sent === 0 && all.includes('zoo-test: holding')) return (sent = 1), '\x03';
        if (sent === 1 && all.includes('stopping after the current batch')) return (sent = 2), '\x03';
        return undefined;
      },
    });
    expect(run.code, run.raw).toBe(130);
    // The message starts a line: right after an erase-to-line-start or a newline, never after bar text.
    const at = run.raw.indexOf('zoo: SIGINT: stopping after the current batch');
    expect(at, run.raw).toBeGreaterThan(0);
    expect(run.raw.slice(Math.max(0, at - 4), at)).toMatch(/(\r\x1b\[K|\n)$/);
    const before = run.raw.slice(0, at);
    expect(before).toMatch(/\d+\/12 \| top-1/);
  }, 120_000);
});

describe('fitting a line to the terminal', () => {
  it('breaks a word longer than the line between folders, so no line is wider than the terminal', () => {
    const path = '/check/work/main/assets/models/mobilenetv2-12-int8/model.onnx';
    const lines = wrapLine(`zoo: mobilenetv2-12-int8 | weights ${path} (sha256 83530ad811bc)`, 40);
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(40);
    // Pieces rejoin to the path: a continuation line's indent is the only thing added.
    expect(lines.map((l, i) => (i === 0 ? l : l.slice(2))).join(' ').replace(/\/ /g, '/')).toContain(path);
    expect(lines.some((l) => /\/$/.test(l))).toBe(true);
  });

  it('breaks a word with no separator at the width', () => {
    const lines = wrapLine(`x ${'a'.repeat(100)}`, 30);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(30);
    expect(lines.join('').replace(/[ x]/g, '')).toBe('a'.repeat(100));
  });

  it('fitToWidth leaves lines that fit alone and keeps every character of those it breaks', () => {
    const text = `short\nkey: ${'/deep'.repeat(30)}/file.json`;
    const out = fitToWidth(text, 50).split('\n');
    expect(out[0]).toBe('short');
    for (const l of out) expect(l.length).toBeLessThanOrEqual(49);
    expect(out.join('').replace(/ /g, '')).toBe(text.replace(/[\n ]/g, ''));
  });
});

describe('resumed progress (item 9)', () => {
  it('starts from the images already counted, with their top-1/top-5', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (b: Buffer) => (text += b.toString()));
    const stderr = Object.assign(out, { isTTY: true, columns: 120 });
    const p = evalProgress(100, { stdout: new PassThrough(), stderr }, { label: 'm', start: 40, top1: 75, top5: 90 });
    expect(text).toMatch(/40\/100 \| top-1 75\.00% top-5 90\.00%/);
    p.stop();
  });
});

describe('the INCOMPLETE warning (item 10)', () => {
  it('is said once, in the table; --quiet leaves stderr empty', async () => {
    const run = await runZoo([...EVAL.slice(0, 6), '-q', '--threads', '1'], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    expect((run.stdout.match(/INCOMPLETE/g) ?? []).length).toBe(1);
    expect(run.stdout).toMatch(/^incomplete data: INCOMPLETE: found 106 images/m);
  }, 60_000);

  it('never comes before a fatal error', async () => {
    const bogus = join(dir, 'bogus.onnx');
    await writeFile(bogus, 'not a model');
    const run = await runZoo(['eval', bogus, '--data', 'sample', '--limit', '4'], { cwd: dir });
    expect(run.code).not.toBe(0);
    expect(run.stderr).not.toMatch(/warning|INCOMPLETE/);
  }, 60_000);
});

describe("an interrupted run's state (item 11)", () => {
  it('is not silently discarded: the same command is refused (exit 2) naming --resume and --restart; --restart starts over', async () => {
    const cwd = await tempDir('zoo-ux-state-');
    try {
      const state = join(cwd, 'zoo-eval.state.json');
      // What an interrupted run leaves (its content does not matter to the refusal, only that it is there).
      const text = JSON.stringify({ kind: 'zoo-eval-state', version: 1, next: 8, identity: { model: 'mobilenetv2-12-int8.onnx_model_zoo', samples: 12 } });
      await writeFile(state, text);
      const again = await runZoo(EVAL, { cwd });
      expect(again.code).toBe(2);
      expect(again.stderr.trim().split('\n')).toHaveLength(1);
      expect(again.stderr).toMatch(/zoo-eval\.state\.json: an interrupted run's state is here \(mobilenetv2-12-int8\.onnx_model_zoo, 8 of 12 images done\).*add --resume to continue it, or --restart to discard it/);
      expect(await readFile(state, 'utf8')).toBe(text);
      const restart = await runZoo([...EVAL, '--restart', '-q'], { cwd });
      expect(restart.code, restart.stderr).toBe(0);
      expect(restart.stderr).toMatch(/--restart: discarded the interrupted run's state/);
      await expect(stat(state)).rejects.toThrow(/ENOENT/);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('--data errors say what was found (item 12)', () => {
  it('class folders that are not WordNet ids, a parent of val folders, a single image', async () => {
    const names = await val227Files(2);
    const cls = join(dir, 'pets');
    for (const c of ['cat', 'dog']) {
      await mkdir(join(cls, c), { recursive: true });
      await copyFile(join(VAL_227, names[0]!), join(cls, c, 'a.jpg'));
    }
    const parent = join(dir, 'parent');
    await makeFlatFolder(join(parent, 'val-227'), names);
    await makeFlatFolder(join(parent, 'val-496'), names);
    const cases: [string, RegExp][] = [
      [cls, /pets: the class folders \('cat', 'dog'\) are not WordNet ids .*--class-map/],
      [parent, /parent: no images here, but these subfolders hold them: val-227, val-496; pass one of them, e\.g\. --data .*val-227/],
      [join(VAL_227, names[0]!), /--data is a single JPEG image \(expected a folder of val images/],
    ];
    for (const [data, re] of cases) {
      const run = await runZoo(['eval', 'mobilenetv2-12-int8', '--data', data], { cwd: dir });
      expect(run.code, run.stderr).toBe(3);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(re);
    }
  }, 60_000);
});

describe('file errors in words (item 13)', () => {
  it('a missing file says "no such file or folder", not ENOENT', async () => {
    const run = await runZoo(['merge', join(dir, 'nonexist.json')], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/nonexist\.json: cannot read the result: no such file or folder; check the path/);
    expect(run.stderr).not.toMatch(/ENOENT/);
  }, 60_000);
});
