/**
 * Tiny hand-built ONNX classifiers (written with zoo's own protobuf writer, run by the real
 * onnxruntime) for the model-file error paths: K outputs, two image inputs, two outputs, and a graph
 * that loads but fails inside the engine on the first batch.
 */
import { writeFile } from 'node:fs/promises';
import { DataType, encodeModel, rawBytes, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from '../../src/engines/onnxruntime/proto.js';
import { mulberry32 } from './random.js';

const F = DataType.FLOAT;

function model(nodes: OnnxNode[], initializers: OnnxTensor[], inputs: OnnxValueInfo[], outputs: OnnxValueInfo[]): Uint8Array {
  const m: OnnxModel = { graphName: 'tiny', nodes, initializers, inputs, outputs, irVersion: 8, opset: 17, producer: 'zoo-test', producerVersion: '0' };
  return encodeModel(m);
}

function weights(name: string, rows: number, cols: number, seed: number): OnnxTensor {
  const r = mulberry32(seed);
  const w = new Float32Array(rows * cols).map(() => r() * 2 - 1);
  return { name, dataType: F, dims: [rows, cols], raw: rawBytes(w) };
}

/** Global average pool -> flatten -> [3, K] matmul: per-image scores that depend on the image's colour. */
function head(from: string, classes: number, out = 'logits'): { nodes: OnnxNode[]; inits: OnnxTensor[] } {
  return {
    nodes: [
      { opType: 'GlobalAveragePool', inputs: [from], outputs: ['pooled'] },
      { opType: 'Flatten', inputs: ['pooled'], outputs: ['flat'], attributes: { axis: { i: 1 } } },
      { opType: 'MatMul', inputs: ['flat', 'W'], outputs: [out] },
    ],
    inits: [weights('W', 3, classes, 7)],
  };
}

const image = (name: string, size = 16): OnnxValueInfo => ({ name, elemType: F, dims: ['N', 3, size, size] });

/** input [N, 3, 16, 16] -> logits [N, K]. */
export function classifierOnnx(classes: number): Uint8Array {
  const h = head('input', classes);
  return model(h.nodes, h.inits, [image('input')], [{ name: 'logits', elemType: F, dims: ['N', classes] }]);
}

/** Two image inputs added together, then the 1,000-class head. */
export function twoInputsOnnx(): Uint8Array {
  const h = head('sum', 1000);
  return model([{ opType: 'Add', inputs: ['a', 'b'], outputs: ['sum'] }, ...h.nodes], h.inits, [image('a'), image('b')], [{ name: 'logits', elemType: F, dims: ['N', 1000] }]);
}

/** The 1,000-class head and the pooled features as a second output. */
export function twoOutputsOnnx(): Uint8Array {
  const h = head('input', 1000);
  return model(h.nodes, h.inits, [image('input')], [
    { name: 'logits', elemType: F, dims: ['N', 1000] },
    { name: 'flat', elemType: F, dims: ['N', 3] },
  ]);
}

/**
 * Loads (the input's height and width are symbolic, so onnxruntime cannot check the reshape) and
 * fails on the first batch: 3 x 16 x 16 = 768 values per image do not reshape to rows of 1,000.
 */
export function failsOnFirstBatchOnnx(): Uint8Array {
  const shape: OnnxTensor = { name: 'shape', dataType: DataType.INT64, dims: [2], raw: rawBytes(new BigInt64Array([-1n, 1000n])) };
  return model(
    [{ opType: 'Reshape', inputs: ['input', 'shape'], outputs: ['logits'] }],
    [shape],
    [{ name: 'input', elemType: F, dims: ['N', 3, 'H', 'W'] }],
    [{ name: 'logits', elemType: F, dims: ['N', 1000] }],
  );
}

export async function writeOnnx(file: string, bytes: Uint8Array): Promise<string> {
  await writeFile(file, bytes);
  return file;
}
