/**
 * EfficientNetV2 (Tan & Le, "EfficientNetV2: Smaller Models and Faster Training", 2021).
 *
 * One builder, three namings of the same network:
 * - timm `tf_efficientnetv2_*`: ports of the official TF weights, so TF "same" padding and BN eps 1e-3;
 * - timm `efficientnetv2_rw_*`: Ross Wightman's own variants, PyTorch symmetric padding, BN eps 1e-5;
 * - torchvision `efficientnet_v2_{s,m,l}`: symmetric padding, BN eps 1e-3, `features.N.M.block.K` naming.
 *
 * Stages are written as rows of the paper's architecture table (Table 4). Width and depth scaling and
 * channel rounding follow timm's `_gen_efficientnetv2_*` / `_efficientnet_builder.py` exactly
 * (round_chs_fn, ceil depth scaling, make_divisible of expanded channels, SE width from the block
 * input), and torchvision's `efficientnet.py` for its naming. Dropout and drop-path are eval no-ops.
 */
import type { Architecture, Naming } from './arch.js';
import { makeDivisible, type Ops, type Padding, type Value } from './ops.js';
import { roundHalfEven } from '../util/round.js';

/**
 * Block kinds:
 * - `conv`: FusedMBConv with expansion 1 as one conv + BN + SiLU with a residual (timm ConvBnAct
 *   with skip; torchvision FusedMBConv when expanded == input channels);
 * - `fused`: FusedMBConv, k x k expansion conv then 1x1 projection (timm EdgeResidual);
 * - `mb`: MBConv, 1x1 expansion, depthwise k x k, squeeze-excite 0.25, 1x1 projection.
 */
type BlockKind = 'conv' | 'fused' | 'mb';

/** One row of the architecture table: operator, expansion, kernel, stride, channels, layers. */
type Row = readonly [op: BlockKind, expand: number, kernel: number, stride: number, channels: number, layers: number];

/** SE ratio of every MBConv in EfficientNetV2, relative to the block's input channels. */
const SE_RATIO = 0.25;

// prettier-ignore
const TABLES = {
  /** EfficientNetV2-B0 base (timm `_gen_efficientnetv2_base`; B1-B3 scale it). */
  base: [
    ['conv',  1, 3, 1,  16,  1],
    ['fused', 4, 3, 2,  32,  2],
    ['fused', 4, 3, 2,  48,  2],
    ['mb',    4, 3, 2,  96,  3],
    ['mb',    6, 3, 1, 112,  5],
    ['mb',    6, 3, 2, 192,  8],
  ],
  /** EfficientNetV2-S, paper Table 4. */
  s: [
    ['conv',  1, 3, 1,  24,  2],
    ['fused', 4, 3, 2,  48,  4],
    ['fused', 4, 3, 2,  64,  4],
    ['mb',    4, 3, 2, 128,  6],
    ['mb',    6, 3, 1, 160,  9],
    ['mb',    6, 3, 2, 256, 15],
  ],
  /**
   * timm's pre-release reading of the paper figure (`rw=True`): the first stage is a FusedMBConv
   * with expansion 1 that keeps its 1x1 projection, and the last stage is 272 wide (head 1792).
   */
  rw: [
    ['fused', 1, 3, 1,  24,  2],
    ['fused', 4, 3, 2,  48,  4],
    ['fused', 4, 3, 2,  64,  4],
    ['mb',    4, 3, 2, 128,  6],
    ['mb',    6, 3, 1, 160,  9],
    ['mb',    6, 3, 2, 272, 15],
  ],
  m: [
    ['conv',  1, 3, 1,  24,  3],
    ['fused', 4, 3, 2,  48,  5],
    ['fused', 4, 3, 2,  80,  5],
    ['mb',    4, 3, 2, 160,  7],
    ['mb',    6, 3, 1, 176, 14],
    ['mb',    6, 3, 2, 304, 18],
    ['mb',    6, 3, 1, 512,  5],
  ],
  l: [
    ['conv',  1, 3, 1,  32,  4],
    ['fused', 4, 3, 2,  64,  7],
    ['fused', 4, 3, 2,  96,  7],
    ['mb',    4, 3, 2, 192, 10],
    ['mb',    6, 3, 1, 224, 19],
    ['mb',    6, 3, 2, 384, 25],
    ['mb',    6, 3, 1, 640,  7],
  ],
  xl: [
    ['conv',  1, 3, 1,  32,  4],
    ['fused', 4, 3, 2,  64,  8],
    ['fused', 4, 3, 2,  96,  8],
    ['mb',    4, 3, 2, 192, 16],
    ['mb',    6, 3, 1, 256, 24],
    ['mb',    6, 3, 2, 512, 32],
    ['mb',    6, 3, 1, 640,  8],
  ],
} satisfies Record<string, readonly Row[]>;

interface Spec {
  table: readonly Row[];
  stem: number;
  /** Channels of the 1x1 head conv before pooling (timm num_features, torchvision last_channel). */
  head: number;
  /** Channel (width) multiplier; 1 for the table as written. */
  width?: number;
  /** Depth multiplier, one for all stages or one per stage (efficientnetv2_rw_m). */
  depth?: number | readonly number[];
  /** timm's round_limit for channel rounding: 0 for the B0-B3 family, else make_divisible's 0.9. */
  roundLimit?: number;
}

/** Upstream state_dict names of a conv followed by its BatchNorm. */
interface ConvBn {
  conv: string;
  bn: string;
}

interface MbNames {
  pw: ConvBn;
  dw: ConvBn;
  seReduce: string;
  seExpand: string;
  pwl: ConvBn;
}

/** Where each layer lives in one upstream implementation, and the few rules that differ with it. */
interface Layout {
  stem: ConvBn;
  head: (stages: number) => ConvBn;
  classifier: string;
  conv: (stage: number, block: number) => ConvBn;
  fused: (stage: number, block: number) => { exp: ConvBn; pwl: ConvBn };
  mb: (stage: number, block: number, hasPw: boolean) => MbNames;
  /** Does an MBConv whose expanded width equals its input still have the 1x1 expansion conv? */
  mbPwWhenUnexpanded: boolean;
  /** Squeeze-excite bottleneck width. */
  seChannels: (cin: number, mid: number, expand: number) => number;
  padding: Padding | undefined;
  bnEps: number;
}

function timmLayout(tf: boolean): Layout {
  const blk = (s: number, b: number) => `blocks.${s}.${b}`;
  return {
    stem: { conv: 'conv_stem', bn: 'bn1' },
    head: () => ({ conv: 'conv_head', bn: 'bn2' }),
    classifier: 'classifier',
    conv: (s, b) => ({ conv: `${blk(s, b)}.conv`, bn: `${blk(s, b)}.bn1` }),
    fused: (s, b) => ({
      exp: { conv: `${blk(s, b)}.conv_exp`, bn: `${blk(s, b)}.bn1` },
      pwl: { conv: `${blk(s, b)}.conv_pwl`, bn: `${blk(s, b)}.bn2` },
    }),
    mb: (s, b) => ({
      pw: { conv: `${blk(s, b)}.conv_pw`, bn: `${blk(s, b)}.bn1` },
      dw: { conv: `${blk(s, b)}.conv_dw`, bn: `${blk(s, b)}.bn2` },
      seReduce: `${blk(s, b)}.se.conv_reduce`,
      seExpand: `${blk(s, b)}.se.conv_expand`,
      pwl: { conv: `${blk(s, b)}.conv_pwl`, bn: `${blk(s, b)}.bn3` },
    }),
    mbPwWhenUnexpanded: true,
    // The builder divides se_ratio by the expansion (se_from_exp=False), SqueezeExcite rounds.
    seChannels: (_cin, mid, expand) => roundHalfEven(mid * (SE_RATIO / expand)),
    padding: tf ? 'same' : undefined,
    bnEps: tf ? 1e-3 : 1e-5,
  };
}

/** torchvision: features.0 stem, features.1..N stages, features.N+1 head, classifier.1 linear. */
const TORCHVISION_LAYOUT: Layout = (() => {
  const cna = (prefix: string): ConvBn => ({ conv: `${prefix}.0`, bn: `${prefix}.1` });
  const blk = (s: number, b: number, k: number) => `features.${s + 1}.${b}.block.${k}`;
  return {
    stem: cna('features.0'),
    head: (stages) => cna(`features.${stages + 1}`),
    classifier: 'classifier.1',
    conv: (s, b) => cna(blk(s, b, 0)),
    fused: (s, b) => ({ exp: cna(blk(s, b, 0)), pwl: cna(blk(s, b, 1)) }),
    mb: (s, b, hasPw) => {
      const k = hasPw ? 1 : 0;
      return {
        pw: cna(blk(s, b, 0)),
        dw: cna(blk(s, b, k)),
        seReduce: `${blk(s, b, k + 1)}.fc1`,
        seExpand: `${blk(s, b, k + 1)}.fc2`,
        pwl: cna(blk(s, b, k + 2)),
      };
    },
    mbPwWhenUnexpanded: false,
    seChannels: (cin) => Math.max(1, Math.floor(cin / 4)),
    padding: undefined,
    bnEps: 1e-3,
  };
})();

/** The forward pass for one variant in one layout. */
function efficientNetV2(spec: Spec, layout: Layout): (ops: Ops) => Value {
  const width = spec.width ?? 1;
  const roundChs = (c: number) => makeDivisible(c * width, 8, undefined, spec.roundLimit ?? 0.9);
  const depths = spec.table.map((row, i) => {
    const d = spec.depth ?? 1;
    return Math.ceil(row[5] * (typeof d === 'number' ? d : d[i]!));
  });
  const { padding, bnEps: eps } = layout;

  return (ops) => {
    const convBn = (x: Value, n: ConvBn, out: number, kernel: number, act: boolean, stride = 1, groups = 1): Value => {
      const y = ops.bn(ops.conv(x, n.conv, { out, kernel, stride, groups, ...(padding !== undefined ? { padding } : {}) }), n.bn, eps);
      return act ? ops.act(y, 'silu') : y;
    };

    let x = convBn(ops.input, layout.stem, roundChs(spec.stem), 3, true, 2);
    spec.table.forEach(([op, expand, kernel, stageStride, channels], s) => {
      const out = roundChs(channels);
      for (let b = 0; b < depths[s]!; b++) {
        const cin = ops.channels(x);
        const stride = b === 0 ? stageStride : 1;
        const shortcut = x;
        const mid = makeDivisible(cin * expand);
        if (op === 'conv') {
          x = convBn(x, layout.conv(s, b), out, kernel, true, stride);
        } else if (op === 'fused') {
          const n = layout.fused(s, b);
          x = convBn(x, n.exp, mid, kernel, true, stride);
          x = convBn(x, n.pwl, out, 1, false);
        } else {
          const hasPw = mid !== cin || layout.mbPwWhenUnexpanded;
          const n = layout.mb(s, b, hasPw);
          if (hasPw) x = convBn(x, n.pw, mid, 1, true);
          x = convBn(x, n.dw, mid, kernel, true, stride, mid);
          const rd = layout.seChannels(cin, mid, expand);
          let se = ops.globalAvgPool(x);
          se = ops.act(ops.conv(se, n.seReduce, { out: rd, kernel: 1, bias: true }), 'silu');
          se = ops.act(ops.conv(se, n.seExpand, { out: mid, kernel: 1, bias: true }), 'sigmoid');
          x = ops.mul(x, se);
          x = convBn(x, n.pwl, out, 1, false);
        }
        if (stride === 1 && cin === out) x = ops.add(x, shortcut);
      }
    });
    x = convBn(x, layout.head(spec.table.length), roundChs(spec.head), 1, true);
    x = ops.flatten(ops.globalAvgPool(x));
    return ops.linear(x, layout.classifier, 1000);
  };
}

interface Variant {
  name: string;
  naming: Naming;
  goldenKey: string;
  /** The variant's train resolution (timm pretrained cfg `input_size`, torchvision's recipe). */
  size: number;
  spec: Spec;
  layout: Layout;
}

const TF = timmLayout(true);
const RW = timmLayout(false);

// Multipliers as in timm's register functions; base B1-B3 round with round_limit 0.
const base = (width: number, depth: number): Spec => ({ table: TABLES.base, stem: 32, head: 1280, width, depth, roundLimit: 0 });
const S: Spec = { table: TABLES.s, stem: 24, head: 1280 };
const M: Spec = { table: TABLES.m, stem: 24, head: 1280 };
const L: Spec = { table: TABLES.l, stem: 32, head: 1280 };

const timm = (name: string, size: number, spec: Spec, layout: Layout): Variant => ({
  name,
  naming: 'timm',
  goldenKey: name,
  size,
  spec,
  layout,
});
const torchvision = (name: string, size: number, spec: Spec): Variant => ({
  name,
  naming: 'torchvision',
  goldenKey: `torchvision/${name}`,
  size,
  spec,
  layout: TORCHVISION_LAYOUT,
});

const VARIANTS: Variant[] = [
  timm('tf_efficientnetv2_b0', 192, base(1.0, 1.0), TF),
  timm('tf_efficientnetv2_b1', 192, base(1.0, 1.1), TF),
  timm('tf_efficientnetv2_b2', 208, base(1.1, 1.2), TF),
  timm('tf_efficientnetv2_b3', 240, base(1.2, 1.4), TF),
  timm('tf_efficientnetv2_s', 300, S, TF),
  timm('tf_efficientnetv2_m', 384, M, TF),
  timm('tf_efficientnetv2_l', 384, L, TF),
  timm('tf_efficientnetv2_xl', 384, { table: TABLES.xl, stem: 32, head: 1280 }, TF),
  // efficientnetv2_rw_t is the official S table (rw=False) scaled 0.8 wide, 0.9 deep.
  timm('efficientnetv2_rw_t', 224, { ...S, width: 0.8, depth: 0.9 }, RW),
  timm('efficientnetv2_rw_s', 288, { table: TABLES.rw, stem: 24, head: 1792 }, RW),
  timm('efficientnetv2_rw_m', 320, { table: TABLES.rw, stem: 24, head: 1792, width: 1.2, depth: [1.2, 1.2, 1.2, 1.2, 1.6, 1.6] }, RW),
  torchvision('efficientnet_v2_s', 300, S),
  torchvision('efficientnet_v2_m', 384, M),
  torchvision('efficientnet_v2_l', 384, L),
];

export const architectures: Architecture[] = VARIANTS.map((v) => ({
  name: v.name,
  family: 'efficientnetv2',
  naming: v.naming,
  goldenKey: v.goldenKey,
  defaultSize: [v.size, v.size],
  forward: efficientNetV2(v.spec, v.layout),
}));
