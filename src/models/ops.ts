/**
 * The operation interface a family file's forward pass is written against. It reads like the
 * upstream PyTorch module: layers are addressed by their upstream state_dict prefix
 * (`ops.conv(x, 'stem.conv', {...})` uses `stem.conv.weight`), so a checkpoint in upstream naming
 * maps onto the model with no tables. The family declares the architecture (channels, kernels);
 * the checkpoint must match it, and every difference is reported at once by name.
 */
import type { ActivationKind, HostTensor, Pads, Shape, ValueId } from './graph.js';

/** An activation in the graph being recorded. */
export type Value = ValueId;

/** Padding: symmetric `p` or `[ph, pw]`, explicit `[top, left, bottom, right]`, or TF "same". */
export type Padding = number | readonly [number, number] | Pads | 'same';

export interface ConvOptions {
  out: number;
  kernel: number | readonly [number, number];
  stride?: number | readonly [number, number];
  /** Default: PyTorch's symmetric `(kernel - 1) / 2 * dilation` ("keep size" for odd kernels). */
  padding?: Padding;
  dilation?: number;
  groups?: number;
  /** Has `${name}.bias`. Default false (convs followed by BN have none). */
  bias?: boolean;
}

export interface PoolOptions {
  kernel: number | readonly [number, number];
  stride?: number | readonly [number, number];
  padding?: Padding;
  /** avgPool: PyTorch's count_include_pad, default true. */
  countIncludePad?: boolean;
}

/** Low-level conv on named constants, for weights a family derives itself. */
export interface ConvOnConstants {
  weight: string;
  bias?: string;
  stride?: number | readonly [number, number];
  padding?: Padding;
  dilation?: number;
  groups?: number;
}

export interface Ops {
  /** The image batch, [N, 3, H, W]. */
  readonly input: Value;
  shape(x: Value): Shape;
  /** Channels (dim 1) of x. */
  channels(x: Value): number;

  /** nn.Conv2d at `name` (`name.weight` [out, in/groups, kh, kw], optional `name.bias`). */
  conv(x: Value, name: string, o: ConvOptions): Value;
  /** nn.BatchNorm2d at `name` (weight, bias, running_mean, running_var) in eval mode. */
  bn(x: Value, name: string, eps?: number): Value;
  /** nn.Linear at `name` (`name.weight` [out, in], `name.bias` unless bias is false). */
  linear(x: Value, name: string, out: number, o?: { bias?: boolean }): Value;

  act(x: Value, kind: ActivationKind): Value;
  add(a: Value, b: Value): Value;
  /** Elementwise; b may be [N, C, 1, 1] gating a [N, C, H, W]. */
  mul(a: Value, b: Value): Value;
  concat(xs: readonly Value[]): Value;
  /** Channels [start, end). */
  slice(x: Value, start: number, end: number): Value;
  /** torch.index_select(x, 1, index). */
  gather(x: Value, index: readonly number[]): Value;
  channelShuffle(x: Value, groups: number): Value;
  maxPool(x: Value, o: PoolOptions): Value;
  avgPool(x: Value, o: PoolOptions): Value;
  /** Mean over H, W keeping [N, C, 1, 1]. */
  globalAvgPool(x: Value): Value;
  flatten(x: Value): Value;

  /**
   * A checkpoint tensor that is not a conv/bn/linear parameter (CondenseNetV2's index tensors),
   * checked against the expected shape; the family turns it into constants or indices.
   * `learnable`: a weight the family reshapes or folds itself (counted in `params`, as float32).
   */
  tensor(name: string, shape: readonly number[], o?: { learnable?: boolean }): HostTensor;
  /** Registers a derived constant under a unique name and returns the name. */
  constant(name: string, t: HostTensor): string;
  /** nn.functional.conv2d on constants registered with `constant`. */
  convWith(x: Value, c: ConvOnConstants): Value;
}

/** Small helpers every family uses. */
export function pair(v: number | readonly [number, number]): readonly [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

/**
 * timm's / torchvision's make_divisible: round to the nearest multiple of `divisor`, never
 * below `minValue`, and never more than 10% below v.
 */
export function makeDivisible(v: number, divisor = 8, minValue?: number, roundLimit = 0.9): number {
  const min = minValue ?? divisor;
  let n = Math.max(min, Math.trunc(v + divisor / 2) - (Math.trunc(v + divisor / 2) % divisor));
  if (n < roundLimit * v) n += divisor;
  return n;
}
