/**
 * The files of a TF.js model as tensorflowjs_converter and tfjs' own save() write them: model.json
 * (format, generatedBy, convertedBy, modelTopology, weightsManifest) and the weights of one group
 * concatenated in manifest order and cut into 4 MiB shards `group1-shardKofN.bin`.
 */
import { createRequire } from 'node:module';
import { concatBytes } from '../../util/concat.js';

/**
 * tfjs-core's version, read from its package.json rather than imported from the package: `zoo export`
 * is loaded with the CLI, and importing tfjs-core would load all of TensorFlow.js at every start-up
 * (test/startup.test.ts keeps the CLI free of it).
 */
function tfjsVersion(): string {
  return (createRequire(import.meta.url)('@tensorflow/tfjs-core/package.json') as { version: string }).version;
}

export interface WeightEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'int32';
  readonly data: Float32Array | Int32Array;
}

export interface TfjsFiles {
  /** model.json's text. */
  readonly modelJson: string;
  /** Shard file names (relative to model.json) and their bytes, in manifest order. */
  readonly shards: readonly { name: string; bytes: Uint8Array }[];
}

/** tensorflowjs_converter's default --weight_shard_size_bytes. */
export const SHARD_BYTES = 4 * 1024 * 1024;

export function tfjsFiles(format: 'graph-model' | 'layers-model', topology: object, weights: readonly WeightEntry[], shardBytes = SHARD_BYTES): TfjsFiles {
  const all = concatBytes(weights.map((w) => new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength)));
  const total = all.length;
  const n = Math.max(1, Math.ceil(total / shardBytes));
  const shards = Array.from({ length: n }, (_, k) => ({ name: `group1-shard${k + 1}of${n}.bin`, bytes: all.subarray(k * shardBytes, Math.min(total, (k + 1) * shardBytes)) }));
  const model = {
    format,
    generatedBy: `zoo export (tfjs ${tfjsVersion()})`,
    convertedBy: format === 'graph-model' ? `TensorFlow.js Converter v${tfjsVersion()}` : null,
    modelTopology: topology,
    weightsManifest: [{ paths: shards.map((s) => s.name), weights: weights.map((w) => ({ name: w.name, shape: w.shape, dtype: w.dtype })) }],
  };
  return { modelJson: JSON.stringify(model), shards };
}
