/**
 * Lowers a recorded Graph (PyTorch layout, NCHW) to a list of tfjs steps in NHWC. Weights are
 * transposed and BatchNorm folded once here; running a batch is then a straight walk over the
 * steps, freeing every activation right after its last consumer so peak memory stays near two
 * layers' worth, not the whole network's.
 *
 * The channel axis is the last one in NHWC (and in [N, C] after flatten), so every channel op
 * (concat, slice, gather, shuffle, the bias/BN broadcast) works on axis -1 whatever the rank.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ActivationKind, Graph, Node, Pads, ValueId } from '../../models/graph.js';
import { GraphWalker, flattenNeedsTranspose, type ConvNode } from './walker.js';
import { asFloat32 } from '../graph-constants.js';
import { channelShuffleIndex, excludePadFactor, slice32, toDepthwise, toGroupedDepthwise, toHWIO, transposeLinear, type Prepared } from './weights.js';

type Values = (tf.Tensor | undefined)[];

interface Step {
  readonly out: ValueId;
  readonly inputs: readonly ValueId[];
  run(v: Values): tf.Tensor;
}

/** Activations tfjs fuses into conv2d / depthwiseConv2d on every backend. */
type FusedActivation = 'relu' | 'relu6' | 'sigmoid';
/**
 * Grouped convs with at most this many input channels per group run as depthwise + sum rather than
 * split/convolve/concatenate: tfjs-wasm slices channels in JavaScript, one copy per pixel per
 * group, which for 4- or 8-wide groups costs several times the convolution itself (measured on
 * ResNeXt-50's first two stages); wider groups amortise the slicing and the split path wins.
 */
const DEPTHWISE_SUM_MAX_GROUP_WIDTH = 8;

const FUSABLE: ReadonlySet<ActivationKind> = new Set<ActivationKind>(['relu', 'relu6', 'sigmoid']);

type PoolNode = Extract<Node, { op: 'maxPool' | 'avgPool' }>;

export interface LoweredGraph {
  /** Runs the graph on an NHWC batch; call inside tf.tidy. Returns the output in NHWC / [N, C]. */
  execute(x: tf.Tensor4D): tf.Tensor;
  /** Rank of the output (2 for logits). */
  readonly outputRank: number;
  /** Nodes after fusion (for tests and diagnostics). */
  readonly stepCount: number;
  /** Frees every weight tensor. */
  dispose(): void;
}

function explicitPad([t, l, b, r]: Pads): 'valid' | [[number, number], [number, number], [number, number], [number, number]] {
  return t === 0 && l === 0 && b === 0 && r === 0 ? 'valid' : [[0, 0], [t, b], [l, r], [0, 0]];
}

function hasPad([t, l, b, r]: Pads): boolean {
  return t !== 0 || l !== 0 || b !== 0 || r !== 0;
}

function applyActivation(kind: ActivationKind, x: tf.Tensor): tf.Tensor {
  switch (kind) {
    case 'relu':
      return tf.relu(x);
    case 'relu6':
      return tf.relu6(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'silu':
      return tf.mul(x, tf.sigmoid(x));
    case 'hardSigmoid':
      // PyTorch: min(max(x + 3, 0), 6) / 6
      return tf.div(tf.relu6(tf.add(x, 3)), 6);
    case 'hardSwish':
      return tf.div(tf.mul(x, tf.relu6(tf.add(x, 3))), 6);
    case 'gelu':
      // PyTorch's exact (erf) GELU, nn.GELU() default.
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
  }
}

/** NCHW-rank-aware: a [N, C, H, W] value is [N, H, W, C] here, [N, C] stays. */
function channelSlice(x: tf.Tensor, start: number, end: number): tf.Tensor {
  const begin = x.shape.map((_, i) => (i === x.rank - 1 ? start : 0));
  const size = x.shape.map((_, i) => (i === x.rank - 1 ? end - start : -1));
  return tf.slice(x, begin, size);
}

export function lowerGraph(graph: Graph): LoweredGraph {
  return new Lowerer(graph).lower();
}

class Lowerer extends GraphWalker {
  private readonly weights: tf.Tensor[] = [];

  private upload(p: Prepared | { shape: number[]; data: Float32Array | Int32Array }, dtype: 'float32' | 'int32' = 'float32'): tf.Tensor {
    const t = tf.tensor(p.data, p.shape, dtype);
    this.weights.push(t);
    return t;
  }

  lower(): LoweredGraph {
    const steps: Step[] = [];
    this.walk((node) => {
      if (node.op !== 'input') steps.push(this.step(node));
    });
    // After which step each value can be freed: its last consumer, or at once if nothing reads it.
    const lastUse = new Map<ValueId, number>();
    steps.forEach((s, i) => {
      for (const v of s.inputs) lastUse.set(v, i);
    });
    const frees: ValueId[][] = steps.map(() => []);
    steps.forEach((s, i) => {
      if (s.out !== this.graph.output && !lastUse.has(s.out)) frees[i]!.push(s.out);
    });
    for (const [v, i] of lastUse) if (v !== this.graph.output) frees[i]!.push(v);

    const nValues = this.graph.shapes.length;
    const { input, output } = this.graph;
    const weights = this.weights;
    return {
      outputRank: this.graph.shapes[output]!.length,
      stepCount: steps.length,
      execute(x: tf.Tensor4D): tf.Tensor {
        const vals: Values = new Array<tf.Tensor | undefined>(nValues);
        vals[input] = x;
        for (let i = 0; i < steps.length; i++) {
          const s = steps[i]!;
          vals[s.out] = s.run(vals);
          for (const v of frees[i]!) {
            vals[v]!.dispose();
            vals[v] = undefined;
          }
        }
        return vals[output]!;
      },
      dispose(): void {
        for (const w of weights) w.dispose();
        weights.length = 0;
      },
    };
  }

  private step(node: Node): Step {
    switch (node.op) {
      case 'input':
        throw new Error('input is not a step');
      case 'conv':
        return this.conv(node);
      case 'batchNorm': {
        const a = this.bnAffine(node);
        const scale = this.upload({ shape: [a.scale.length], data: Float32Array.from(a.scale) });
        const shift = this.upload({ shape: [a.shift.length], data: Float32Array.from(a.shift) });
        return { out: node.out, inputs: [node.x], run: (v) => tf.add(tf.mul(v[node.x]!, scale), shift) };
      }
      case 'activation':
        return { out: node.out, inputs: [node.x], run: (v) => applyActivation(node.kind, v[node.x]!) };
      case 'add':
        return { out: node.out, inputs: [node.a, node.b], run: (v) => tf.add(v[node.a]!, v[node.b]!) };
      case 'mul':
        return { out: node.out, inputs: [node.a, node.b], run: (v) => tf.mul(v[node.a]!, v[node.b]!) };
      case 'concat':
        return { out: node.out, inputs: node.xs, run: (v) => tf.concat(node.xs.map((x) => v[x]!), -1) };
      case 'slice':
        return { out: node.out, inputs: [node.x], run: (v) => channelSlice(v[node.x]!, node.start, node.end) };
      case 'gather': {
        const index = this.upload({ shape: [node.index.length], data: Int32Array.from(node.index) }, 'int32');
        return { out: node.out, inputs: [node.x], run: (v) => tf.gather(v[node.x]!, index, -1) };
      }
      case 'channelShuffle': {
        const c = this.graph.shapes[node.x]![1]!;
        const index = this.upload({ shape: [c], data: channelShuffleIndex(c, node.groups) }, 'int32');
        return { out: node.out, inputs: [node.x], run: (v) => tf.gather(v[node.x]!, index, -1) };
      }
      case 'maxPool':
      case 'avgPool':
        return this.pool(node);
      case 'globalAvgPool': {
        // A whole-map average pool, not tf.mean over H, W: wasm's Mean reduces only innermost axes
        // and would transpose the whole NHWC tensor first (10x slower, measured on 8x56x56x96).
        const [, , h, w] = this.graph.shapes[node.x] as [number, number, number, number];
        return { out: node.out, inputs: [node.x], run: (v) => tf.avgPool(v[node.x]! as tf.Tensor4D, [h, w], 1, 'valid') };
      }
      case 'flatten': {
        const s = this.graph.shapes[node.x]!;
        const flat = s.slice(1).reduce((a, b) => a * b, 1);
        const needsTranspose = flattenNeedsTranspose(s);
        return {
          out: node.out,
          inputs: [node.x],
          run: (v) => {
            const x = v[node.x]!;
            const y = needsTranspose ? tf.transpose(x, [0, 3, 1, 2]) : x;
            return tf.reshape(y, [x.shape[0]!, flat]);
          },
        };
      }
      case 'linear': {
        const w = this.constant(node.weight);
        const weight = this.upload(transposeLinear(asFloat32(w, node.weight), w.shape));
        const bias = node.bias !== undefined ? this.upload({ shape: [w.shape[0]!], data: this.f32(node.bias) }) : undefined;
        return {
          out: node.out,
          inputs: [node.x],
          run: (v) => tf.fused.matMul({ a: v[node.x]! as tf.Tensor2D, b: weight as tf.Tensor2D, ...(bias ? { bias } : {}) }),
        };
      }
    }
  }

  /**
   * conv [-> batchNorm] [-> relu | relu6 | sigmoid], fused where each intermediate has exactly one
   * consumer, becomes a single fused tfjs conv. Grouped convs split into depthwise or per-group.
   */
  private conv(node: ConvNode): Step {
    const { weight: w, cout, cinPerGroup, cin, folded, out: convOut } = this.convWithBatchNorm(node);
    let out = convOut;
    let activation: FusedActivation | undefined;
    const after = this.soleConsumer(out);
    if (after?.op === 'activation' && FUSABLE.has(after.kind)) {
      activation = after.kind as FusedActivation;
      this.absorbed.add(after);
      out = after.out;
    }

    const pad = explicitPad(node.pads);
    const [sh, sw] = node.stride;
    const [dh, dw] = node.dilation;
    // tfjs refuses stride > 1 together with dilation > 1: convolve at stride 1, then subsample.
    const subsample = (sh > 1 || sw > 1) && (dh > 1 || dw > 1);
    const strides: [number, number] = subsample ? [1, 1] : [sh, sw];
    const dilations: [number, number] = [dh, dw];
    const finish = (y: tf.Tensor4D): tf.Tensor4D =>
      subsample ? tf.stridedSlice(y, [0, 0, 0, 0], [0, 0, 0, 0], [1, sh, sw, 1], 15, 15) as tf.Tensor4D : y;
    const fusedArgs = (bias: tf.Tensor | undefined) => ({
      strides,
      pad,
      dilations,
      dataFormat: 'NHWC' as const,
      ...(bias ? { bias } : {}),
      ...(activation ? { activation } : {}),
    });

    if (node.groups === 1) {
      const filter = this.upload(toHWIO(folded.weight, w.shape, 0, cout)) as tf.Tensor4D;
      const bias = folded.bias ? this.upload({ shape: [cout], data: Float32Array.from(folded.bias) }) : undefined;
      return {
        out,
        inputs: [node.x],
        run: (v) => finish(tf.fused.conv2d({ x: v[node.x]! as tf.Tensor4D, filter, ...fusedArgs(bias) })),
      };
    }
    if (node.groups === cin && cinPerGroup === 1) {
      // Depthwise, with channel multiplier cout / cin.
      const filter = this.upload(toDepthwise(folded.weight, w.shape, cin)) as tf.Tensor4D;
      const bias = folded.bias ? this.upload({ shape: [cout], data: Float32Array.from(folded.bias) }) : undefined;
      return {
        out,
        inputs: [node.x],
        run: (v) =>
          finish(
            tf.fused.depthwiseConv2d({
              x: v[node.x]! as tf.Tensor4D,
              filter,
              ...fusedArgs(bias),
              // Explicit padding works here (computeConv2DInfo on wasm, cpu and tfjs-node all handle
              // it, as for conv2d); only the typing of fused.depthwiseConv2d omits it.
              pad: pad as 'valid',
            }),
          ),
      };
    }
    const g = node.groups;
    if (cinPerGroup <= DEPTHWISE_SUM_MAX_GROUP_WIDTH) return this.groupedAsDepthwise(node, out, folded, activation);
    // General grouped conv: tfjs has none, so split the channels, convolve each group, concatenate.
    const perOut = cout / g;
    const filters: tf.Tensor4D[] = [];
    const biases: (tf.Tensor | undefined)[] = [];
    for (let k = 0; k < g; k++) {
      filters.push(this.upload(toHWIO(folded.weight, w.shape, k * perOut, (k + 1) * perOut)) as tf.Tensor4D);
      biases.push(folded.bias ? this.upload({ shape: [perOut], data: slice32(folded.bias, k * perOut, (k + 1) * perOut) }) : undefined);
    }
    return {
      out,
      inputs: [node.x],
      run: (v) => {
        const parts = tf.split(v[node.x]!, g, 3) as tf.Tensor4D[];
        const ys = parts.map((x, k) => tf.fused.conv2d({ x, filter: filters[k]!, ...fusedArgs(biases[k]) }));
        tf.dispose(parts);
        const y = tf.concat(ys, 3) as tf.Tensor4D;
        tf.dispose(ys);
        return finish(y);
      },
    };
  }

  /**
   * A grouped conv with narrow groups as a depthwise conv (multiplier cout/g) followed by a sum
   * over each group's inputs; see toGroupedDepthwise. Bias and activation come after the sum.
   */
  private groupedAsDepthwise(
    node: ConvNode,
    out: ValueId,
    folded: { weight: Float64Array; bias: Float64Array | undefined },
    activation: FusedActivation | undefined,
  ): Step {
    const w = this.constant(node.weight);
    const [cout, ci] = w.shape as [number, number, number, number];
    const g = node.groups;
    const co = cout / g;
    const filter = this.upload(toGroupedDepthwise(folded.weight, w.shape, g)) as tf.Tensor4D;
    const bias = folded.bias ? this.upload({ shape: [cout], data: Float32Array.from(folded.bias) }) : undefined;
    const [sh, sw] = node.stride;
    const [dh, dw] = node.dilation;
    const subsample = (sh > 1 || sw > 1) && (dh > 1 || dw > 1);
    const pad = explicitPad(node.pads);
    return {
      out,
      inputs: [node.x],
      run: (v) => {
        let y = tf.depthwiseConv2d(v[node.x]! as tf.Tensor4D, filter, subsample ? 1 : [sh, sw], pad, 'NHWC', [dh, dw]);
        if (subsample) y = tf.stridedSlice(y, [0, 0, 0, 0], [0, 0, 0, 0], [1, sh, sw, 1], 15, 15) as tf.Tensor4D;
        const [n, oh, ow] = y.shape;
        // [.., G, i, j] -> sum over i -> [.., G, j], the grouped conv's channel order.
        let z: tf.Tensor = tf.reshape(tf.sum(tf.reshape(y, [n * oh * ow * g, ci, co]), 1), [n, oh, ow, cout]);
        if (bias) z = tf.add(z, bias);
        return activation ? applyActivation(activation, z) : z;
      },
    };
  }

  /**
   * PyTorch pooling with explicit pads, exactly: max pools pad with -inf; average pools pad with
   * zeros and divide by the full window (count_include_pad) or, when padding is excluded, are
   * rescaled per position by a precomputed window/inside-count factor.
   */
  private pool(node: PoolNode): Step {
    const kernel: [number, number] = [node.kernel[0], node.kernel[1]];
    const strides: [number, number] = [node.stride[0], node.stride[1]];
    const [t, l, b, r] = node.pads;
    const padded = hasPad(node.pads);
    const paddings: [number, number][] = [[0, 0], [t, b], [l, r], [0, 0]];
    if (node.op === 'maxPool') {
      return {
        out: node.out,
        inputs: [node.x],
        run: (v) => {
          const x = v[node.x]! as tf.Tensor4D;
          return tf.maxPool(padded ? tf.pad(x, paddings, -Infinity) : x, kernel, strides, 'valid');
        },
      };
    }
    let factor: tf.Tensor | undefined;
    if (padded && !node.countIncludePad) {
      const s = this.graph.shapes[node.x]!;
      const f = excludePadFactor([s[2]!, s[3]!], kernel, strides, node.pads);
      factor = this.upload({ shape: [f.shape[0]!, f.shape[1]!, 1], data: f.data });
    }
    return {
      out: node.out,
      inputs: [node.x],
      run: (v) => {
        const x = v[node.x]! as tf.Tensor4D;
        const y = tf.avgPool(padded ? tf.pad(x, paddings, 0) : x, kernel, strides, 'valid');
        return factor ? tf.mul(y, factor) : y;
      },
    };
  }
}
