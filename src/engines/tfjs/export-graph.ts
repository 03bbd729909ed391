/**
 * A recorded Graph (PyTorch layout) as a TF.js graph model: the GraphDef JSON (`modelTopology.node`)
 * and the weight data tensorflowjs_converter writes for a frozen TF SavedModel, in NHWC. The op
 * choice mirrors what the converter emits for the same Keras/TF network: Conv2D /
 * DepthwiseConv2dNative with the BatchNorm folded in and a BiasAdd, Relu/Relu6/Sigmoid, Mean for
 * the global pool, MatMul + BiasAdd for the classifier. Grouped convolutions (TF has no grouped
 * Conv2D in TF.js) are Split -> Conv2D per group -> ConcatV2, as TF's own grouped-conv rewrite.
 * Weights are transposed and folded with the same helpers the tfjs engine uses, so the exported
 * model computes what `zoo eval --engine tfjs` computes.
 */
import type { ActivationKind, Graph, Node, Pads, ValueId } from '../../models/graph.js';
import { GraphWalker, flattenNeedsTranspose, type ConvNode } from './walker.js';
import { asFloat32 } from '../graph-constants.js';
import { channelShuffleIndex, excludePadFactor, toDepthwise, toHWIO, transposeLinear } from './weights.js';

/** One entry of the weightsManifest, with its bytes. */
export interface ExportedWeight {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'int32';
  readonly data: Float32Array | Int32Array;
}

export interface TfjsGraphModel {
  /** GraphDef JSON (the `modelTopology` of model.json). */
  readonly topology: { node: GraphNode[]; library: Record<string, never>; versions: { producer: number } };
  readonly weights: readonly ExportedWeight[];
  readonly inputName: string;
  readonly outputName: string;
}

type AttrValue =
  | { type: 'DT_FLOAT' | 'DT_INT32' }
  | { s: string }
  | { i: string }
  | { f: number }
  | { b: boolean }
  | { list: { i: string[] } }
  | { shape: { dim: { size: string }[] } }
  | { tensor: { dtype: 'DT_FLOAT' | 'DT_INT32'; tensorShape: { dim: { size: string }[] } } };

export interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, AttrValue>;
}

const F32 = { type: 'DT_FLOAT' } as const;
const I32 = { type: 'DT_INT32' } as const;
/** GraphDef strings are bytes, base64 in JSON. */
const str = (s: string): AttrValue => ({ s: Buffer.from(s).toString('base64') });
const ints = (v: readonly number[]): AttrValue => ({ list: { i: v.map(String) } });

export function graphToTfjsGraphModel(graph: Graph): TfjsGraphModel {
  return new GraphWriter(graph).write();
}

class GraphWriter extends GraphWalker {
  private readonly nodes: GraphNode[] = [];
  private readonly weights: ExportedWeight[] = [];
  /** TF tensor name of each graph value. */
  private readonly names: string[] = [];
  private counter = 0;

  write(): TfjsGraphModel {
    this.walk((node) => this.emit(node));
    // The converter names the output after its op; a fixed name lets `zoo eval` and users find it.
    const out = this.names[this.graph.output]!;
    this.node('logits', 'Identity', [out], { T: F32 });
    return { topology: { node: this.nodes, library: {}, versions: { producer: 1286 } }, weights: this.weights, inputName: 'input', outputName: 'logits' };
  }

  private fresh(base: string): string {
    return `${base}_${this.counter++}`;
  }

  private node(name: string, op: string, input: string[], attr: Record<string, AttrValue> = {}): string {
    this.nodes.push({ name, op, input, attr });
    return name;
  }

  private constF32(base: string, shape: readonly number[], data: Float32Array): string {
    const name = this.fresh(base);
    this.weights.push({ name, shape, dtype: 'float32', data });
    this.nodes.push({ name, op: 'Const', attr: { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } }, dtype: F32 } });
    return name;
  }

  /** An int32 constant; `shape` [] for the scalar axis Split / GatherV2 / ConcatV2 take. */
  private constI32(base: string, values: readonly number[] | Int32Array, shape: readonly number[] = [values.length]): string {
    const name = this.fresh(base);
    const data = Int32Array.from(values);
    this.weights.push({ name, shape, dtype: 'int32', data });
    this.nodes.push({ name, op: 'Const', attr: { value: { tensor: { dtype: 'DT_INT32', tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } }, dtype: I32 } });
    return name;
  }

  private scalar(value: number): string {
    return this.constF32('scalar', [], Float32Array.of(value));
  }

  /** Rank of a value in NHWC (the graph's NCHW rank). */
  private rank(v: ValueId): number {
    return this.graph.shapes[v]!.length;
  }

  private emit(node: Node): void {
    const at = (v: ValueId) => this.names[v]!;
    switch (node.op) {
      case 'input': {
        const [c, h, w] = this.graph.inputShape;
        this.names[node.out] = this.node('input', 'Placeholder', [], {
          dtype: F32,
          shape: { shape: { dim: [-1, h, w, c].map((d) => ({ size: String(d) })) } },
        });
        return;
      }
      case 'conv':
        this.conv(node);
        return;
      case 'batchNorm': {
        const a = this.bnAffine(node);
        const scale = this.constF32('bn_scale', [a.scale.length], Float32Array.from(a.scale));
        const shift = this.constF32('bn_shift', [a.shift.length], Float32Array.from(a.shift));
        const m = this.node(this.fresh('bn_mul'), 'Mul', [at(node.x), scale], { T: F32 });
        this.names[node.out] = this.node(this.fresh('bn_add'), 'AddV2', [m, shift], { T: F32 });
        return;
      }
      case 'activation':
        this.names[node.out] = this.activation(node.kind, at(node.x));
        return;
      case 'add':
        this.names[node.out] = this.node(this.fresh('add'), 'AddV2', [at(node.a), at(node.b)], { T: F32 });
        return;
      case 'mul':
        this.names[node.out] = this.node(this.fresh('mul'), 'Mul', [at(node.a), at(node.b)], { T: F32 });
        return;
      case 'concat': {
        const axis = this.constI32('axis', [this.rank(node.out) - 1], []);
        this.names[node.out] = this.node(this.fresh('concat'), 'ConcatV2', [...node.xs.map(at), axis], { T: F32, N: { i: String(node.xs.length) }, Tidx: I32 });
        return;
      }
      case 'slice': {
        const r = this.rank(node.x);
        const begin = this.constI32('begin', Array.from({ length: r }, (_, i) => (i === r - 1 ? node.start : 0)));
        const size = this.constI32('size', Array.from({ length: r }, (_, i) => (i === r - 1 ? node.end - node.start : -1)));
        this.names[node.out] = this.node(this.fresh('slice'), 'Slice', [at(node.x), begin, size], { T: F32, Index: I32 });
        return;
      }
      case 'gather':
        this.names[node.out] = this.gather(at(node.x), node.index, this.rank(node.x));
        return;
      case 'channelShuffle': {
        const c = this.graph.shapes[node.x]![1]!;
        this.names[node.out] = this.gather(at(node.x), channelShuffleIndex(c, node.groups), this.rank(node.x));
        return;
      }
      case 'maxPool':
      case 'avgPool': {
        const [t, l, b, r] = node.pads;
        let x = at(node.x);
        const padded = t + l + b + r > 0;
        if (padded) {
          // PyTorch pads max pools with -inf and average pools with zeros; explicit PadV2, then VALID.
          const paddings = this.constI32('paddings', [0, 0, t, b, l, r, 0, 0], [4, 2]);
          const fill = this.scalar(node.op === 'maxPool' ? -Infinity : 0);
          x = this.node(this.fresh('pad'), 'PadV2', [x, paddings, fill], { T: F32, Tpaddings: I32 });
        }
        const attr = { T: F32, ksize: ints([1, node.kernel[0], node.kernel[1], 1]), strides: ints([1, node.stride[0], node.stride[1], 1]), padding: str('VALID'), data_format: str('NHWC') };
        let y = this.node(this.fresh(node.op === 'maxPool' ? 'maxpool' : 'avgpool'), node.op === 'maxPool' ? 'MaxPool' : 'AvgPool', [x], attr);
        if (node.op === 'avgPool' && padded && !node.countIncludePad) {
          const s = this.graph.shapes[node.x]!;
          const f = excludePadFactor([s[2]!, s[3]!], node.kernel, node.stride, node.pads);
          const factor = this.constF32('pool_factor', [f.shape[0]!, f.shape[1]!, 1], f.data);
          y = this.node(this.fresh('pool_rescale'), 'Mul', [y, factor], { T: F32 });
        }
        this.names[node.out] = y;
        return;
      }
      case 'globalAvgPool': {
        const axes = this.constI32('axes', [1, 2]);
        this.names[node.out] = this.node(this.fresh('mean'), 'Mean', [at(node.x), axes], { T: F32, Tidx: I32, keep_dims: { b: true } });
        return;
      }
      case 'flatten': {
        const s = this.graph.shapes[node.x]!;
        const flat = s.slice(1).reduce((a, b) => a * b, 1);
        let x = at(node.x);
        if (flattenNeedsTranspose(s)) {
          const perm = this.constI32('perm', [0, 3, 1, 2]);
          x = this.node(this.fresh('transpose'), 'Transpose', [x, perm], { T: F32, Tperm: I32 });
        }
        const shape = this.constI32('shape', [-1, flat]);
        this.names[node.out] = this.node(this.fresh('flatten'), 'Reshape', [x, shape], { T: F32, Tshape: I32 });
        return;
      }
      case 'linear': {
        const w = this.constant(node.weight);
        const t = transposeLinear(asFloat32(w, node.weight), w.shape);
        const kernel = this.constF32('dense_kernel', t.shape, t.data);
        let y = this.node(this.fresh('matmul'), 'MatMul', [at(node.x), kernel], { T: F32, transpose_a: { b: false }, transpose_b: { b: false } });
        if (node.bias !== undefined) {
          const bias = this.constF32('dense_bias', [w.shape[0]!], Float32Array.from(this.f32(node.bias)));
          y = this.node(this.fresh('bias_add'), 'BiasAdd', [y, bias], { T: F32, data_format: str('NHWC') });
        }
        this.names[node.out] = y;
        return;
      }
    }
  }

  private gather(x: string, index: readonly number[] | Int32Array, rank: number): string {
    const indices = this.constI32('indices', index);
    const axis = this.constI32('axis', [rank - 1], []);
    return this.node(this.fresh('gather'), 'GatherV2', [x, indices, axis], { Tparams: F32, Tindices: I32, Taxis: I32, batch_dims: { i: '0' } });
  }

  private activation(kind: ActivationKind, x: string): string {
    const T = { T: F32 };
    switch (kind) {
      case 'relu':
        return this.node(this.fresh('relu'), 'Relu', [x], T);
      case 'relu6':
        return this.node(this.fresh('relu6'), 'Relu6', [x], T);
      case 'sigmoid':
        return this.node(this.fresh('sigmoid'), 'Sigmoid', [x], T);
      case 'silu': {
        const s = this.node(this.fresh('sigmoid'), 'Sigmoid', [x], T);
        return this.node(this.fresh('swish'), 'Mul', [x, s], T);
      }
      case 'hardSigmoid': {
        const r = this.node(this.fresh('relu6'), 'Relu6', [this.node(this.fresh('add'), 'AddV2', [x, this.scalar(3)], T)], T);
        return this.node(this.fresh('hard_sigmoid'), 'RealDiv', [r, this.scalar(6)], T);
      }
      case 'hardSwish': {
        const r = this.node(this.fresh('relu6'), 'Relu6', [this.node(this.fresh('add'), 'AddV2', [x, this.scalar(3)], T)], T);
        return this.node(this.fresh('hard_swish'), 'RealDiv', [this.node(this.fresh('mul'), 'Mul', [x, r], T), this.scalar(6)], T);
      }
      case 'gelu': {
        const e = this.node(this.fresh('erf'), 'Erf', [this.node(this.fresh('mul'), 'Mul', [x, this.scalar(Math.SQRT1_2)], T)], T);
        const half = this.node(this.fresh('mul'), 'Mul', [x, this.scalar(0.5)], T);
        return this.node(this.fresh('gelu'), 'Mul', [half, this.node(this.fresh('add'), 'AddV2', [e, this.scalar(1)], T)], T);
      }
    }
  }

  /** conv [-> batchNorm] (folded) -> BiasAdd; grouped convs split per group. */
  private conv(node: ConvNode): void {
    const { out, weight: w, cout, cinPerGroup, cin, folded } = this.convWithBatchNorm(node);
    const [sh, sw] = node.stride;
    const [dh, dw] = node.dilation;
    if ((sh > 1 || sw > 1) && (dh > 1 || dw > 1)) throw new Error('TF.js has no strided dilated convolution; no built-in family records one');
    const [t, l, b, r] = node.pads as Pads;
    const padAttr: Record<string, AttrValue> =
      t + l + b + r === 0 ? { padding: str('VALID') } : { padding: str('EXPLICIT'), explicit_paddings: ints([0, 0, t, b, l, r, 0, 0]) };
    const attr = (): Record<string, AttrValue> => ({
      T: F32,
      strides: ints([1, sh, sw, 1]),
      dilations: ints([1, dh, dw, 1]),
      data_format: str('NHWC'),
      ...padAttr,
    });
    const x = this.names[node.x]!;
    let y: string;
    if (node.groups === 1) {
      const f = toHWIO(folded.weight, w.shape, 0, cout);
      y = this.node(this.fresh('conv2d'), 'Conv2D', [x, this.constF32('conv_kernel', f.shape, f.data)], attr());
    } else if (node.groups === cin && cinPerGroup === 1) {
      const f = toDepthwise(folded.weight, w.shape, cin);
      y = this.node(this.fresh('depthwise'), 'DepthwiseConv2dNative', [x, this.constF32('depthwise_kernel', f.shape, f.data)], attr());
    } else {
      const g = node.groups;
      const axis = this.constI32('split_axis', [3], []);
      const split = this.node(this.fresh('split'), 'Split', [axis, x], { T: F32, num_split: { i: String(g) } });
      const perOut = cout / g;
      const parts: string[] = [];
      for (let k = 0; k < g; k++) {
        const f = toHWIO(folded.weight, w.shape, k * perOut, (k + 1) * perOut);
        parts.push(this.node(this.fresh('group_conv2d'), 'Conv2D', [`${split}:${k}`, this.constF32('conv_kernel', f.shape, f.data)], attr()));
      }
      const cat = this.constI32('axis', [3], []);
      y = this.node(this.fresh('group_concat'), 'ConcatV2', [...parts, cat], { T: F32, N: { i: String(g) }, Tidx: I32 });
    }
    if (folded.bias) {
      const bias = this.constF32('conv_bias', [cout], Float32Array.from(folded.bias));
      y = this.node(this.fresh('bias_add'), 'BiasAdd', [y, bias], { T: F32, data_format: str('NHWC') });
    }
    this.names[out] = y;
  }
}
