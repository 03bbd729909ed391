/**
 * CondenseNetV2 (Yang et al., "CondenseNet V2: Sparse Feature Reactivation for Deep Networks",
 * CVPR 2021) in the *converted* form its released checkpoints take (jianghaojun/CondenseNetV2,
 * model/converted_condensenetv2.py and utils/layers.py), with the official state_dict names.
 *
 * A dense layer: learned group conv (index-select of the kept input channels, BN, act, grouped
 * 1x1, channel shuffle) -> BN, act, grouped 3x3 -> optional SE; then sparse feature reactivation
 * (SFR): BN, act, inverse shuffle, grouped 1x1 back to the layer's input width, and a 0/1 select
 * matrix that routes each output to the input channel it refreshes. The refreshed input and the
 * new features are concatenated (dense connectivity). Transitions are 2x2 average pools; the head
 * is BN, ReLU, a fixed 7x7 average pool (so 224 input only), SE, fc, hard-swish, classifier.
 */
import { UsageError, WeightsError } from '../errors.js';
import type { Architecture } from './arch.js';
import type { ActivationKind, HostTensor } from './graph.js';
import type { Ops, Value } from './ops.js';

interface CondenseNetV2Spec {
  /** Dense layers per block. */
  stages: readonly number[];
  /** Growth rate (new channels per layer) per block. */
  growth: readonly number[];
  /** group_1x1 = group_3x3 = group_trans (= condense factor) in every released model. */
  groups: number;
  fcChannels: number;
}

const BOTTLENECK = 4;
const HS_START_BLOCK = 2;
const SE_START_BLOCK = 3;
const LAST_SE_REDUCTION = 16;
/** AvgPool2d(7) of the ImageNet model: the head only fits a 7x7 map, i.e. a 224x224 input. */
const FINAL_POOL = 7;

/** A float [rows, cols] checkpoint tensor as a plain accessor. */
function floats(t: HostTensor): Float32Array | Float64Array {
  if (t.data instanceof Float32Array) return t.data;
  return Float64Array.from(t.data as BigInt64Array, Number);
}

/**
 * The channels `conv_1.index` selects (torch.index_select). A released checkpoint carries them as
 * int64; one that points outside the layer's input is corrupt, not a model we can run.
 */
function selectIndex(ops: Ops, name: string, channels: number): number[] {
  const t = ops.tensor(name, [channels]);
  const index = Array.from(t.data as ArrayLike<number | bigint>, Number);
  const bad = index.find((i) => !Number.isInteger(i) || i < 0 || i >= channels);
  if (bad !== undefined) {
    throw new WeightsError(`${name} selects channel ${bad}, but the layer has ${channels} input channels`, {
      expected: `indices in 0..${channels - 1}`,
      fix: 'the checkpoint is corrupt or not a converted CondenseNetV2; re-download it',
    });
  }
  return index;
}

/** SELayer: avg pool, Linear (no bias), ReLU, Linear (no bias), sigmoid, scale; Linears as 1x1 convs. */
function se(ops: Ops, x: Value, name: string, reduction: number): Value {
  const c = ops.channels(x);
  const hidden = Math.floor(c / reduction);
  const fc = (y: Value, i: number, out: number, inp: number): Value => {
    const w = ops.tensor(`${name}.fc.${i}.weight`, [out, inp], { learnable: true });
    const weight = ops.constant(`${name}.fc.${i}.weight`, { dtype: 'float32', shape: [out, inp, 1, 1], data: w.data });
    return ops.convWith(y, { weight, padding: 0 });
  };
  let y = ops.act(fc(ops.globalAvgPool(x), 0, hidden, c), 'relu');
  y = ops.act(fc(y, 2, c, hidden), 'sigmoid');
  return ops.mul(x, y);
}

/**
 * CondenseSFR's inverse shuffle, grouped 1x1 conv and select matrix, folded into one dense 1x1
 * conv from the `k` new features to the `cin` channels being refreshed. With ShuffleLayerTrans
 * input channel c*groups+g feeds group g's slot c, so conv output o (group g) computes
 * sum_c W[o, c] x[c*groups + g]; the matmul then gives out_j = sum_o index[o, j] conv_o.
 * Exact in real arithmetic; the sums are taken in float64 and rounded once.
 */
function sfrWeight(ops: Ops, name: string, k: number, cin: number, groups: number): string {
  const perGroupIn = k / groups;
  const perGroupOut = cin / groups;
  const w = floats(ops.tensor(`${name}.conv.weight`, [cin, perGroupIn, 1, 1], { learnable: true }));
  const index = floats(ops.tensor(`${name}.index`, [cin, cin]));
  const folded = new Float64Array(cin * k);
  for (let o = 0; o < cin; o++) {
    const g = Math.floor(o / perGroupOut);
    for (let j = 0; j < cin; j++) {
      const s = index[o * cin + j]!;
      if (s === 0) continue;
      for (let c = 0; c < perGroupIn; c++) folded[j * k + c * groups + g]! += s * w[o * perGroupIn + c]!;
    }
  }
  return ops.constant(`${name}.conv.weight:folded`, {
    dtype: 'float32',
    shape: [cin, k, 1, 1],
    data: Float32Array.from(folded),
  });
}

/** _SFR_DenseLayer: returns cat([x + sfr(new), new]). */
function denseLayer(ops: Ops, x: Value, name: string, k: number, act: ActivationKind, useSe: boolean, groups: number): Value {
  const cin = ops.channels(x);
  // conv_1 (CondenseLGC): index_select -> norm -> act -> grouped 1x1 -> ShuffleLayer.
  let h = ops.gather(x, selectIndex(ops, `${name}.conv_1.index`, cin));
  h = ops.act(ops.bn(h, `${name}.conv_1.norm`), act);
  h = ops.conv(h, `${name}.conv_1.conv`, { out: BOTTLENECK * k, kernel: 1, groups });
  h = ops.channelShuffle(h, groups);
  // conv_2 (Conv): norm -> act -> grouped 3x3.
  h = ops.act(ops.bn(h, `${name}.conv_2.norm`), act);
  h = ops.conv(h, `${name}.conv_2.conv`, { out: k, kernel: 3, padding: 1, groups });
  if (useSe) h = se(ops, h, `${name}.se`, 1);
  // sfr (CondenseSFR): norm -> act -> (inverse shuffle, grouped 1x1, select matrix) folded.
  let r = ops.act(ops.bn(h, `${name}.sfr.norm`), act);
  r = ops.convWith(r, { weight: sfrWeight(ops, `${name}.sfr`, k, cin, groups), padding: 0 });
  return ops.concat([ops.add(x, r), h]);
}

function condensenetv2(spec: CondenseNetV2Spec) {
  return (ops: Ops): Value => {
    let x = ops.conv(ops.input, 'features.init_conv', { out: 2 * spec.growth[0]!, kernel: 3, stride: 2, padding: 1 });
    spec.stages.forEach((layers, i) => {
      const act: ActivationKind = i >= HS_START_BLOCK ? 'hardSwish' : 'relu';
      for (let l = 0; l < layers; l++) {
        const name = `features.denseblock_${i + 1}.denselayer_${l + 1}`;
        x = denseLayer(ops, x, name, spec.growth[i]!, act, i >= SE_START_BLOCK, spec.groups);
      }
      if (i < spec.stages.length - 1) x = ops.avgPool(x, { kernel: 2, stride: 2 });
    });
    x = ops.act(ops.bn(x, 'features.norm_last'), 'relu');
    const [, , h, w] = ops.shape(x);
    if (h !== FINAL_POOL || w !== FINAL_POOL) {
      throw new UsageError(`CondenseNetV2's head pools a fixed ${FINAL_POOL}x${FINAL_POOL} map; this input gives ${h}x${w}`, {
        expected: 'a 224x224 input (any size whose final feature map is 7x7)',
        fix: 'evaluate at 224 (the official test.py: resize 256, crop 224)',
      });
    }
    x = ops.avgPool(x, { kernel: FINAL_POOL, stride: FINAL_POOL });
    x = se(ops, x, 'features.se_last', LAST_SE_REDUCTION);
    x = ops.act(ops.linear(ops.flatten(x), 'fc', spec.fcChannels), 'hardSwish');
    return ops.linear(x, 'classifier', 1000);
  };
}

function arch(name: string, spec: CondenseNetV2Spec): Architecture {
  return {
    name,
    family: 'condensenetv2',
    naming: 'official',
    goldenKey: `official/${name}`,
    defaultSize: [224, 224],
    forward: condensenetv2(spec),
  };
}

export const architectures: Architecture[] = [
  arch('cdnv2_a', { stages: [1, 1, 4, 6, 8], growth: [8, 8, 16, 32, 64], groups: 8, fcChannels: 828 }),
  arch('cdnv2_b', { stages: [2, 4, 6, 8, 6], growth: [6, 12, 24, 48, 96], groups: 6, fcChannels: 1024 }),
  arch('cdnv2_c', { stages: [4, 6, 8, 10, 8], growth: [8, 16, 32, 64, 128], groups: 8, fcChannels: 1024 }),
];
