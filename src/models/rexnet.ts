/**
 * ReXNet (Han et al., "Rethinking Channel Dimensions for Efficient Model Design", CVPR 2021,
 * arXiv 2007.00992) and ReXNet-lite, from one description in three namings:
 *
 * - timm `rexnet_*` / `rexnetr_*` (timm/models/rexnet.py; `r` = channels rounded to 8 or 16),
 * - clovaai/rexnet `rexnetv1.py` (`rexnetv1_*x`),
 * - clovaai/rexnet `rexnetv1_lite.py` (`rexnet_lite_*x`: no SE, ReLU6 throughout, a wider head).
 *
 * A network is a Plan (the paper's Table: channels per block) plus a Naming (where each layer's
 * weights live in that upstream state_dict); `forward` runs any plan under any naming.
 */
import type { Architecture } from './arch.js';
import type { ActivationKind } from './graph.js';
import { makeDivisible, type Ops, type Value } from './ops.js';
import { roundHalfEven } from '../util/round.js';

// ---- the architecture table --------------------------------------------------------------------

/**
 * Paper Table 1: six stages of inverted-residual ("linear bottleneck") blocks. Unlike MobileNetV2,
 * output channels do not step per stage: they grow linearly over all 16 blocks, from 16 to
 * 16 + 180 (v1) or 16 + 164 (lite), times the width multiplier.
 */
const STAGES = [
  { blocks: 1, stride: 1, expand: 1, se: false },
  { blocks: 2, stride: 2, expand: 6, se: false },
  { blocks: 2, stride: 2, expand: 6, se: true },
  { blocks: 3, stride: 2, expand: 6, se: true },
  { blocks: 3, stride: 1, expand: 6, se: true },
  { blocks: 5, stride: 2, expand: 6, se: true },
] as const;

interface BlockPlan {
  in: number;
  out: number;
  /** Channels of the depthwise conv: `in` when the block has no expansion conv. */
  mid: number;
  stride: number;
  /** SE bottleneck channels, 0 for no SE. */
  se: number;
}

interface Plan {
  stem: number;
  blocks: BlockPlan[];
  /** The 1x1 conv before pooling. */
  pen: number;
  /** Activation of the stem, expansion and penultimate convs (swish in v1, ReLU6 in lite). */
  act: ActivationKind;
}

/** Block i's stride, expansion and SE flag, in order over all stages. */
function blockRows(): { stride: number; expand: number; se: boolean }[] {
  return STAGES.flatMap((s) =>
    Array.from({ length: s.blocks }, (_, i) => ({ stride: i === 0 ? s.stride : 1, expand: s.expand, se: s.se })),
  );
}

/**
 * ReXNet v1 (timm and official). `chDiv` > 1 rounds channels to a multiple (timm's rexnetr).
 * The SE width is `mid / 12`: timm computes int(mid * (1/12)), the official code mid // 12;
 * `seWidth` says which, to stay bit-exact with each upstream's float arithmetic.
 */
function v1Plan(width: number, chDiv: number, seWidth: (mid: number) => number): Plan {
  const round = (v: number) => makeDivisible(roundHalfEven(v), chDiv);
  const rows = blockRows();
  let base = 16;
  let prev = round(32 * width);
  const stem = prev;
  const blocks = rows.map((r) => {
    const out = round(base * width);
    base += 180 / rows.length;
    const mid = r.expand === 1 ? prev : round(prev * r.expand);
    const block = { in: prev, out, mid, stride: r.stride, se: r.se ? seWidth(mid) : 0 };
    prev = out;
    return block;
  });
  return { stem, blocks, pen: makeDivisible(1280 * width, chDiv), act: 'silu' };
}

/** ReXNet-lite: channels rounded to 8, growth spread over n-1 steps, no SE, ReLU6 everywhere. */
function litePlan(width: number): Plan {
  const round = (v: number) => makeDivisible(roundHalfEven(v), 8);
  const rows = blockRows();
  let base = 16;
  let prev = round(32 * width);
  const stem = prev;
  const blocks = rows.map((r, i) => {
    if (i > 0) base += 164 / (rows.length - 1);
    const out = round(base * width);
    const block = { in: prev, out, mid: prev * r.expand, stride: r.stride, se: 0 };
    prev = out;
    return block;
  });
  return { stem, blocks, pen: width > 1 ? Math.trunc(1280 * width) : 1280, act: 'relu6' };
}

// ---- where the weights live ----------------------------------------------------------------------

interface ConvBn {
  conv: string;
  bn: string;
}

interface BlockNames {
  exp?: ConvBn;
  dw: ConvBn;
  se?: { fc1: string; bn: string; fc2: string };
  pwl: ConvBn;
}

type Head =
  /** timm: pool, flatten, nn.Linear. */
  | { kind: 'linear'; fc: string }
  /** official v1: pool, 1x1 conv with bias. */
  | { kind: 'conv'; fc: string }
  /** official lite: pool, 1x1 conv to 1024, BN, ReLU6, 1x1 conv. */
  | { kind: 'lite'; hidden: ConvBn & { bias: true }; fc: string };

interface Naming {
  stem: ConvBn;
  block(i: number, b: BlockPlan): BlockNames;
  pen: ConvBn;
  head: Head;
}

/** timm: modules named by role. */
function timmNaming(blocks: number): Naming {
  const convBn = (p: string): ConvBn => ({ conv: `${p}.conv`, bn: `${p}.bn` });
  return {
    stem: convBn('stem'),
    block: (i, b) => {
      const p = `features.${i}`;
      return {
        ...(b.mid !== b.in ? { exp: convBn(`${p}.conv_exp`) } : {}),
        dw: convBn(`${p}.conv_dw`),
        ...(b.se > 0 ? { se: { fc1: `${p}.se.fc1`, bn: `${p}.se.bn`, fc2: `${p}.se.fc2` } } : {}),
        pwl: convBn(`${p}.conv_pwl`),
      };
    },
    pen: convBn(`features.${blocks}`),
    head: { kind: 'linear', fc: 'head.fc' },
  };
}

/**
 * clovaai: everything is an nn.Sequential, so a layer's name is its position, and activations
 * (which have no weights) still take a position. `seq` hands out positions in module order.
 */
function seq(prefix: string): { layer(): string; convBn(): ConvBn; skip(): void } {
  let i = 0;
  const layer = () => `${prefix}.${i++}`;
  return {
    layer,
    convBn: () => ({ conv: layer(), bn: layer() }),
    skip: () => {
      i++;
    },
  };
}

function officialNaming(blocks: number, lite: boolean): Naming {
  return {
    stem: { conv: 'features.0', bn: 'features.1' }, // features.2: activation
    block: (i, b) => {
      const s = seq(`features.${i + 3}.out`);
      const exp = b.mid !== b.in ? s.convBn() : undefined;
      if (exp) s.skip(); // swish (v1) / relu6 (lite)
      const dw = s.convBn();
      const se = b.se > 0 ? s.layer() : undefined; // SE.fc = [conv, bn, relu, conv, sigmoid]
      s.skip(); // relu6
      const pwl = s.convBn();
      return {
        ...(exp ? { exp } : {}),
        dw,
        ...(se !== undefined ? { se: { fc1: `${se}.fc.0`, bn: `${se}.fc.1`, fc2: `${se}.fc.3` } } : {}),
        pwl,
      };
    },
    pen: { conv: `features.${blocks + 3}`, bn: `features.${blocks + 4}` },
    head: lite
      ? { kind: 'lite', hidden: { conv: 'output.0', bn: 'output.1', bias: true }, fc: 'output.4' } // .3: dropout
      : { kind: 'conv', fc: 'output.1' }, // output.0: dropout
  };
}

// ---- the forward pass ------------------------------------------------------------------------------

function convBn(ops: Ops, x: Value, n: ConvBn, out: number, o: { kernel?: number; stride?: number; groups?: number } = {}): Value {
  const y = ops.conv(x, n.conv, { out, kernel: o.kernel ?? 1, stride: o.stride ?? 1, groups: o.groups ?? 1 });
  return ops.bn(y, n.bn);
}

function block(ops: Ops, x: Value, b: BlockPlan, n: BlockNames, act: ActivationKind): Value {
  const shortcut = x;
  if (n.exp) x = ops.act(convBn(ops, x, n.exp, b.mid), act);
  x = convBn(ops, x, n.dw, b.mid, { kernel: 3, stride: b.stride, groups: b.mid });
  if (n.se) {
    let s = ops.conv(ops.globalAvgPool(x), n.se.fc1, { out: b.se, kernel: 1, bias: true });
    s = ops.act(ops.bn(s, n.se.bn), 'relu');
    s = ops.act(ops.conv(s, n.se.fc2, { out: b.mid, kernel: 1, bias: true }), 'sigmoid');
    x = ops.mul(x, s);
  }
  x = convBn(ops, ops.act(x, 'relu6'), n.pwl, b.out);
  // The residual covers only the first `in` channels; the block's new channels pass through.
  if (b.stride !== 1 || b.in > b.out) return x;
  const sum = ops.add(b.in === b.out ? x : ops.slice(x, 0, b.in), shortcut);
  return b.in === b.out ? sum : ops.concat([sum, ops.slice(x, b.in, b.out)]);
}

function forward(plan: Plan, naming: Naming, ops: Ops): Value {
  let x = ops.act(convBn(ops, ops.input, naming.stem, plan.stem, { kernel: 3, stride: 2 }), plan.act);
  plan.blocks.forEach((b, i) => {
    x = block(ops, x, b, naming.block(i, b), plan.act);
  });
  x = ops.globalAvgPool(ops.act(convBn(ops, x, naming.pen, plan.pen), plan.act));
  const h = naming.head;
  switch (h.kind) {
    case 'linear':
      return ops.linear(ops.flatten(x), h.fc, CLASSES);
    case 'conv':
      return ops.flatten(ops.conv(x, h.fc, { out: CLASSES, kernel: 1, bias: true }));
    case 'lite': {
      const hidden = ops.conv(x, h.hidden.conv, { out: 1024, kernel: 1, bias: true });
      x = ops.act(ops.bn(hidden, h.hidden.bn), 'relu6');
      return ops.flatten(ops.conv(x, h.fc, { out: CLASSES, kernel: 1, bias: true }));
    }
  }
}

const CLASSES = 1000;

// ---- the variants --------------------------------------------------------------------------------

function arch(name: string, naming: Architecture['naming'], plan: Plan, names: Naming, goldenKey?: string): Architecture {
  return {
    name,
    family: 'rexnet',
    naming,
    ...(goldenKey !== undefined ? { goldenKey } : {}),
    defaultSize: [224, 224],
    forward: (ops) => forward(plan, names, ops),
  };
}

const timm = (name: string, width: number, chDiv = 1): Architecture => {
  const plan = v1Plan(width, chDiv, (mid) => makeDivisible(Math.trunc(mid * (1 / 12)), chDiv));
  return arch(name, 'timm', plan, timmNaming(plan.blocks.length), name);
};

const official = (width: string, goldenKey?: string): Architecture => {
  const plan = v1Plan(Number(width), 1, (mid) => Math.floor(mid / 12));
  return arch(`rexnetv1_${width}x`, 'official', plan, officialNaming(plan.blocks.length, false), goldenKey);
};

const lite = (width: string): Architecture => {
  const plan = litePlan(Number(width));
  const name = `rexnet_lite_${width}x`;
  return arch(name, 'official', plan, officialNaming(plan.blocks.length, true), `official/${name}`);
};

export const architectures: Architecture[] = [
  timm('rexnet_100', 1.0),
  timm('rexnet_130', 1.3),
  timm('rexnet_150', 1.5),
  timm('rexnet_200', 2.0),
  timm('rexnet_300', 3.0),
  timm('rexnetr_200', 2.0, 8),
  timm('rexnetr_300', 3.0, 16),
  official('1.0', 'official/rexnetv1_1.0x'),
  official('1.3'),
  official('1.5'),
  official('2.0'),
  official('3.0'),
  lite('1.0'),
  lite('1.3'),
  lite('1.5'),
  lite('2.0'),
];
