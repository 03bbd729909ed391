/**
 * An ONNX file from elsewhere (torch.onnx.export, tf2onnx, a quantizer) on onnxruntime: read its
 * signature, check it is a whole ONNX model before onnxruntime sees it (a truncated download is a
 * weights error naming the file, not a native stack), and run it through the input adapters:
 * NHWC transpose, float16 in and out, a static batch split or padded with zero images.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { InferenceSession as OrtSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { EngineError, WeightsError, errnoWords } from '../../errors.js';
import { f16ArrayToF32, f32ArrayToF16, runInBatches, type InputPlan, type InputSignature } from '../../models/file/adapters.js';
import type { Device, LoadedModel } from '../engine.js';
import { firstLine, type OpenedModelFile } from '../model-file.js';
import { checkCudaAvailable, cpuSessionOptions, cudaSessionOptions, loadOrt } from './index.js';
import { summarizeOnnx, type OnnxSummary } from './read-proto.js';

export interface OpenOptions {
  device: Device;
  threads?: number;
}

function signatures(meta: readonly OrtSession.ValueMetadata[]): InputSignature[] {
  return meta.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] }));
}

export async function openOnnxFile(file: string, opts: OpenOptions): Promise<OpenedModelFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new WeightsError(`cannot read the model: ${errnoWords(e)}`, { file, fix: 'check the path and its permissions' });
  }
  let summary: OnnxSummary;
  try {
    summary = summarizeOnnx(bytes);
  } catch (e) {
    throw new WeightsError(`not a complete ONNX model (${(e as Error).message} after reading ${bytes.length} bytes)`, {
      file,
      expected: 'an ONNX ModelProto with a graph, as torch.onnx.export or tf2onnx write it',
      fix: 'the file is truncated or is not ONNX: download or export it again',
    });
  }
  if (opts.device === 'cuda') checkCudaAvailable();
  const ort = await loadOrt();
  let session: OrtSession;
  const threads = opts.device === 'cuda' ? null : (opts.threads ?? availableParallelism());
  try {
    const options = threads === null ? cudaSessionOptions() : cpuSessionOptions(threads);
    // Errors reach the user as one line of ours; onnxruntime's own log would print them again, in colour.
    session = await ort.InferenceSession.create(bytes, { ...options, logSeverityLevel: 4 });
  } catch (e) {
    throw new EngineError(`onnxruntime cannot load the model: ${firstLine(e)}`, {
      file,
      fix: 'check its opset and operators against onnxruntime 1.30 (onnx.checker.check_model), or re-export it',
    });
  }
  const inputs = signatures(session.inputMetadata);
  const outputs = signatures(session.outputMetadata);
  return {
    file,
    format: 'onnx',
    inputs,
    outputs,
    params: summary.params,
    details: { producer: summary.producer, ir_version: summary.irVersion, opsets: summary.opsets, nodes: summary.nodes, params_by_type: summary.paramsByType },
    runner: (plan, output, inputShape) => onnxRunner(ort, session, file, plan, output, inputShape, opts.device, threads),
    dispose: () => session.release(),
  };
}

type Ort = Awaited<ReturnType<typeof loadOrt>>;

function onnxRunner(
  ort: Ort,
  session: OrtSession,
  file: string,
  plan: InputPlan,
  output: string,
  inputShape: readonly [number, number, number],
  device: Device,
  threads: number | null,
): LoadedModel {
  const [c, h, w] = inputShape;
  const dims = (b: number) => (plan.layout === 'nchw' ? [b, c, h, w] : [b, h, w, c]);
  /** One engine call over a batch of `b` images as the plan lays them out (onnxruntime reads plain ArrayBuffers only: runInBatches copies the loader's shared memory). */
  const call = async (x: Float32Array<ArrayBuffer>, b: number): Promise<Float32Array> => {
    const tensor: OrtTensor = plan.type === 'float16' ? new ort.Tensor('float16', f32ArrayToF16(x), dims(b)) : new ort.Tensor('float32', x, dims(b));
    let out: OrtSession.ReturnType;
    try {
      out = await session.run({ [plan.name]: tensor }, [output]);
    } catch (e) {
      throw new EngineError(`onnxruntime failed running the model on a batch of ${b} ${dims(b).join('x')}: ${firstLine(e)}`, {
        file,
        fix: 'the model cannot run at this input size or batch: check --img-size / its config.json against the size it was exported for',
      });
    }
    const t = out[output]!;
    const data = t.type === 'float16' ? f16ArrayToF32(t.data as Uint16Array) : t.type === 'float32' ? (t.data as Float32Array) : null;
    if (!data) throw new EngineError(`output '${output}' is ${t.type}`, { file, expected: 'float32 or float16 scores', fix: 'pick the scores output with --output NAME' });
    return data;
  };
  return {
    engine: 'onnxruntime',
    backend: `onnxruntime ${device}`,
    device,
    threads,
    inputShape,
    run: (input: Float32Array, n: number) => runInBatches(input, n, plan, inputShape, call),
    dispose: () => session.release(),
  };
}
