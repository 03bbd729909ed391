/**
 * What the three walkers that turn a recorded Graph into TF.js share: the lowering that runs it
 * (lower.ts) and the graph-model and layers-model exporters (export-graph.ts, export-layers.ts).
 * Each walks the nodes in order, skipping the ones an earlier node absorbed; reads the graph's
 * constants; and starts every conv the same way, folding a following BatchNorm (when it is the
 * conv's only reader) into the conv's weights. What a node becomes is each walker's own business.
 */
import type { Graph, HostTensor, Node, ValueId } from '../../models/graph.js';
import { GraphUses } from '../../models/graph-uses.js';
import { batchNormAffine, foldBatchNorm, type Affine } from '../batchnorm.js';
import { asFloat32, graphConstant, graphF32 } from '../graph-constants.js';

export type ConvNode = Extract<Node, { op: 'conv' }>;
export type BatchNormNode = Extract<Node, { op: 'batchNorm' }>;

/** A conv with the BatchNorm after it (if any) folded in, in PyTorch's OIHW layout. */
export interface FoldedConv {
  /** The value the conv now produces: the BatchNorm's output when one was folded in. */
  readonly out: ValueId;
  /** The conv's recorded weight (its shape is [cout, cinPerGroup, kh, kw]). */
  readonly weight: HostTensor;
  readonly cout: number;
  readonly cinPerGroup: number;
  readonly cin: number;
  /** Weight and bias with the BatchNorm applied, in double precision. */
  readonly folded: { weight: Float64Array; bias: Float64Array | undefined };
}

export abstract class GraphWalker {
  /** Who reads each value (a node fuses into its producer only when it is that value's one reader). */
  protected readonly uses: GraphUses;
  /** Nodes already expressed as part of an earlier one (a BatchNorm folded into its conv, ...). */
  protected readonly absorbed = new Set<Node>();

  constructor(protected readonly graph: Graph) {
    this.uses = new GraphUses(graph);
  }

  /** `visit` on every node in graph order that no earlier node absorbed (a visit may absorb later ones). */
  protected walk(visit: (node: Node) => void): void {
    for (const node of this.graph.nodes) {
      if (!this.absorbed.has(node)) visit(node);
    }
  }

  protected constant(name: string): HostTensor {
    return graphConstant(this.graph, name);
  }

  protected f32(name: string): Float32Array {
    return graphF32(this.graph, name);
  }

  /** The single node consuming v, when v has exactly one use and is not the graph output. */
  protected soleConsumer(v: ValueId): Node | undefined {
    return this.uses.soleConsumer(v);
  }

  protected bnAffine(node: BatchNormNode): Affine {
    return batchNormAffine(this.f32(node.weight), this.f32(node.bias), this.f32(node.mean), this.f32(node.var), node.eps);
  }

  /** The conv's weights, with the BatchNorm that is its output's only reader folded in and absorbed. */
  protected convWithBatchNorm(node: ConvNode): FoldedConv {
    let out = node.out;
    let bn: Affine | undefined;
    const next = this.soleConsumer(out);
    if (next?.op === 'batchNorm') {
      bn = this.bnAffine(next);
      this.absorbed.add(next);
      out = next.out;
    }
    const weight = this.constant(node.weight);
    const [cout, cinPerGroup] = weight.shape as [number, number, number, number];
    const folded = foldBatchNorm(asFloat32(weight, node.weight), cout, node.bias !== undefined ? this.f32(node.bias) : undefined, bn);
    return { out, weight, cout, cinPerGroup, cin: cinPerGroup * node.groups, folded };
  }
}

/** PyTorch flattens C, H, W in that order: an NHWC value goes back to NCHW first, unless H*W == 1. */
export function flattenNeedsTranspose(shape: readonly number[]): boolean {
  return shape.length === 4 && shape[2]! * shape[3]! > 1;
}
