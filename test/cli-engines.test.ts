import { describe, expect, it } from 'vitest';
import { runZoo } from './support/cli.js';

// Issue 4: zoo reports what is installed and why the rest is not, with the fix. On this machine
// and CI no native tfjs package and no onnxruntime CUDA provider are installed (offline installs).
describe('zoo engines', () => {
  it('lists every engine/backend with availability, reason and fix', async () => {
    const run = await runZoo(['engines', '--json']);
    expect(run.code).toBe(0);
    const reports = JSON.parse(run.stdout) as { engine: string; backend: string; device: string; available: boolean; reason: string; fix?: string }[];
    const ortCpu = reports.find((r) => r.engine === 'onnxruntime' && r.device === 'cpu');
    expect(ortCpu?.available).toBe(true);
    const ortCuda = reports.find((r) => r.engine === 'onnxruntime' && r.device === 'cuda')!;
    if (!ortCuda.available) expect(ortCuda.fix).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12 node .*install\.js/);
    const wasm = reports.find((r) => r.backend.includes('tfjs-backend-wasm'))!;
    expect(wasm.available).toBe(true);
    const gpu = reports.find((r) => r.backend.includes('tfjs-node-gpu'))!;
    expect(gpu.device).toBe('cuda');
    if (!gpu.available) expect(gpu.fix).toMatch(/tfjs-node-gpu/);
    for (const r of reports) expect(r.reason.length).toBeGreaterThan(0);
  });

  it('prints a table and the commands that enable what is missing', async () => {
    const run = await runZoo(['engines']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/onnxruntime\s+cpu\s+cpu\s+yes/);
    if (/no\s/.test(run.stdout)) expect(run.stdout).toContain('to enable:');
  });
});
