/**
 * Issue 9, items 4 and 16, through the real CLI.
 *  4. The --state lock: a second run on a state in use is refused (exit 2, one line naming the
 *     owner), a lock of another host is refused with how to remove it, a stale lock of a dead
 *     process is taken over and that is said; a finished run leaves no lock.
 * 16. SIGTERM before the run starts exits 130 (README "Exit codes"), not by the signal (143); a
 *     double SIGTERM while a temporary file exists exits 130 and leaves neither it nor the lock.
 *
 * Deterministic, no timing: a run is held at a known point by test/support/hold.mjs, a preload
 * that stops the first rename of a temporary file, or the read of a file, and says so on stderr.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/errors.js';
import { makeFlatFolder, runZoo, tempDir, val227Files, writeRecipeCheckpoint } from './support/cli.js';
import { evalArgs, hold, startZoo, until } from './support/trust.js';

let dir: string;
let flat: string;
let weights: string;
const args = (state: string, extra: string[] = []) => evalArgs(flat, weights, ['--batch-size', '2', '--state', state, ...extra]);

function errorLine(stderr: string): string {
  const lines = stderr.trim().split('\n').filter((l) => !l.startsWith('zoo: warning:'));
  expect(lines, stderr).toHaveLength(1);
  return lines[0]!;
}

beforeAll(async () => {
  dir = await tempDir('zoo-lock-');
  flat = await makeFlatFolder(join(dir, 'flat'), await val227Files(4));
  weights = await writeRecipeCheckpoint('rexnet_100', dir);
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the --state lock (9.4)', () => {
  it('a second run on a state in use is refused naming the first; after a kill -9 the stale lock is taken over', async () => {
    const state = join(dir, 'shared.state.json');
    const first = startZoo(args(state), 60_000, hold('rename'));
    await until(() => first.stderr().includes('zoo-test: holding the rename'), first, 'its first state save');
    const second = await runZoo(args(state));
    expect(second.code, second.stderr).toBe(ExitCode.USAGE);
    expect(errorLine(second.stderr)).toContain(`--state is in use by another zoo run (pid ${first.child.pid}`);

    first.child.kill('SIGKILL');
    await first.done;
    const third = await runZoo(args(state));
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).toContain(`taking over a stale lock (pid ${first.child.pid} is not running)`);
    expect((await readdir(dir)).filter((f) => f.startsWith('shared.state.json'))).toEqual([]); // no state, no lock, no temp
  });

  it('a lock of another host is refused with how to remove it; the lock and state are left alone', async () => {
    const state = join(dir, 'remote.state.json');
    const lock = `${state}.lock`;
    const owner = JSON.stringify({ pid: 4242, host: `not-${hostname()}`, started_at: '2026-01-01T00:00:00.000Z' });
    await writeFile(lock, owner);
    const r = await runZoo(args(state));
    expect(r.code, r.stderr).toBe(ExitCode.USAGE);
    expect(errorLine(r.stderr)).toMatch(new RegExp(`locked by zoo pid 4242 on host not-.*; pass another --state, or if that run is gone: rm ${lock}`));
    expect(await readFile(lock, 'utf8')).toBe(owner);
  });

  it('a lock whose pid is gone is taken over and said', async () => {
    const state = join(dir, 'stale.state.json');
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    await writeFile(`${state}.lock`, JSON.stringify({ pid: gone, host: hostname(), started_at: '2026-01-01T00:00:00.000Z' }));
    const r = await runZoo(args(state));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`taking over a stale lock (pid ${gone} is not running)`);
    expect((await readdir(dir)).filter((f) => f.startsWith('stale.state.json'))).toEqual([]);
  });
});

describe('a reused pid (9.4, 9.9)', () => {
  it('a lock naming a live pid whose process started after the lock was taken is taken over and said', async () => {
    // This test's own process is alive, but started long after this lock says it was taken: the pid
    // now belongs to another process than the lock's owner. (Linux: /proc gives the start time.)
    const state = join(dir, 'reused.state.json');
    await writeFile(`${state}.lock`, JSON.stringify({ pid: process.pid, host: hostname(), started_at: '2001-01-01T00:00:00.000Z' }));
    const r = await runZoo(args(state));
    if (process.platform !== 'linux') return; // elsewhere only pid-alive is known: the lock is refused
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`taking over a stale lock (pid ${process.pid} now belongs to another process, started after the lock was taken)`);
    expect((await readdir(dir)).filter((f) => f.startsWith('reused.state.json'))).toEqual([]);
  });

  it('a lock recording another process start for a live pid is taken over', async () => {
    const state = join(dir, 'restart.state.json');
    await writeFile(`${state}.lock`, JSON.stringify({ pid: process.pid, host: hostname(), started_at: new Date().toISOString(), start: 'another-boot:1' }));
    const r = await runZoo(args(state));
    if (process.platform !== 'linux') return;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`taking over a stale lock (pid ${process.pid} now belongs to another process)`);
  });
});

describe('SIGTERM (9.16)', () => {
  it('before the run starts (reading --baseline): exit 130 and one line, not death by the signal', async () => {
    const baseline = join(dir, 'held-baseline.json');
    await writeFile(baseline, '{}');
    const zoo = startZoo(args(join(dir, 'early.state.json'), ['--baseline', baseline]), 60_000, hold('read:held-baseline'));
    // zoo is inside its start-up, reading the baseline, before any run-level handler exists.
    await until(() => zoo.stderr().includes('zoo-test: holding the read'), zoo, 'it read the baseline');
    zoo.child.kill('SIGTERM');
    const r = await zoo.done;
    expect(r.signal).toBeNull();
    expect(r.code, r.stderr).toBe(ExitCode.INTERRUPTED);
    expect(r.stderr.trim().split('\n').pop()).toBe('zoo: interrupted (SIGTERM)');
    expect(await readdir(dir)).not.toContain('early.state.json');
  });

  it('twice while a temporary file exists: exit 130, no temporary file and no lock left', async () => {
    const out = join(dir, 'double');
    await rm(out, { recursive: true, force: true });
    await mkdir(out);
    const zoo = startZoo(args(join(out, 'run.state.json'), ['--json', join(out, 'r.json')]), 60_000, hold('rename'));
    await until(() => zoo.stderr().includes('zoo-test: holding the rename'), zoo, 'its first state save');
    expect((await readdir(out)).some((f) => f.includes('.tmp-'))).toBe(true); // the moment the test is about
    zoo.child.kill('SIGTERM');
    await until(() => zoo.stderr().includes('stopping after the current batch'), zoo, 'it took the first SIGTERM');
    zoo.child.kill('SIGTERM');
    const r = await zoo.done;
    expect(r.signal).toBeNull();
    expect(r.code, r.stderr).toBe(ExitCode.INTERRUPTED);
    expect(await readdir(out)).toEqual([]);
  });
});
