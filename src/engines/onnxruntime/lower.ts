/**
 * Lowers a recorded Graph to an ONNX model (opset 17, ir_version 8) with a dynamic batch dim.
 *
 * BatchNorm disappears where it can: folded into the preceding conv when that conv's output feeds
 * only the BN (the usual conv-bn pair), else into a preceding linear on the same terms, else it
 * becomes Mul/Add with a folded per-channel scale and shift. Folding is done in double precision
 * and rounded to float32 once, which keeps the folded model within float32 rounding of PyTorch's
 * unfolded conv -> bn.
 */
import type { ActivationKind, Graph, HostTensor, Node, ValueId } from '../../models/graph.js';
import { GraphUses } from '../../models/graph-uses.js';
import { batchNormAffine, foldBatchNorm, type Affine } from '../batchnorm.js';
import { asFloat32, graphConstant, graphF32 } from '../graph-constants.js';
import { DataType, encodeModel, rawBytes, type AttributeValue, type OnnxNode, type OnnxTensor } from './proto.js';

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;
export const INPUT_NAME = 'input';
export const OUTPUT_NAME = 'logits';

type BatchNormNode = Extract<Node, { op: 'batchNorm' }>;

/** Builds the ONNX node list, emitting each initializer once, on first use. */
class Lowering {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private readonly emitted = new Set<string>();
  private tmp = 0;

  constructor(readonly graph: Graph) {}

  /** Name of a graph value in the ONNX graph. */
  value(id: ValueId): string {
    if (id === this.graph.input) return INPUT_NAME;
    if (id === this.graph.output) return OUTPUT_NAME;
    return `v${id}`;
  }

  /** A fresh intermediate name for multi-node lowerings. */
  temp(base: string): string {
    return `${base}~${this.tmp++}`;
  }

  node(opType: string, inputs: readonly string[], outputs: readonly string[], attributes?: Record<string, AttributeValue>): void {
    this.nodes.push({ opType, inputs, outputs, name: `${opType}_${this.nodes.length}`, ...(attributes ? { attributes } : {}) });
  }

  /** A graph constant, by its name, emitted as an initializer the first time it is used. */
  constant(name: string): string {
    const key = `w:${name}`;
    if (!this.emitted.has(key)) {
      this.addInitializer(key, this.tensor(name));
    }
    return key;
  }

  /** A constant made here (folded weights, shape vectors); names are unique by construction. */
  derived(name: string, t: HostTensor): string {
    const key = `d:${name}`;
    if (!this.emitted.has(key)) this.addInitializer(key, t);
    return key;
  }

  int64s(name: string, values: readonly number[]): string {
    return this.derived(name, { dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values, (v) => BigInt(v)) });
  }

  float32Scalar(name: string, v: number): string {
    return this.derived(name, { dtype: 'float32', shape: [], data: Float32Array.of(v) });
  }

  private addInitializer(key: string, t: HostTensor): void {
    this.emitted.add(key);
    this.initializers.push({
      name: key,
      dataType: t.dtype === 'float32' ? DataType.FLOAT : DataType.INT64,
      dims: t.shape,
      raw: rawBytes(t.data),
    });
  }

  tensor(name: string): HostTensor {
    return graphConstant(this.graph, name);
  }

  float(name: string): Float32Array {
    return graphF32(this.graph, name);
  }
}

/** BN as y = x * scale + shift, in double precision. */
function bnScaleShift(l: Lowering, bn: BatchNormNode): Affine {
  return batchNormAffine(l.float(bn.weight), l.float(bn.bias), l.float(bn.mean), l.float(bn.var), bn.eps);
}

/**
 * Weight [out, ...] scaled per output row and bias folded: W' = W * s, b' = b * s + t.
 * Works for conv (OIHW) and linear ([out, in]) weights alike.
 */
function foldInto(
  l: Lowering,
  weightName: string,
  biasName: string | undefined,
  bn: BatchNormNode,
): { weight: string; bias: string } {
  const w = l.tensor(weightName);
  const out = w.shape[0]!;
  const folded = foldBatchNorm(asFloat32(w, weightName), out, biasName !== undefined ? l.float(biasName) : undefined, bnScaleShift(l, bn));
  return {
    weight: l.derived(`${weightName}*${bn.weight}`, { dtype: 'float32', shape: w.shape, data: Float32Array.from(folded.weight) }),
    bias: l.derived(`${weightName}.bias*${bn.weight}`, { dtype: 'float32', shape: [out], data: Float32Array.from(folded.bias!) }),
  };
}


/** Per-channel scale/shift constants shaped to broadcast over [N, C, H, W] or [N, C]. */
function channelConstant(l: Lowering, name: string, v: Float64Array, rank: number): string {
  const shape = rank === 4 ? [v.length, 1, 1] : [v.length];
  return l.derived(name, { dtype: 'float32', shape, data: Float32Array.from(v) });
}

function lowerActivation(l: Lowering, kind: ActivationKind, x: string, y: string): void {
  switch (kind) {
    case 'relu':
      return l.node('Relu', [x], [y]);
    case 'relu6':
      // Clip takes min/max as inputs since opset 11.
      return l.node('Clip', [x, l.float32Scalar('zero', 0), l.float32Scalar('six', 6)], [y]);
    case 'sigmoid':
      return l.node('Sigmoid', [x], [y]);
    case 'silu': {
      const s = l.temp(y);
      l.node('Sigmoid', [x], [s]);
      return l.node('Mul', [x, s], [y]);
    }
    case 'hardSigmoid':
      // PyTorch's relu6(x + 3) / 6 == max(0, min(1, x/6 + 1/2)).
      return l.node('HardSigmoid', [x], [y], { alpha: { f: 1 / 6 }, beta: { f: 0.5 } });
    case 'hardSwish':
      return l.node('HardSwish', [x], [y]);
    case 'gelu': {
      // Exact (erf) GELU; the Gelu op only exists from opset 20.
      const scaled = l.temp(y);
      const erf = l.temp(y);
      const onePlus = l.temp(y);
      const half = l.temp(y);
      l.node('Mul', [x, l.float32Scalar('rsqrt2', Math.SQRT1_2)], [scaled]);
      l.node('Erf', [scaled], [erf]);
      l.node('Add', [erf, l.float32Scalar('one', 1)], [onePlus]);
      l.node('Mul', [x, l.float32Scalar('half', 0.5)], [half]);
      return l.node('Mul', [half, onePlus], [y]);
    }
  }
}

function pads(p: readonly [number, number, number, number]): number[] {
  // Ours: [top, left, bottom, right]; ONNX: [h_begin, w_begin, h_end, w_end], the same order.
  return [p[0], p[1], p[2], p[3]];
}

/** The ONNX model of a recorded graph, serialised. */
export function graphToOnnx(graph: Graph): Uint8Array {
  const l = new Lowering(graph);
  const uses = new GraphUses(graph);
  const producer = new Map<ValueId, Node>();
  for (const n of graph.nodes) producer.set(n.out, n);

  // Pass 1: which BNs fold into their producer. A conv/linear whose output only feeds a BN.
  const foldedBn = new Map<ValueId, BatchNormNode>(); // producer's out -> the BN that absorbs it
  for (const n of graph.nodes) {
    if (n.op !== 'batchNorm') continue;
    const p = producer.get(n.x);
    if (p && (p.op === 'conv' || p.op === 'linear') && uses.soleConsumer(n.x) === n) foldedBn.set(p.out, n);
  }
  const absorbed = new Set<BatchNormNode>(foldedBn.values());

  for (const n of graph.nodes) {
    switch (n.op) {
      case 'input':
        break;
      case 'conv': {
        const bn = foldedBn.get(n.out);
        const { weight, bias } = bn
          ? foldInto(l, n.weight, n.bias, bn)
          : { weight: l.constant(n.weight), bias: n.bias !== undefined ? l.constant(n.bias) : undefined };
        const kernel = l.tensor(n.weight).shape.slice(2);
        l.node('Conv', bias !== undefined ? [l.value(n.x), weight, bias] : [l.value(n.x), weight], [l.value(bn ? bn.out : n.out)], {
          kernel_shape: { ints: kernel },
          strides: { ints: n.stride },
          pads: { ints: pads(n.pads) },
          dilations: { ints: n.dilation },
          group: { i: n.groups },
        });
        break;
      }
      case 'linear': {
        const bn = foldedBn.get(n.out);
        const { weight, bias } = bn
          ? foldInto(l, n.weight, n.bias, bn)
          : { weight: l.constant(n.weight), bias: n.bias !== undefined ? l.constant(n.bias) : undefined };
        const inputs = bias !== undefined ? [l.value(n.x), weight, bias] : [l.value(n.x), weight];
        l.node('Gemm', inputs, [l.value(bn ? bn.out : n.out)], { transB: { i: 1 } });
        break;
      }
      case 'batchNorm': {
        if (absorbed.has(n)) break;
        const { scale, shift } = bnScaleShift(l, n);
        const rank = graph.shapes[n.x]!.length;
        const scaled = l.temp(l.value(n.out));
        l.node('Mul', [l.value(n.x), channelConstant(l, `${n.weight}:scale`, scale, rank)], [scaled]);
        l.node('Add', [scaled, channelConstant(l, `${n.weight}:shift`, shift, rank)], [l.value(n.out)]);
        break;
      }
      case 'activation':
        lowerActivation(l, n.kind, l.value(n.x), l.value(n.out));
        break;
      case 'add':
        l.node('Add', [l.value(n.a), l.value(n.b)], [l.value(n.out)]);
        break;
      case 'mul':
        l.node('Mul', [l.value(n.a), l.value(n.b)], [l.value(n.out)]);
        break;
      case 'concat':
        l.node('Concat', n.xs.map((x) => l.value(x)), [l.value(n.out)], { axis: { i: 1 } });
        break;
      case 'slice':
        l.node(
          'Slice',
          [l.value(n.x), l.int64s(`start${n.out}`, [n.start]), l.int64s(`end${n.out}`, [n.end]), l.int64s('axis1', [1])],
          [l.value(n.out)],
        );
        break;
      case 'gather':
        l.node('Gather', [l.value(n.x), l.int64s(`index${n.out}`, n.index)], [l.value(n.out)], { axis: { i: 1 } });
        break;
      case 'channelShuffle': {
        const [, c, h, w] = graph.shapes[n.x] as [number, number, number, number];
        const split = l.temp(l.value(n.out));
        const swapped = l.temp(l.value(n.out));
        // 0 in a Reshape shape copies that input dim: the dynamic batch.
        l.node('Reshape', [l.value(n.x), l.int64s(`shuffle${n.out}`, [0, n.groups, c / n.groups, h, w])], [split]);
        l.node('Transpose', [split], [swapped], { perm: { ints: [0, 2, 1, 3, 4] } });
        l.node('Reshape', [swapped, l.int64s(`unshuffle${n.out}`, [0, c, h, w])], [l.value(n.out)]);
        break;
      }
      case 'maxPool':
        l.node('MaxPool', [l.value(n.x)], [l.value(n.out)], {
          kernel_shape: { ints: n.kernel },
          strides: { ints: n.stride },
          pads: { ints: pads(n.pads) },
        });
        break;
      case 'avgPool':
        l.node('AveragePool', [l.value(n.x)], [l.value(n.out)], {
          kernel_shape: { ints: n.kernel },
          strides: { ints: n.stride },
          pads: { ints: pads(n.pads) },
          count_include_pad: { i: n.countIncludePad ? 1 : 0 },
        });
        break;
      case 'globalAvgPool':
        l.node('GlobalAveragePool', [l.value(n.x)], [l.value(n.out)]);
        break;
      case 'flatten':
        l.node('Flatten', [l.value(n.x)], [l.value(n.out)], { axis: { i: 1 } });
        break;
    }
  }
  if (graph.output === graph.input) l.node('Identity', [INPUT_NAME], [OUTPUT_NAME]);

  const dims = (shape: readonly number[]) => shape.map((d, i) => (i === 0 ? 'N' : d));
  return encodeModel({
    graphName: 'zoo',
    nodes: l.nodes,
    initializers: l.initializers,
    inputs: [{ name: INPUT_NAME, elemType: DataType.FLOAT, dims: dims(graph.shapes[graph.input]!) }],
    outputs: [{ name: OUTPUT_NAME, elemType: DataType.FLOAT, dims: dims(graph.shapes[graph.output]!) }],
    irVersion: ONNX_IR_VERSION,
    opset: ONNX_OPSET,
    producer: 'zoo',
    producerVersion: '0.1.0',
  });
}
