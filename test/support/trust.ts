/**
 * Helpers for the issue-5 process tests (test/cli-trust-*.test.ts): a zoo process that can be
 * signalled mid-run, the eval command line they share, and readers for the result files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EvalResult } from '../../src/run/result.js';
import { RUN_DIR, ZOO_BIN, type ZooRun } from './cli.js';

export interface LiveZoo {
  child: ChildProcess;
  /** Resolves when the process has exited. */
  done: Promise<ZooRun>;
  stderr(): string;
}

/** `node bin/zoo.js ...args` started in the background (killed after `timeoutMs` regardless); `env` adds variables. */
export function startZoo(args: readonly string[], timeoutMs = 60_000, env: Record<string, string> = {}): LiveZoo {
  const child = spawn(process.execPath, [ZOO_BIN, ...args], {
    cwd: RUN_DIR,
    env: { ...process.env, ZOO_CACHE: join(tmpdir(), 'zoo-test-cache-empty'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<ZooRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, done, stderr: () => stderr };
}

/** Environment that loads test/support/hold.mjs, holding the run at `point`. */
export const hold = (point: string) => ({ NODE_OPTIONS: `--import=${join(import.meta.dirname, 'hold.mjs')}`, ZOO_TEST_HOLD: point });

/** Waits (polling, no deadline but the run's own) until `cond` holds or the process has ended. */
export async function until(cond: () => boolean, zoo: LiveZoo, what: string): Promise<void> {
  let ended = false;
  void zoo.done.then(() => (ended = true));
  while (!cond()) {
    if (ended) throw new Error(`zoo ended before ${what}: ${zoo.stderr()}`);
    await sleep(10);
  }
}

/** The flags every trust test passes: recipe weights, one engine thread, quiet, small batches. */
export function evalArgs(data: string, weights: string, extra: readonly string[] = []): string[] {
  return ['eval', 'rexnet_100', '--data', data, '--weights', weights, '--threads', '1', '--workers', '1', '--quiet', ...extra];
}

/**
 * What `zoo eval --json` writes: src's EvalResult as JSON. Only a compile-time shape for reading it
 * back; every value a test relies on is still asserted against what the run itself implies.
 */
export type ResultJson = EvalResult;

export async function readJson<T = ResultJson>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, 'utf8')) as T;
}

/** The fields of a result that must not depend on how the model was run (timings and dates excluded): a sweep's equal its single runs'. */
export function resultNumbers(doc: Record<string, unknown>) {
  const keys = ['model', 'top1', 'top1_err', 'top5', 'top5_err', 'param_count', 'img_size', 'crop_pct', 'interpolation', 'images', 'top1_correct', 'top5_correct', 'published', 'per_class', 'most_confused', 'metrics_state', 'per_image', 'identity', 'weights', 'eval_config', 'checks', 'verdict'];
  return Object.fromEntries(keys.map((k) => [k, doc[k]]));
}

/** A val.txt-form labels file: `NAME LABEL` lines. */
export async function writeLabels(file: string, labels: ReadonlyMap<string, number>): Promise<string> {
  await writeFile(file, [...labels].map(([n, l]) => `${n} ${l}`).join('\n') + '\n');
  return file;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
