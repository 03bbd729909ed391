/**
 * Who reads each value of a Graph: what every lowering needs to fuse a node into its producer
 * (conv -> batchNorm folds only when the conv's output has that one reader).
 */
import type { Graph, Node, ValueId } from './graph.js';

export function inputsOf(node: Node): readonly ValueId[] {
  switch (node.op) {
    case 'input':
      return [];
    case 'add':
    case 'mul':
      return [node.a, node.b];
    case 'concat':
      return node.xs;
    default:
      return [node.x];
  }
}

export class GraphUses {
  private readonly uses: number[];
  private readonly consumers: Node[][];

  constructor(graph: Graph) {
    const n = graph.shapes.length;
    this.uses = new Array<number>(n).fill(0);
    this.consumers = Array.from({ length: n }, () => []);
    for (const node of graph.nodes) {
      for (const v of inputsOf(node)) {
        this.uses[v]!++;
        this.consumers[v]!.push(node);
      }
    }
    // The graph output is read by the caller.
    this.uses[graph.output]!++;
  }

  /** The single node consuming v, when v has exactly one use and is not the graph output. */
  soleConsumer(v: ValueId): Node | undefined {
    return this.uses[v] === 1 ? this.consumers[v]![0] : undefined;
  }
}
