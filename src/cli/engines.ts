/**
 * `zoo engines`: what can run models on this machine, and for what is missing, why and the
 * command that fixes it. Probing is cheap (no model is loaded), so users can run it first when
 * `--device cuda` refuses.
 */
import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { jpegDecoder, turboAddonStatus, BUILD_FIX } from '../data/jpeg-turbo.js';
import { cudaInstallCommand, cudaProviderPath } from '../engines/onnxruntime/index.js';
import { jsonOption, jsonToStdout, writeJsonOut, type JsonFlag } from './json-out.js';
import type { Io, Wrap } from './main.js';
import { renderTable } from '../util/format.js';

export interface EngineReport {
  /** 'jpeg-decoder' rows say which decoder reads JPEGs (the libjpeg-turbo addon or sharp). */
  engine: 'onnxruntime' | 'tfjs' | 'jpeg-decoder';
  backend: string;
  device: 'cpu' | 'cuda';
  available: boolean;
  reason: string;
  fix?: string;
}

async function onnxruntimeReports(): Promise<EngineReport[]> {
  const out: EngineReport[] = [];
  try {
    const ort = (await import('onnxruntime-node')) as { env?: { versions?: { common?: string } } };
    out.push({ engine: 'onnxruntime', backend: 'cpu', device: 'cpu', available: true, reason: `onnxruntime-node ${ort.env?.versions?.common ?? ''}`.trim() });
  } catch (e) {
    out.push({ engine: 'onnxruntime', backend: 'cpu', device: 'cpu', available: false, reason: String(e).split('\n')[0]!, fix: 'npm install' });
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    out.push({ engine: 'onnxruntime', backend: 'cuda', device: 'cuda', available: false, reason: `no CUDA provider for ${process.platform}/${process.arch}` });
  } else {
    const lib = cudaProviderPath();
    out.push(
      existsSync(lib)
        ? { engine: 'onnxruntime', backend: 'cuda', device: 'cuda', available: true, reason: `${lib} present (needs CUDA 12, cuDNN 9 at run time)` }
        : { engine: 'onnxruntime', backend: 'cuda', device: 'cuda', available: false, reason: 'CUDA execution provider not installed (skipped at npm install so installs work offline)', fix: cudaInstallCommand() },
    );
  }
  return out;
}

async function tfjsReports(): Promise<EngineReport[]> {
  const { describeTfjsBackends } = await import('../engines/tfjs/index.js');
  return (await describeTfjsBackends()).map((b) => ({
    engine: 'tfjs' as const,
    backend: b.name,
    device: b.name.includes('(cuda)') ? ('cuda' as const) : ('cpu' as const),
    available: b.available,
    reason: b.reason,
    ...(b.fix !== undefined ? { fix: b.fix } : {}),
  }));
}

/** The two JPEG decoders: which one runs ("in use"), and how to build the fast one when it is absent. */
function decoderReports(): EngineReport[] {
  const running = jpegDecoder().decoder;
  const addon = turboAddonStatus();
  const inUse = (name: string) => (running === name ? 'in use: ' : '');
  return [
    addon.available
      ? { engine: 'jpeg-decoder', backend: 'libjpeg-turbo', device: 'cpu', available: true, reason: `${inUse('libjpeg-turbo')}${addon.reason}${running === 'sharp' ? ' (not used: ZOO_DECODER=sharp)' : ''}` }
      : { engine: 'jpeg-decoder', backend: 'libjpeg-turbo', device: 'cpu', available: false, reason: `${addon.reason} (sharp decodes the same pixels, slower)`, fix: BUILD_FIX },
    { engine: 'jpeg-decoder', backend: 'sharp', device: 'cpu', available: true, reason: `${inUse('sharp')}${running === 'sharp' ? 'JPEG, PNG and other formats' : 'PNG and other formats; JPEGs when the addon is absent'}` },
  ];
}

export async function engineReports(): Promise<EngineReport[]> {
  return [...(await onnxruntimeReports()), ...(await tfjsReports()), ...decoderReports()];
}

export function enginesCommand(io: Io, wrap: Wrap): Command {
  return new Command('engines')
    .description('list the engines and backends on this machine, which can run, and how to enable the others (CUDA)')
    .addOption(jsonOption('the engines'))
    .addHelpText('after', '\nExample:\n  zoo engines\n')
    .action(
      wrap(async (flags: { json?: JsonFlag }) => {
        const reports = await engineReports();
        await writeJsonOut(flags.json, reports, io);
        if (jsonToStdout(flags.json)) return 0;
        const rows = reports.map((r) => [r.engine, r.backend, r.device, r.available ? 'yes' : 'no', r.reason]);
        io.stdout.write(renderTable(['engine', 'backend', 'device', 'available', 'why'], rows, ['left', 'left', 'left', 'left', 'left']));
        const fixes = reports.filter((r) => !r.available && r.fix);
        if (fixes.length > 0) {
          io.stdout.write('\nto enable:\n');
          for (const r of fixes) io.stdout.write(`  ${r.engine} ${r.backend}: ${r.fix}\n`);
        }
        return 0;
      }),
    );
}
