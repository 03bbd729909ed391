/**
 * Helpers for the issue-5 process tests (test/cli-trust-*.test.ts): a zoo process that can be
 * signalled mid-run, the eval command line they share, and readers for the result files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, ZOO_BIN, type ZooRun } from './cli.js';

export interface LiveZoo {
  child: ChildProcess;
  /** Resolves when the process has exited. */
  done: Promise<ZooRun>;
  stderr(): string;
}

/** `node bin/zoo.js ...args` started in the background (killed after `timeoutMs` regardless). */
export function startZoo(args: readonly string[], timeoutMs = 60_000): LiveZoo {
  const child = spawn(process.execPath, [ZOO_BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, ZOO_CACHE: join(tmpdir(), 'zoo-test-cache-empty') },
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

/** The flags every trust test passes: recipe weights, one engine thread, quiet, small batches. */
export function evalArgs(data: string, weights: string, extra: readonly string[] = []): string[] {
  return ['eval', 'rexnet_100', '--data', data, '--weights', weights, '--threads', '1', '--workers', '1', '--quiet', ...extra];
}

export interface ResultJson {
  model: string;
  top1: number;
  top5: number;
  images: number;
  top1_correct: number;
  top5_correct: number;
  subset: boolean;
  complete: boolean;
  comparable: boolean;
  interrupted: boolean;
  resumed: boolean;
  verdict: string;
  top1_interval: [number, number];
  skipped: { file: string; error: string }[];
  selection: { per_class: number | null; limit: number | null; shard: string | null; images: number; key: string };
  real: {
    images: number;
    top1: number;
    top5: number;
    top1_correct: number;
    top5_correct: number;
    no_label: number;
    unmatched: number;
  } | null;
  per_class: { class: number; images: number; top1: number; top5: number }[];
  most_confused: { true: number; predicted: number; count: number }[];
  checks: { passed: boolean; results: { metric: string; kind: string; passed: boolean; verdict: string; interval: [number, number] | null }[] } | null;
  data: { complete: boolean; warnings: string[]; layout: string; found: number };
  metrics_state: { images: number; top1Correct: number; top5Correct: number };
}

export async function readJson<T = ResultJson>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, 'utf8')) as T;
}

/** A val.txt-form labels file: `NAME LABEL` lines. */
export async function writeLabels(file: string, labels: ReadonlyMap<string, number>): Promise<string> {
  await writeFile(file, [...labels].map(([n, l]) => `${n} ${l}`).join('\n') + '\n');
  return file;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
