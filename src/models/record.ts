/**
 * GraphRecorder: the Ops implementation that runs a family's forward pass symbolically, inferring
 * shapes, checking every checkpoint tensor the forward asks for against the shape the architecture
 * implies, and producing a Graph for the engines.
 *
 * Weight problems are collected, not thrown one by one: a checkpoint of the wrong architecture is
 * reported with every tensor that differs (missing, wrong shape, unexpected), which is what a user
 * needs to see which model a file really belongs to.
 */
import { WeightsError } from '../errors.js';
import {
  formatShape,
  numel,
  type ActivationKind,
  type Graph,
  type HostTensor,
  type Node,
  type Pads,
  type Shape,
} from './graph.js';
import { pair, type ConvOnConstants, type ConvOptions, type Ops, type Padding, type PoolOptions, type Value } from './ops.js';

/** What a family module exports for each architecture it defines. */
export type ForwardFn = (ops: Ops) => Value;

export interface RecordOptions {
  /** Input [H, W]. */
  size: readonly [number, number];
  /**
   * Checkpoint tensors in upstream naming (already unwrapped and renamed). Omit to record the
   * architecture alone (parameter count, MACs, shapes); constants are then empty placeholders.
   */
  weights?: ReadonlyMap<string, HostTensor>;
  /** File the weights came from, for error messages. */
  weightsFile?: string;
  /** Checkpoint entries that are fine to leave unused (besides num_batches_tracked). */
  ignoreUnused?: (name: string) => boolean;
}

export interface RecordedGraph extends Graph {
  /** Learnable parameters (conv/linear weights and biases, BN affine), timm's count. */
  readonly params: number;
  /** Multiply-accumulates for one image at this input size. */
  readonly macs: number;
}

interface Problem {
  name: string;
  what: string;
}

const ALWAYS_IGNORED = /(^|\.)num_batches_tracked$/;

export function recordGraph(forward: ForwardFn, opts: RecordOptions): RecordedGraph {
  const rec = new GraphRecorder(opts);
  const out = forward(rec);
  return rec.finish(out);
}

/** Output size of a sliding window along one axis. */
function windowOut(size: number, k: number, s: number, d: number, padBefore: number, padAfter: number): number {
  return Math.floor((size + padBefore + padAfter - d * (k - 1) - 1) / s) + 1;
}

/** TF "same": output ceil(in / s), padding split with the extra pixel after (bottom/right). */
function samePads(size: number, k: number, s: number, d: number): [number, number] {
  const total = Math.max((Math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

function resolvePads(
  padding: Padding | undefined,
  [h, w]: readonly [number, number],
  [kh, kw]: readonly [number, number],
  [sh, sw]: readonly [number, number],
  d: number,
): Pads {
  if (padding === 'same') {
    const [t, b] = samePads(h, kh, sh, d);
    const [l, r] = samePads(w, kw, sw, d);
    return [t, l, b, r];
  }
  if (padding === undefined) {
    const ph = Math.floor(((kh - 1) * d) / 2);
    const pw = Math.floor(((kw - 1) * d) / 2);
    return [ph, pw, ph, pw];
  }
  if (typeof padding === 'number') return [padding, padding, padding, padding];
  if (padding.length === 2) return [padding[0], padding[1], padding[0], padding[1]];
  return padding as Pads;
}

class GraphRecorder implements Ops {
  readonly input: Value = 0;
  private readonly nodes: Node[] = [{ op: 'input', out: 0 }];
  private readonly shapes: Shape[];
  private readonly constants = new Map<string, HostTensor>();
  private readonly used = new Set<string>();
  private readonly problems: Problem[] = [];
  private params = 0;
  private macs = 0;

  constructor(private readonly opts: RecordOptions) {
    this.shapes = [[-1, 3, opts.size[0], opts.size[1]]];
  }

  shape(x: Value): Shape {
    const s = this.shapes[x];
    if (!s) throw new Error(`no value ${x}`);
    return s;
  }

  channels(x: Value): number {
    return this.shape(x)[1]!;
  }

  private push(node: Node, shape: Shape): Value {
    this.shapes.push(shape);
    this.nodes.push(node);
    return this.shapes.length - 1;
  }

  private next(): Value {
    return this.shapes.length;
  }

  /** Fetch a checkpoint tensor, checking its shape; a problem is recorded and zeros substituted. */
  private fetch(name: string, shape: readonly number[], learnable: boolean): string {
    if (learnable) this.params += numel(shape);
    if (this.constants.has(name)) return name;
    this.used.add(name);
    const weights = this.opts.weights;
    if (!weights) {
      this.constants.set(name, { dtype: 'float32', shape, data: new Float32Array(0) });
      return name;
    }
    const t = weights.get(name);
    if (!t) {
      this.problems.push({ name, what: `missing (model needs ${formatShape(shape)})` });
    } else if (formatShape(t.shape) !== formatShape(shape)) {
      this.problems.push({ name, what: `shape ${formatShape(t.shape)}, model needs ${formatShape(shape)}` });
    } else {
      this.constants.set(name, toFloat32(t));
      return name;
    }
    this.constants.set(name, { dtype: 'float32', shape, data: new Float32Array(numel(shape)) });
    return name;
  }

  tensor(name: string, shape: readonly number[], o: { learnable?: boolean } = {}): HostTensor {
    if (o.learnable) this.params += numel(shape);
    this.used.add(name);
    const t = this.opts.weights?.get(name);
    if (!this.opts.weights) return { dtype: 'float32', shape, data: new Float32Array(numel(shape)) };
    if (!t) {
      this.problems.push({ name, what: `missing (model needs ${formatShape(shape)})` });
    } else if (formatShape(t.shape) !== formatShape(shape)) {
      this.problems.push({ name, what: `shape ${formatShape(t.shape)}, model needs ${formatShape(shape)}` });
    } else {
      return o.learnable ? toFloat32(t) : t;
    }
    return { dtype: 'float32', shape, data: new Float32Array(numel(shape)) };
  }

  constant(name: string, t: HostTensor): string {
    let unique = name;
    for (let i = 1; this.constants.has(unique); i++) unique = `${name}#${i}`;
    this.constants.set(unique, t);
    return unique;
  }

  conv(x: Value, name: string, o: ConvOptions): Value {
    const groups = o.groups ?? 1;
    const cin = this.channels(x);
    if (cin % groups !== 0 || o.out % groups !== 0) {
      throw new Error(`${name}: ${cin} -> ${o.out} channels not divisible into ${groups} groups`);
    }
    const [kh, kw] = pair(o.kernel);
    const weight = this.fetch(`${name}.weight`, [o.out, cin / groups, kh, kw], true);
    const bias = o.bias ? this.fetch(`${name}.bias`, [o.out], true) : undefined;
    return this.convWith(x, {
      weight,
      ...(bias !== undefined ? { bias } : {}),
      ...(o.stride !== undefined ? { stride: o.stride } : {}),
      ...(o.padding !== undefined ? { padding: o.padding } : {}),
      ...(o.dilation !== undefined ? { dilation: o.dilation } : {}),
      groups,
    });
  }

  convWith(x: Value, c: ConvOnConstants): Value {
    const w = this.constants.get(c.weight);
    if (!w || w.shape.length !== 4) throw new Error(`convWith: no 4-d constant ${c.weight}`);
    const [n, cin, h, wd] = this.shape(x) as [number, number, number, number];
    const groups = c.groups ?? 1;
    const [cout, cinPerGroup, kh, kw] = w.shape as [number, number, number, number];
    if (cinPerGroup * groups !== cin) {
      throw new Error(`convWith ${c.weight}: input has ${cin} channels, weight expects ${cinPerGroup * groups}`);
    }
    const stride = pair(c.stride ?? 1);
    const d = c.dilation ?? 1;
    const pads = resolvePads(c.padding, [h, wd], [kh, kw], stride, d);
    const oh = windowOut(h, kh, stride[0], d, pads[0], pads[2]);
    const ow = windowOut(wd, kw, stride[1], d, pads[1], pads[3]);
    this.macs += cout * oh * ow * cinPerGroup * kh * kw;
    const node: Node = {
      op: 'conv',
      x,
      out: this.next(),
      weight: c.weight,
      ...(c.bias !== undefined ? { bias: c.bias } : {}),
      stride,
      pads,
      dilation: [d, d],
      groups,
    };
    return this.push(node, [n, cout, oh, ow]);
  }

  bn(x: Value, name: string, eps = 1e-5): Value {
    const c = this.channels(x);
    const node: Node = {
      op: 'batchNorm',
      x,
      out: this.next(),
      weight: this.fetch(`${name}.weight`, [c], true),
      bias: this.fetch(`${name}.bias`, [c], true),
      mean: this.fetch(`${name}.running_mean`, [c], false),
      var: this.fetch(`${name}.running_var`, [c], false),
      eps,
    };
    return this.push(node, this.shape(x));
  }

  linear(x: Value, name: string, out: number, o: { bias?: boolean } = {}): Value {
    const s = this.shape(x);
    if (s.length !== 2) throw new Error(`${name}: linear needs [N, C], got ${formatShape(s)}; flatten first`);
    const cin = s[1]!;
    this.macs += cin * out;
    const weight = this.fetch(`${name}.weight`, [out, cin], true);
    const bias = o.bias === false ? undefined : this.fetch(`${name}.bias`, [out], true);
    const node: Node = { op: 'linear', x, out: this.next(), weight, ...(bias !== undefined ? { bias } : {}) };
    return this.push(node, [s[0]!, out]);
  }

  act(x: Value, kind: ActivationKind): Value {
    return this.push({ op: 'activation', kind, x, out: this.next() }, this.shape(x));
  }

  add(a: Value, b: Value): Value {
    this.checkBroadcast('add', a, b);
    return this.push({ op: 'add', a, b, out: this.next() }, this.shape(a));
  }

  mul(a: Value, b: Value): Value {
    this.checkBroadcast('mul', a, b);
    return this.push({ op: 'mul', a, b, out: this.next() }, this.shape(a));
  }

  private checkBroadcast(op: string, a: Value, b: Value): void {
    const sa = this.shape(a);
    const sb = this.shape(b);
    const ok =
      sa.length === sb.length && sa.every((d, i) => d === sb[i] || (i >= 2 && sb[i] === 1));
    if (!ok) throw new Error(`${op}: cannot broadcast ${formatShape(sb)} onto ${formatShape(sa)}`);
  }

  concat(xs: readonly Value[]): Value {
    const first = this.shape(xs[0]!);
    let c = 0;
    for (const x of xs) {
      const s = this.shape(x);
      if (s.length !== first.length || s.some((d, i) => i !== 1 && d !== first[i])) {
        throw new Error(`concat: ${formatShape(s)} does not match ${formatShape(first)}`);
      }
      c += s[1]!;
    }
    const shape = [...first];
    shape[1] = c;
    return this.push({ op: 'concat', xs: [...xs], out: this.next() }, shape);
  }

  slice(x: Value, start: number, end: number): Value {
    const shape = [...this.shape(x)];
    if (!(start >= 0 && end <= shape[1]! && start < end)) throw new Error(`slice ${start}:${end} of ${shape[1]} channels`);
    shape[1] = end - start;
    return this.push({ op: 'slice', x, start, end, out: this.next() }, shape);
  }

  gather(x: Value, index: readonly number[]): Value {
    const shape = [...this.shape(x)];
    const c = shape[1]!;
    if (index.some((i) => !Number.isInteger(i) || i < 0 || i >= c)) throw new Error(`gather: index outside 0..${c - 1}`);
    shape[1] = index.length;
    return this.push({ op: 'gather', x, index: [...index], out: this.next() }, shape);
  }

  channelShuffle(x: Value, groups: number): Value {
    if (this.channels(x) % groups !== 0) throw new Error(`channelShuffle: ${this.channels(x)} channels, ${groups} groups`);
    return this.push({ op: 'channelShuffle', x, groups, out: this.next() }, this.shape(x));
  }

  private pool(op: 'maxPool' | 'avgPool', x: Value, o: PoolOptions): Value {
    const [n, c, h, w] = this.shape(x) as [number, number, number, number];
    const kernel = pair(o.kernel);
    const stride = pair(o.stride ?? o.kernel);
    const pads = resolvePads(o.padding ?? 0, [h, w], kernel, stride, 1);
    const oh = windowOut(h, kernel[0], stride[0], 1, pads[0], pads[2]);
    const ow = windowOut(w, kernel[1], stride[1], 1, pads[1], pads[3]);
    const node: Node = { op, x, out: this.next(), kernel, stride, pads, countIncludePad: o.countIncludePad ?? true };
    return this.push(node, [n, c, oh, ow]);
  }

  maxPool(x: Value, o: PoolOptions): Value {
    return this.pool('maxPool', x, o);
  }

  avgPool(x: Value, o: PoolOptions): Value {
    return this.pool('avgPool', x, o);
  }

  globalAvgPool(x: Value): Value {
    const [n, c] = this.shape(x) as [number, number];
    return this.push({ op: 'globalAvgPool', x, out: this.next() }, [n, c, 1, 1]);
  }

  flatten(x: Value): Value {
    const s = this.shape(x);
    return this.push({ op: 'flatten', x, out: this.next() }, [s[0]!, numel(s.slice(1))]);
  }

  finish(output: Value): RecordedGraph {
    const weights = this.opts.weights;
    if (weights) {
      const ignore = this.opts.ignoreUnused ?? (() => false);
      for (const name of weights.keys()) {
        if (!this.used.has(name) && !ALWAYS_IGNORED.test(name) && !ignore(name)) {
          this.problems.push({ name, what: 'in the file but not in the model' });
        }
      }
    }
    if (this.problems.length > 0) throw weightsMismatch(this.problems, this.opts.weightsFile);
    const [, c, h, w] = this.shapes[0] as [number, number, number, number];
    return {
      nodes: this.nodes,
      shapes: this.shapes,
      constants: this.constants,
      input: 0,
      output,
      inputShape: [c, h, w],
      params: this.params,
      macs: this.macs,
    };
  }
}

function weightsMismatch(problems: Problem[], file: string | undefined): WeightsError {
  const missing = problems.filter((p) => p.what.startsWith('missing')).length;
  const shown = problems.slice(0, 4).map((p) => `${p.name} ${p.what}`).join('; ');
  const more = problems.length > 4 ? `; and ${problems.length - 4} more` : '';
  return new WeightsError(
    `weights do not fit this architecture: ${problems.length} tensor(s) differ (${missing} missing): ${shown}${more}`,
    {
      ...(file !== undefined ? { file } : {}),
      fix: 'check that the file is for this model (see `zoo info <model>`), or pick the model that matches it',
    },
  );
}

/** Checkpoints may hold F16/BF16 (already widened by the readers) or I64; weights run as float32. */
function toFloat32(t: HostTensor): HostTensor {
  if (t.dtype === 'float32') return t;
  const src = t.data as BigInt64Array;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = Number(src[i]);
  return { dtype: 'float32', shape: t.shape, data: out };
}
