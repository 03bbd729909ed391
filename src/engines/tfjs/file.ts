/**
 * A TF.js model file (`model.json` + weight shards, as tensorflowjs_converter and tfjs' own save()
 * write them) on the tfjs engine: graph models through @tensorflow/tfjs-converter, layers models
 * through @tensorflow/tfjs-layers. The shards are read and checked here (every path present, the
 * bytes the manifest implies) so a missing or short shard is a weights error naming it, not a
 * tfjs stack; then the model runs on the backend `zoo eval --engine tfjs` uses.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { EngineError, WeightsError } from '../../errors.js';
import { runInBatches, type InputSignature } from '../../models/file/adapters.js';
import type { Device, LoadedModel } from '../engine.js';
import { firstLine, type OpenedModelFile } from '../model-file.js';
import { activate, selectBackend } from './backend.js';
import { concatBytes } from '../../util/concat.js';

interface ManifestGroup {
  paths: string[];
  weights: { name: string; shape: number[]; dtype: string; quantization?: { dtype: string } }[];
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, int8: 1, complex64: 8 };

const EXPECTED = 'a TF.js model.json (graph-model or layers-model) with its weightsManifest shards beside it';

/** Reads model.json and its shards into ModelArtifacts, checking every shard. */
async function readArtifacts(file: string): Promise<{ artifacts: tf.io.ModelArtifacts; kind: 'tfjs-graph' | 'tfjs-layers' }> {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new WeightsError(code ? `cannot read the model: ${code}` : 'model.json is not JSON', { file, expected: EXPECTED, fix: 'download or convert it again' });
  }
  const topology = json.modelTopology as Record<string, unknown> | undefined;
  if (typeof json !== 'object' || json === null || !topology || typeof topology !== 'object') {
    throw new WeightsError('is not a TF.js model (no modelTopology)', { file, expected: EXPECTED, fix: 'pass the model.json tensorflowjs_converter wrote' });
  }
  const format = typeof json.format === 'string' ? json.format : '';
  const kind = format === 'graph-model' || Array.isArray(topology.node) ? 'tfjs-graph' : 'tfjs-layers';
  const manifest = (json.weightsManifest ?? []) as ManifestGroup[];
  if (!Array.isArray(manifest)) throw new WeightsError('weightsManifest is not a list', { file, expected: EXPECTED });
  const dir = dirname(file);
  const parts: Uint8Array[] = [];
  const specs: tf.io.WeightsManifestEntry[] = [];
  for (const group of manifest) {
    let got = 0;
    for (const p of group.paths) {
      const shard = join(dir, p);
      const s = await stat(shard).catch(() => undefined);
      if (!s?.isFile()) {
        throw new WeightsError(`weight shard ${p} is missing`, { file: shard, expected: `the shards model.json lists (${group.paths.join(', ')})`, fix: 'copy every .bin file beside model.json' });
      }
      const bytes = await readFile(shard);
      parts.push(bytes);
      got += bytes.length;
    }
    let want = 0;
    for (const w of group.weights) {
      const per = BYTES[w.quantization?.dtype ?? w.dtype];
      if (per === undefined) {
        want = -1;
        break;
      }
      want += per * w.shape.reduce((a, b) => a * b, 1);
      specs.push(w as tf.io.WeightsManifestEntry);
    }
    if (want >= 0 && got < want) {
      throw new WeightsError(`weight shards ${group.paths.join(', ')} hold ${got} bytes, the manifest needs ${want}`, {
        file: join(dir, group.paths[group.paths.length - 1] ?? ''),
        expected: 'whole shards',
        fix: 'a shard is truncated: download or convert the model again',
      });
    }
    if (want < 0) for (const w of group.weights.slice(specs.length)) specs.push(w as tf.io.WeightsManifestEntry);
  }
  const data = concatBytes(parts);
  const artifacts = {
    modelTopology: topology as tf.io.ModelArtifacts['modelTopology'],
    format,
    weightSpecs: specs,
    weightData: data.buffer,
    ...(json.signature ? { signature: json.signature as object } : {}),
    ...(json.modelInitializer ? { modelInitializer: json.modelInitializer as object } : {}),
    ...(json.userDefinedMetadata ? { userDefinedMetadata: json.userDefinedMetadata as {} } : {}),
  };
  return { artifacts: artifacts as tf.io.ModelArtifacts, kind };
}

const dims = (shape: readonly (number | null)[] | undefined): (number | string)[] => (shape ?? []).map((d, i) => (d === null || d < 0 ? (i === 0 ? 'N' : `d${i}`) : d));

interface Runnable {
  inputs: InputSignature[];
  outputs: InputSignature[];
  params: number;
  /** Runs the model on x, returns the named output. */
  run(x: tf.Tensor, output: string): Promise<tf.Tensor>;
  dispose(): void;
}

/**
 * The two tfjs model loaders, typed here to what zoo uses, and imported by name at run time: a
 * checkout whose node_modules predates these dependencies still builds, and says what to install.
 */
interface TensorInfoLike {
  name: string;
  dtype: string;
  shape?: (number | null)[];
}
interface GraphModelLike {
  inputs: TensorInfoLike[];
  outputs: TensorInfoLike[];
  weights: Record<string, tf.Tensor[]>;
  execute(feed: Record<string, tf.Tensor>, output: string): tf.Tensor | tf.Tensor[];
  executeAsync(feed: Record<string, tf.Tensor>, output: string): Promise<tf.Tensor | tf.Tensor[]>;
  dispose(): void;
}
interface LayersModelLike {
  inputs: { name: string; dtype: string; shape: (number | null)[] }[];
  outputs: { name: string; dtype: string; shape: (number | null)[] }[];
  predict(x: tf.Tensor): tf.Tensor | tf.Tensor[];
  countParams(): number;
  dispose(): void;
}
const CONVERTER = '@tensorflow/tfjs-converter';
const LAYERS = '@tensorflow/tfjs-layers';

async function importLoader<T>(pkg: string): Promise<T> {
  try {
    return (await import(pkg)) as T;
  } catch {
    throw new EngineError(`${pkg} is not installed`, { fix: `run npm install (zoo depends on ${pkg}@${tf.version_core})` });
  }
}

async function loadRunnable(kind: 'tfjs-graph' | 'tfjs-layers', artifacts: tf.io.ModelArtifacts): Promise<Runnable> {
  const handler = tf.io.fromMemory(artifacts);
  if (kind === 'tfjs-graph') {
    const { loadGraphModel } = await importLoader<{ loadGraphModel(h: tf.io.IOHandler): Promise<GraphModelLike> }>(CONVERTER);
    const m = await loadGraphModel(handler);
    let needsAsync = false;
    const params = Object.values(m.weights).reduce((n, ts) => n + ts.reduce((k, t) => k + t.size, 0), 0);
    return {
      inputs: m.inputs.map((i) => ({ name: i.name, type: i.dtype, shape: dims(i.shape) })),
      outputs: m.outputs.map((o) => ({ name: o.name, type: o.dtype, shape: dims(o.shape) })),
      params,
      run: async (x, output) => {
        const feed = { [m.inputs[0]!.name]: x };
        // execute() where the graph allows it: executeAsync() on a graph without control flow warns
        // on stderr at every batch. A graph with control flow or dynamic shapes makes execute()
        // throw (naming executeAsync) before it runs anything; from then on, executeAsync.
        if (!needsAsync) {
          try {
            return m.execute(feed, output) as tf.Tensor;
          } catch (e) {
            if (!/executeAsync/.test(String((e as Error).message))) throw e;
            needsAsync = true;
          }
        }
        return (await m.executeAsync(feed, output)) as tf.Tensor;
      },
      dispose: () => m.dispose(),
    };
  }
  const { loadLayersModel } = await importLoader<{ loadLayersModel(h: tf.io.IOHandler): Promise<LayersModelLike> }>(LAYERS);
  const m = await loadLayersModel(handler);
  return {
    inputs: m.inputs.map((i) => ({ name: i.name, type: i.dtype, shape: dims(i.shape) })),
    outputs: m.outputs.map((o) => ({ name: o.name, type: o.dtype, shape: dims(o.shape) })),
    params: m.countParams(),
    run: async (x, output) => {
      const out = m.predict(x);
      const list = Array.isArray(out) ? out : [out];
      const i = Math.max(0, m.outputs.findIndex((o) => o.name === output));
      for (let k = 0; k < list.length; k++) if (k !== i) list[k]!.dispose();
      return list[i]!;
    },
    dispose: () => m.dispose(),
  };
}

export async function openTfjsFile(file: string, opts: { device: Device; threads?: number }): Promise<OpenedModelFile> {
  const { artifacts, kind } = await readArtifacts(file);
  const choice = await selectBackend(opts.device, opts.threads);
  let model: Runnable;
  try {
    model = await loadRunnable(kind, artifacts);
  } catch (e) {
    if (e instanceof WeightsError || e instanceof EngineError) throw e;
    throw new WeightsError(`TF.js cannot load the ${kind === 'tfjs-graph' ? 'graph' : 'layers'} model: ${firstLine(e)}`, { file, expected: EXPECTED, fix: 'convert it again with tensorflowjs_converter' });
  }
  const runner = (plan: Parameters<OpenedModelFile['runner']>[0], output: string, inputShape: readonly [number, number, number]): LoadedModel => {
    const [c, h, w] = inputShape;
    /** One model run over a batch of `b` images as the plan lays them out. */
    const call = async (x: Float32Array<ArrayBuffer>, b: number): Promise<Float32Array> => {
      const t = tf.tensor(x, plan.layout === 'nhwc' ? [b, h, w, c] : [b, c, h, w], 'float32');
      let y: tf.Tensor;
      try {
        y = await model.run(t, output);
      } catch (e) {
        throw new EngineError(`TF.js failed running the model on a batch of ${b}: ${firstLine(e)}`, { file, fix: 'check --img-size / the config against the size the model was converted for' });
      } finally {
        t.dispose();
      }
      const data = (await y.data()) as Float32Array;
      y.dispose();
      return data;
    };
    return {
      engine: 'tfjs',
      backend: choice.label,
      device: opts.device,
      threads: choice.threads,
      inputShape,
      async run(input: Float32Array, n: number): Promise<Float32Array> {
        await activate(choice.name);
        return runInBatches(input, n, plan, inputShape, call);
      },
      dispose: async () => model.dispose(),
    };
  };
  return {
    file,
    format: kind,
    inputs: model.inputs,
    outputs: model.outputs,
    params: model.params,
    details: { format: kind, backend: choice.label, ...(choice.note ? { note: choice.note } : {}) },
    runner,
    dispose: async () => model.dispose(),
  };
}
