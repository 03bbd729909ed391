/**
 * The model graph: what a family file's forward pass records, and what every engine lowers.
 *
 * Layout is PyTorch's throughout: activations are NCHW (or NC after flatten), conv weights OIHW,
 * linear weights [out, in]. The batch dimension is dynamic (-1); spatial sizes are fixed when the
 * graph is recorded (TF-"same" padding and pooling windows depend on them), so a graph is recorded
 * per input resolution. Engines that want another layout (tfjs: NHWC) transpose at load.
 */

/** A host-side tensor: a checkpoint entry or a constant derived from one. Row-major. */
export interface HostTensor {
  readonly dtype: 'float32' | 'int64';
  readonly shape: readonly number[];
  readonly data: Float32Array | BigInt64Array;
}

/** Index of an activation in the graph (the output of exactly one node). */
export type ValueId = number;

/** [N, C, H, W] for feature maps, [N, C] after flatten; N is always -1 (dynamic). */
export type Shape = readonly number[];

/** Padding as [top, left, bottom, right]; asymmetric where TF "same" needs it. */
export type Pads = readonly [number, number, number, number];

export type ActivationKind =
  | 'relu'
  | 'relu6'
  | 'silu' // x * sigmoid(x), a.k.a. swish
  | 'sigmoid'
  | 'hardSigmoid' // relu6(x + 3) / 6, PyTorch's nn.Hardsigmoid
  | 'hardSwish' // x * relu6(x + 3) / 6
  | 'gelu';

export type Node =
  | { op: 'input'; out: ValueId }
  | {
      op: 'conv';
      x: ValueId;
      out: ValueId;
      /** Constant names (keys of Graph.constants). */
      weight: string;
      bias?: string;
      stride: readonly [number, number];
      pads: Pads;
      dilation: readonly [number, number];
      groups: number;
    }
  | {
      op: 'batchNorm';
      x: ValueId;
      out: ValueId;
      weight: string;
      bias: string;
      mean: string;
      var: string;
      eps: number;
    }
  | { op: 'activation'; kind: ActivationKind; x: ValueId; out: ValueId }
  /** Elementwise; b may be [N, C, 1, 1] against a [N, C, H, W] (SE gating), or the same shape. */
  | { op: 'add'; a: ValueId; b: ValueId; out: ValueId }
  | { op: 'mul'; a: ValueId; b: ValueId; out: ValueId }
  /** Along channels (axis 1). */
  | { op: 'concat'; xs: readonly ValueId[]; out: ValueId }
  /** Channels [start, end) (axis 1). */
  | { op: 'slice'; x: ValueId; start: number; end: number; out: ValueId }
  /** Channels by index (axis 1), like torch.index_select(x, 1, index). */
  | { op: 'gather'; x: ValueId; index: readonly number[]; out: ValueId }
  /** ShuffleNet channel shuffle: view(N, g, C/g, H, W).transpose(1, 2).reshape(N, C, H, W). */
  | { op: 'channelShuffle'; x: ValueId; groups: number; out: ValueId }
  | {
      op: 'maxPool' | 'avgPool';
      x: ValueId;
      out: ValueId;
      kernel: readonly [number, number];
      stride: readonly [number, number];
      pads: Pads;
      /** avgPool only: divide by the full window even where it overlaps padding (PyTorch default). */
      countIncludePad: boolean;
    }
  /** Mean over H and W, keeping [N, C, 1, 1]. */
  | { op: 'globalAvgPool'; x: ValueId; out: ValueId }
  /** [N, C, H, W] -> [N, C*H*W]. */
  | { op: 'flatten'; x: ValueId; out: ValueId }
  /** y = x W^T + b with W [out, in]. */
  | { op: 'linear'; x: ValueId; out: ValueId; weight: string; bias?: string };

export type NodeOp = Node['op'];

export interface Graph {
  /** Nodes in execution (topological) order; nodes[0] is the input. */
  readonly nodes: readonly Node[];
  /** Shape of every value, indexed by ValueId. */
  readonly shapes: readonly Shape[];
  /** Weights and derived constants, by name (upstream names for checkpoint entries). */
  readonly constants: ReadonlyMap<string, HostTensor>;
  readonly input: ValueId;
  readonly output: ValueId;
  /** [C, H, W] of the input. */
  readonly inputShape: readonly [number, number, number];
}

/** Number of elements of a static shape. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** "32x3x3x3", the way golden/*.keys.tsv and our error messages write shapes. */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 0 ? 'scalar' : shape.join('x');
}
