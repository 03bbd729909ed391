/** `zoo info PATH` for a model file: its signature, how zoo would adapt it, and the config it finds. */
import { describeSources } from '../models/file/config.js';
import { describeModelFile } from '../models/file/describe.js';
import { looksLikeModelPath } from '../models/file/locate.js';
import { renderTable } from '../util/format.js';
import { jsonToStdout, writeJsonOut, type JsonFlag } from './json-out.js';
import type { Io } from './main.js';
import { describeConfig } from './options.js';
import { tryResolve } from './source.js';

export function isModelFileSpec(spec: string): boolean {
  return looksLikeModelPath(spec, tryResolve(spec) !== null);
}

export async function infoModelFile(spec: string, flags: { json?: JsonFlag }, io: Io): Promise<number> {
  const info = await describeModelFile(spec);
  await writeJsonOut(flags.json, info, io);
  if (jsonToStdout(flags.json)) return 0;
  const sig = (s: { name: string; type: string; shape: readonly (number | string)[] }) => `${s.name} ${s.type} [${s.shape.join(', ')}]`;
  const lines: [string, string][] = [
    ['file', info.file],
    ['format', info.format],
    ['inputs', info.inputs.map(sig).join('; ')],
    ['outputs', info.outputs.map(sig).join('; ')],
    ['layout', 'error' in info.input ? `cannot feed: ${info.input.error}` : `${info.input.layout.toUpperCase()} ${info.input.type}, ${info.input.batch === null ? 'dynamic batch' : `static batch ${info.input.batch}`}${info.input.size ? `, fixed ${info.input.size[0]}x${info.input.size[1]}` : ', any size'}`],
    ['classes', info.classes.map((c) => `${c.name}: ${c.count ?? '?'} (${c.adapter})`).join('; ')],
    ['params', info.params === null ? '-' : info.params.toLocaleString('en-US')],
    ['config file', info.config_file ?? 'none beside the model'],
    ['eval config', 'error' in info.config ? `incomplete: ${info.config.error}` : `${describeConfig(info.config.eval_config)}`],
  ];
  if (!('error' in info.config)) lines.push(['config from', describeSources(info.config.eval_config, info.config.sources)]);
  const d = info.details;
  if (typeof d.producer === 'string' && d.producer) lines.push(['producer', `${d.producer}${Array.isArray(d.opsets) ? `, opsets ${(d.opsets as { domain: string; version: number }[]).map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')}` : ''}`]);
  if (d.params_by_type && typeof d.params_by_type === 'object') lines.push(['weights', Object.entries(d.params_by_type as Record<string, number>).map(([t, n]) => `${t} ${n.toLocaleString('en-US')}`).join(', ')]);
  io.stdout.write(renderTable(['', ''], lines, ['left', 'left']).split('\n').slice(2).join('\n'));
  return 0;
}
