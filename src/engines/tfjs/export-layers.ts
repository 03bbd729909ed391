/**
 * A recorded Graph as a TF.js layers model: the Keras functional-model topology tfjs' save() and
 * the Keras converter write, with standard layers only (InputLayer, ZeroPadding2D, Conv2D,
 * DepthwiseConv2D, BatchNormalization, Activation, Add, Multiply, Concatenate, pooling, Flatten,
 * Dense), so any Keras-compatible loader reads it. A BatchNorm right after a convolution is folded
 * into the conv's bias, as in the graph model; asymmetric ("same") padding is a ZeroPadding2D.
 *
 * Keras has no layer for some of what the built-in families record: grouped convolutions (tfjs
 * Conv2D has no `groups`), channel slices and index gathers (channel shuffle), PyTorch's
 * hard-swish, and max pools padded with -inf. A graph using any of them is refused, naming the
 * op, before anything is written: the graph model (tfjs-graph) expresses all of them.
 */
import type { Graph, Node, ValueId } from '../../models/graph.js';
import { GraphWalker, flattenNeedsTranspose, type ConvNode } from './walker.js';
import { asFloat32 } from '../graph-constants.js';
import { toDepthwise, toHWIO, transposeLinear } from './weights.js';
import type { WeightEntry } from './save.js';

export interface KerasLayer {
  class_name: string;
  config: Record<string, unknown>;
  name: string;
  inbound_nodes: [string, number, number, Record<string, never>][][];
}

export interface TfjsLayersModel {
  readonly topology: object;
  readonly weights: readonly WeightEntry[];
}

/** Why a graph node has no standard Keras layer, or undefined when it has one. */
export function layersObstacle(graph: Graph, node: Node): string | undefined {
  switch (node.op) {
    case 'conv': {
      const w = graph.constants.get(node.weight);
      const cinPerGroup = w?.shape[1] ?? 0;
      const cin = cinPerGroup * node.groups;
      if (node.groups !== 1 && !(node.groups === cin && cinPerGroup === 1)) return `grouped convolutions (groups=${node.groups}; Keras Conv2D in TF.js has no groups)`;
      if ((node.stride[0] > 1 || node.stride[1] > 1) && (node.dilation[0] > 1 || node.dilation[1] > 1)) return 'strided dilated convolutions';
      return undefined;
    }
    case 'slice':
      return 'channel slices (no Keras layer slices channels)';
    case 'gather':
      return 'channel index selection (no Keras layer gathers channels)';
    case 'channelShuffle':
      return 'channel shuffles (no Keras layer permutes channels)';
    case 'activation':
      return node.kind === 'hardSwish' || node.kind === 'hardSigmoid' ? `PyTorch's ${node.kind} (Keras' hard_sigmoid is a different function)` : undefined;
    case 'maxPool': {
      const [t, l, b, r] = node.pads;
      return t + l + b + r > 0 ? 'max pools padded with -inf (ZeroPadding2D pads with zeros)' : undefined;
    }
    case 'avgPool': {
      const [t, l, b, r] = node.pads;
      return t + l + b + r > 0 && !node.countIncludePad ? 'average pools that exclude padding' : undefined;
    }
    default:
      return undefined;
  }
}

/** Every distinct reason the graph cannot be a layers model, in graph order. */
export function layersObstacles(graph: Graph): string[] {
  const out = new Set<string>();
  for (const node of graph.nodes) {
    const why = layersObstacle(graph, node);
    if (why) out.add(why);
  }
  return [...out];
}

const KERAS_ACTIVATION = { relu: 'relu', relu6: 'relu6', sigmoid: 'sigmoid', silu: 'swish', gelu: 'gelu' } as const;

/** Call layersObstacles first: this throws on a node it cannot express. */
export function graphToTfjsLayersModel(graph: Graph, name: string): TfjsLayersModel {
  return new LayersWriter(graph, name).write();
}

class LayersWriter extends GraphWalker {
  private readonly layers: KerasLayer[] = [];
  private readonly weights: WeightEntry[] = [];
  /** Layer producing each graph value. */
  private readonly names: string[] = [];
  private counter = 0;

  constructor(
    graph: Graph,
    private readonly modelName: string,
  ) {
    super(graph);
  }

  write(): TfjsLayersModel {
    this.walk((node) => this.emit(node));
    const topology = {
      class_name: 'Model',
      config: {
        name: this.modelName,
        layers: this.layers,
        input_layers: [['input', 0, 0]],
        output_layers: [[this.names[this.graph.output]!, 0, 0]],
      },
      keras_version: 'tfjs-layers (zoo export)',
      backend: 'tensor_flow.js',
    };
    return { topology, weights: this.weights };
  }

  private layer(className: string, base: string, inputs: readonly string[], config: Record<string, unknown>): string {
    const name = `${base}_${this.counter++}`;
    this.layers.push({
      class_name: className,
      config: { name, trainable: false, dtype: 'float32', ...config },
      name,
      inbound_nodes: inputs.length ? [inputs.map((i) => [i, 0, 0, {}] as [string, number, number, Record<string, never>])] : [],
    });
    return name;
  }

  private weight(layer: string, what: string, shape: readonly number[], data: Float32Array): void {
    this.weights.push({ name: `${layer}/${what}`, shape, dtype: 'float32', data });
  }

  private emit(node: Node): void {
    const why = layersObstacle(this.graph, node);
    if (why) throw new Error(`a layers model cannot express ${why}`);
    const at = (v: ValueId) => this.names[v]!;
    switch (node.op) {
      case 'input': {
        const [c, h, w] = this.graph.inputShape;
        const name = 'input';
        this.layers.push({ class_name: 'InputLayer', config: { batch_input_shape: [null, h, w, c], dtype: 'float32', sparse: false, name }, name, inbound_nodes: [] });
        this.names[node.out] = name;
        return;
      }
      case 'conv':
        this.conv(node);
        return;
      case 'batchNorm': {
        const name = this.layer('BatchNormalization', 'batch_normalization', [at(node.x)], { axis: -1, momentum: 0.99, epsilon: node.eps, center: true, scale: true });
        const c = this.f32(node.weight).length;
        this.weight(name, 'gamma', [c], this.f32(node.weight));
        this.weight(name, 'beta', [c], this.f32(node.bias));
        this.weight(name, 'moving_mean', [c], this.f32(node.mean));
        this.weight(name, 'moving_variance', [c], this.f32(node.var));
        this.names[node.out] = name;
        return;
      }
      case 'activation': {
        const kind = KERAS_ACTIVATION[node.kind as keyof typeof KERAS_ACTIVATION];
        this.names[node.out] = this.layer('Activation', 'activation', [at(node.x)], { activation: kind });
        return;
      }
      case 'add':
        this.names[node.out] = this.layer('Add', 'add', [at(node.a), at(node.b)], {});
        return;
      case 'mul':
        this.names[node.out] = this.layer('Multiply', 'multiply', [at(node.a), at(node.b)], {});
        return;
      case 'concat':
        this.names[node.out] = this.layer('Concatenate', 'concatenate', node.xs.map(at), { axis: -1 });
        return;
      case 'maxPool':
      case 'avgPool': {
        const [t, l, b, r] = node.pads;
        let x = at(node.x);
        if (t + l + b + r > 0) x = this.layer('ZeroPadding2D', 'zero_padding2d', [x], { padding: [[t, b], [l, r]], data_format: 'channels_last' });
        this.names[node.out] = this.layer(node.op === 'maxPool' ? 'MaxPooling2D' : 'AveragePooling2D', node.op === 'maxPool' ? 'max_pooling2d' : 'average_pooling2d', [x], {
          pool_size: [...node.kernel],
          strides: [...node.stride],
          padding: 'valid',
          data_format: 'channels_last',
        });
        return;
      }
      case 'globalAvgPool': {
        // Keras' GlobalAveragePooling2D drops H, W; the graph keeps [N, C, 1, 1].
        const c = this.graph.shapes[node.x]![1]!;
        const pooled = this.layer('GlobalAveragePooling2D', 'global_average_pooling2d', [at(node.x)], { data_format: 'channels_last' });
        this.names[node.out] = this.layer('Reshape', 'reshape', [pooled], { target_shape: [1, 1, c] });
        return;
      }
      case 'flatten': {
        const s = this.graph.shapes[node.x]!;
        let x = at(node.x);
        if (flattenNeedsTranspose(s)) x = this.layer('Permute', 'permute', [x], { dims: [3, 1, 2] });
        this.names[node.out] = this.layer('Flatten', 'flatten', [x], { data_format: 'channels_last' });
        return;
      }
      case 'linear': {
        const w = this.constant(node.weight);
        const t = transposeLinear(asFloat32(w, node.weight), w.shape);
        const name = this.layer('Dense', 'dense', [at(node.x)], { units: w.shape[0], activation: 'linear', use_bias: node.bias !== undefined });
        this.weight(name, 'kernel', t.shape, t.data);
        if (node.bias !== undefined) this.weight(name, 'bias', [w.shape[0]!], Float32Array.from(this.f32(node.bias)));
        this.names[node.out] = name;
        return;
      }
      case 'slice':
      case 'gather':
      case 'channelShuffle':
        throw new Error(`a layers model cannot express ${node.op}`);
    }
  }

  /** ZeroPadding2D (when padded) -> Conv2D / DepthwiseConv2D with a following BatchNorm folded in. */
  private conv(node: ConvNode): void {
    const { out, weight: w, cout, cin, folded } = this.convWithBatchNorm(node);
    const [kh, kw] = w.shape.slice(2) as [number, number];
    const [t, l, b, r] = node.pads;
    let x = this.names[node.x]!;
    if (t + l + b + r > 0) x = this.layer('ZeroPadding2D', 'zero_padding2d', [x], { padding: [[t, b], [l, r]], data_format: 'channels_last' });
    const common = {
      kernel_size: [kh, kw],
      strides: [...node.stride],
      padding: 'valid',
      data_format: 'channels_last',
      dilation_rate: [...node.dilation],
      activation: 'linear',
      use_bias: folded.bias !== undefined,
    };
    let name: string;
    if (node.groups === 1) {
      name = this.layer('Conv2D', 'conv2d', [x], { filters: cout, ...common });
      const f = toHWIO(folded.weight, w.shape, 0, cout);
      this.weight(name, 'kernel', f.shape, f.data);
    } else {
      name = this.layer('DepthwiseConv2D', 'depthwise_conv2d', [x], { depth_multiplier: cout / cin, ...common });
      const f = toDepthwise(folded.weight, w.shape, cin);
      this.weight(name, 'depthwise_kernel', f.shape, f.data);
    }
    if (folded.bias) this.weight(name, 'bias', [cout], Float32Array.from(folded.bias));
    this.names[out] = name;
  }
}
