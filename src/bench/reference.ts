/**
 * The Python reference (bench/reference.py) run through Debian's /usr/bin/python3, where torch,
 * torchvision and Pillow live: the same images, config, threads and batch sizes as zoo's stages.
 * ZOO_PYTHON names another interpreter (a venv with those packages, or a broken one in a test).
 * Absent interpreter or packages give a `skipped` note instead of a failure.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EvalConfig } from '../models/eval-config.js';
import type { Rate } from './measure.js';

export const REFERENCE_PYTHON = '/usr/bin/python3';

/** The interpreter the reference runs on: $ZOO_PYTHON when set, else Debian's. */
export function referencePython(): string {
  return process.env.ZOO_PYTHON || REFERENCE_PYTHON;
}
export const REFERENCE_SCRIPT = fileURLToPath(new URL('../../bench/reference.py', import.meta.url));

export interface ReferenceResult {
  versions?: Record<string, string>;
  threads?: number;
  decode?: Rate;
  preprocess?: Rate;
  model?: { name: string; source: string };
  inference?: (Rate & { batch: number })[];
  /** Why the reference did not run (or ran only in part). */
  skipped?: string;
}

export interface ReferenceRequest {
  files: readonly string[];
  count: number;
  cfg: EvalConfig;
  model: string;
  threads: number;
  batches: readonly number[];
  seconds: number;
  stages: readonly ('decode' | 'preprocess' | 'inference')[];
  /** Minimum seconds per decode/preprocess measurement. */
  preSeconds: number;
  python?: string;
}

export async function runReference(req: ReferenceRequest): Promise<ReferenceResult> {
  const python = req.python ?? referencePython();
  if (!existsSync(python)) return { skipped: `${python} not found (install Debian's python3-torch, python3-torchvision, python3-pil)` };
  if (req.stages.length === 0) return { skipped: 'no reference stage asked for' };
  const dir = await mkdtemp(join(tmpdir(), 'zoo-bench-ref-'));
  try {
    const list = join(dir, 'files.txt');
    await writeFile(list, req.files.join('\n') + '\n');
    const [, size] = req.cfg.inputSize;
    const args = [
      REFERENCE_SCRIPT,
      '--files', list,
      '--count', String(req.count),
      '--size', String(size),
      '--crop-pct', String(req.cfg.cropPct),
      '--interpolation', req.cfg.interpolation,
      '--mean', req.cfg.mean.join(','),
      '--std', req.cfg.std.join(','),
      '--model', req.model,
      '--threads', String(req.threads),
      '--batches', req.batches.join(','),
      '--seconds', String(req.seconds),
      '--pre-seconds', String(req.preSeconds),
      '--stages', req.stages.join(','),
    ];
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: String(req.threads) } });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      // An interpreter that cannot be started (not executable, say) skips the reference like a failed one.
      child.on('error', (e) => resolve({ code: null, stdout: out, stderr: e.message }));
      // 'close', not 'exit': the output streams are complete only then.
      child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    });
    if (code !== 0) {
      const last = stderr.trim().split('\n').at(-1) ?? '';
      return { skipped: /ModuleNotFoundError|ImportError/.test(stderr) ? `reference packages missing: ${last}` : `reference runner failed (exit ${code}): ${last}` };
    }
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as ReferenceResult;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
