/**
 * Minimal hand-written TF.js models, the files tensorflowjs_converter / tfjs save() write: model.json
 * (graph-model GraphDef JSON, or a Keras layers topology) and one weight shard. Both compute the same
 * function as onnx-models.ts' classifierOnnx(K) on NHWC input: global average pool, then the same
 * [3, K] matrix, so their predictions must equal the ONNX path's.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mulberry32 } from './random.js';

/** The [3, K] matrix classifierOnnx(K) uses (mulberry32 seed 7, row-major). */
export function headWeights(classes: number): Float32Array {
  const r = mulberry32(7);
  return new Float32Array(3 * classes).map(() => r() * 2 - 1);
}

const size = (n: number) => ({ size: String(n) });

/** A graph model: Placeholder [-1, 16, 16, 3] -> Mean over H, W -> MatMul W -> `logits`. */
export async function writeGraphModel(dir: string, classes = 1000): Promise<string> {
  await mkdir(dir, { recursive: true });
  const w = headWeights(classes);
  const axes = new Int32Array([1, 2]);
  const node = [
    { name: 'input', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [size(-1), size(16), size(16), size(3)] } } } },
    { name: 'axes', op: 'Const', attr: { value: { tensor: { dtype: 'DT_INT32', tensorShape: { dim: [size(2)] } } }, dtype: { type: 'DT_INT32' } } },
    { name: 'W', op: 'Const', attr: { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: [size(3), size(classes)] } } }, dtype: { type: 'DT_FLOAT' } } },
    { name: 'mean', op: 'Mean', input: ['input', 'axes'], attr: { T: { type: 'DT_FLOAT' }, Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } } },
    { name: 'logits', op: 'MatMul', input: ['mean', 'W'], attr: { T: { type: 'DT_FLOAT' }, transpose_a: { b: false }, transpose_b: { b: false } } },
  ];
  const model = {
    format: 'graph-model',
    generatedBy: 'hand-written (zoo test)',
    convertedBy: 'TensorFlow.js Converter v4.22.0',
    modelTopology: { node, library: {}, versions: { producer: 1286 } },
    weightsManifest: [
      { paths: ['group1-shard1of1.bin'], weights: [{ name: 'axes', shape: [2], dtype: 'int32' }, { name: 'W', shape: [3, classes], dtype: 'float32' }] },
    ],
  };
  const bin = Buffer.concat([Buffer.from(axes.buffer), Buffer.from(w.buffer)]);
  await writeFile(join(dir, 'group1-shard1of1.bin'), bin);
  await writeFile(join(dir, 'model.json'), JSON.stringify(model));
  return join(dir, 'model.json');
}

/** A Keras Sequential layers model: GlobalAveragePooling2D on [null, 16, 16, 3] -> Dense(K, no bias). */
export async function writeLayersModel(dir: string, classes = 1000): Promise<string> {
  await mkdir(dir, { recursive: true });
  const modelTopology = {
    class_name: 'Sequential',
    config: {
      name: 'tiny',
      layers: [
        { class_name: 'GlobalAveragePooling2D', config: { name: 'gap', trainable: false, batch_input_shape: [null, 16, 16, 3], dtype: 'float32', data_format: 'channels_last' } },
        { class_name: 'Dense', config: { name: 'dense', trainable: false, dtype: 'float32', units: classes, activation: 'linear', use_bias: false, kernel_initializer: { class_name: 'Zeros', config: {} } } },
      ],
    },
    keras_version: 'tfjs-layers 4.22.0',
    backend: 'tensor_flow.js',
  };
  const model = {
    format: 'layers-model',
    generatedBy: 'hand-written (zoo test)',
    convertedBy: null,
    modelTopology,
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: [{ name: 'dense/kernel', shape: [3, classes], dtype: 'float32' }] }],
  };
  await writeFile(join(dir, 'group1-shard1of1.bin'), Buffer.from(headWeights(classes).buffer));
  await writeFile(join(dir, 'model.json'), JSON.stringify(model));
  return join(dir, 'model.json');
}
