/**
 * `zoo info PATH`: what a model file is, without evaluating it: format, inputs and outputs, the layout
 * and batch zoo reads from the input, the classes and how they would be adapted, the config zoo would
 * find (and what is missing), and the parameter count. Problems are reported as facts, not thrown,
 * except for a file that cannot be opened at all.
 */
import type { Device } from '../../engines/engine.js';
import type { OpenedModelFile } from '../../engines/model-file.js';
import { ZooError } from '../../errors.js';
import { describeOutput, planInput, planOutput, type InputPlan, type InputSignature } from './adapters.js';
import { readTimmConfig, resolveConfig, type ConfigLayer, type ConfigSources } from './config.js';
import { locateModelFile } from './locate.js';
import type { EvalConfig } from '../eval-config.js';

export interface ModelFileInfo {
  file: string;
  format: string;
  inputs: readonly InputSignature[];
  outputs: readonly InputSignature[];
  /** How zoo would feed the image input, or why it cannot. */
  input: InputPlan | { error: string };
  /** Per output: element count per image and the adapter zoo would apply without a class map. */
  classes: { name: string; count: number | null; adapter: string }[];
  config_file: string | null;
  /** The config found without flags, or what is missing. */
  config: { eval_config: EvalConfig; sources: ConfigSources } | { error: string };
  params: number | null;
  details: Record<string, unknown>;
}

export async function describeModelFile(path: string, device: Device = 'cpu'): Promise<ModelFileInfo> {
  const loc = await locateModelFile(path);
  const timm = loc.configFile ? await readTimmConfig(loc.configFile).catch((e: unknown) => (e instanceof ZooError ? e : Promise.reject(e))) : null;
  let opened: OpenedModelFile;
  if (loc.format === 'onnx') opened = await (await import('../../engines/onnxruntime/file.js')).openOnnxFile(loc.file, { device });
  else opened = await (await import('../../engines/tfjs/file.js')).openTfjsFile(loc.file, { device });
  try {
    const images = opened.inputs.filter((i) => i.shape.length === 4);
    let input: ModelFileInfo['input'];
    try {
      if (images.length !== 1) throw new Error(`${images.length} image inputs (zoo needs exactly one)`);
      input = planInput(images[0]!);
    } catch (e) {
      input = { error: (e as Error).message };
    }
    const classes = opened.outputs.map((o) => {
      let count: number | null = 1;
      for (const d of o.shape.slice(1)) count = typeof d === 'number' && count !== null ? count * d : null;
      const a = count === null ? null : planOutput(count, null);
      const adapter = count === null ? 'known at run time' : a ? (describeOutput(a) ?? '1,000 ImageNet classes') : `needs --class-map FILE (${count} outputs)`;
      return { name: o.name, count: o.shape.length >= 2 ? count : null, adapter };
    });
    let config: ModelFileInfo['config'];
    try {
      if (timm instanceof ZooError) throw timm;
      const layers: ConfigLayer[] = [];
      if (timm) layers.push(timm);
      if ('size' in input && input.size) layers.push({ name: 'model input shape', values: { inputSize: [3, input.size[0], input.size[1]] } });
      const r = resolveConfig(loc.file, layers);
      config = { eval_config: r.cfg, sources: r.sources };
    } catch (e) {
      config = { error: e instanceof ZooError ? e.oneLine() : (e as Error).message };
    }
    return {
      file: loc.file,
      format: opened.format,
      inputs: opened.inputs,
      outputs: opened.outputs,
      input,
      classes,
      config_file: loc.configFile,
      config,
      params: opened.params,
      details: opened.details,
    };
  } finally {
    await opened.dispose();
  }
}
