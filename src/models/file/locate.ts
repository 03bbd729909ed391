/**
 * `zoo eval PATH`: is PATH a model file, and which one. A `.onnx` file, a TF.js `model.json`, or a
 * folder holding one of them (Hugging Face layout: `model.onnx` + `config.json`). The timm config that
 * goes with a model is `<stem>.config.json` beside it (dotted variant suffixes dropped one by one), else
 * `config.json` in its folder.
 */
import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { WeightsError } from '../../errors.js';

export type ModelFileFormat = 'onnx' | 'tfjs';

export interface ModelFileLocation {
  format: ModelFileFormat;
  /** The .onnx or model.json. */
  file: string;
  /** The timm config.json that goes with it, or null. */
  configFile: string | null;
}

const MODEL_EXT = /\.(onnx|json)$/i;

/** Whether a command-line `<model>` names a path rather than a catalogued architecture or tag. */
export function looksLikeModelPath(spec: string, isCatalogued: boolean): boolean {
  if (/[\\/]/.test(spec) || MODEL_EXT.test(spec)) return true;
  return !isCatalogued && existsSync(spec);
}

const EXPECTED = 'a .onnx file, a TF.js model.json (with its weight shards), or a folder holding model.onnx or model.json';

function configBeside(file: string): string | null {
  const dir = dirname(file);
  // `x.r160_in1k.nhwc.onnx` finds `x.r160_in1k.nhwc.config.json`, then `x.r160_in1k.config.json`, ...
  const parts = basename(file, extname(file)).split('.');
  const stems = parts.map((_, i) => parts.slice(0, parts.length - i).join('.'));
  for (const c of [...stems.map((s) => join(dir, `${s}.config.json`)), join(dir, 'config.json')]) {
    if (c !== file && existsSync(c)) return c;
  }
  return null;
}

export async function locateModelFile(path: string): Promise<ModelFileLocation> {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new WeightsError('no such model file or folder', { file: path, expected: EXPECTED, fix: 'check the path (or give a catalogued model name: zoo list)' });
  }
  if (st.isDirectory()) {
    const names = await readdir(path);
    const pick = names.includes('model.onnx') ? 'model.onnx' : names.includes('model.json') ? 'model.json' : null;
    const onnx = names.filter((n) => n.toLowerCase().endsWith('.onnx'));
    const chosen = pick ?? (onnx.length === 1 ? onnx[0]! : null);
    if (!chosen) {
      throw new WeightsError(onnx.length > 1 ? `the folder holds ${onnx.length} .onnx files and no model.onnx` : 'the folder holds no model.onnx or model.json', {
        file: path,
        expected: EXPECTED,
        fix: onnx.length > 1 ? `name the file: zoo eval ${join(path, onnx[0]!)}` : 'point zoo at the model file itself',
      });
    }
    return locateModelFile(join(path, chosen));
  }
  if (!st.isFile()) throw new WeightsError('is not a regular file', { file: path, expected: EXPECTED });
  const ext = extname(path).toLowerCase();
  if (ext === '.onnx') return { format: 'onnx', file: path, configFile: configBeside(path) };
  if (ext === '.json') {
    if (/config\.json$/i.test(path)) {
      throw new WeightsError('is a config, not a model', { file: path, expected: EXPECTED, fix: `pass the folder (${dirname(path)}) or the model file beside it` });
    }
    return { format: 'tfjs', file: path, configFile: configBeside(path) };
  }
  throw new WeightsError(`is not a model file (${ext || 'no extension'})`, {
    file: path,
    expected: EXPECTED,
    fix: 'export the model to ONNX (torch.onnx.export) or TF.js, or for a checkpoint use zoo eval <arch> --weights FILE',
  });
}
