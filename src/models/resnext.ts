/**
 * ResNeXt (Xie et al., "Aggregated Residual Transformations for Deep Neural Networks", 2017), as
 * torchvision and timm build it (their state_dict names are identical): the ResNet-50/101 layout
 * with bottlenecks whose 3x3 conv is grouped into `cardinality` paths of `baseWidth` channels
 * (scaled by the stage), stride on the 3x3 ("ResNet v1.5"), 7x7 stem with a 3x3/2 max pool.
 */
import type { Architecture } from './arch.js';
import type { Ops, Value } from './ops.js';

interface ResNeXtSpec {
  /** Bottlenecks per stage (conv2..conv5 of the paper's Table 1). */
  depths: readonly [number, number, number, number];
  cardinality: number;
  /** Width of one group at the first stage (the "d" of "32x4d"). */
  baseWidth: number;
}

const EXPANSION = 4;
const STAGE_PLANES = [64, 128, 256, 512] as const;

/** torchvision's Bottleneck: 1x1 -> grouped 3x3 (stride) -> 1x1 x4, projection when shape changes. */
function bottleneck(ops: Ops, x: Value, name: string, planes: number, stride: number, spec: ResNeXtSpec): Value {
  const width = Math.floor(planes * (spec.baseWidth / 64)) * spec.cardinality;
  const out = planes * EXPANSION;
  let y = ops.act(ops.bn(ops.conv(x, `${name}.conv1`, { out: width, kernel: 1 }), `${name}.bn1`), 'relu');
  y = ops.conv(y, `${name}.conv2`, { out: width, kernel: 3, stride, groups: spec.cardinality });
  y = ops.act(ops.bn(y, `${name}.bn2`), 'relu');
  y = ops.bn(ops.conv(y, `${name}.conv3`, { out, kernel: 1 }), `${name}.bn3`);
  const shortcut =
    stride !== 1 || ops.channels(x) !== out
      ? ops.bn(ops.conv(x, `${name}.downsample.0`, { out, kernel: 1, stride }), `${name}.downsample.1`)
      : x;
  return ops.act(ops.add(y, shortcut), 'relu');
}

function resnext(spec: ResNeXtSpec) {
  return (ops: Ops): Value => {
    let x = ops.conv(ops.input, 'conv1', { out: 64, kernel: 7, stride: 2, padding: 3 });
    x = ops.act(ops.bn(x, 'bn1'), 'relu');
    x = ops.maxPool(x, { kernel: 3, stride: 2, padding: 1 });
    spec.depths.forEach((depth, stage) => {
      for (let i = 0; i < depth; i++) {
        const stride = i === 0 && stage > 0 ? 2 : 1;
        x = bottleneck(ops, x, `layer${stage + 1}.${i}`, STAGE_PLANES[stage]!, stride, spec);
      }
    });
    return ops.linear(ops.flatten(ops.globalAvgPool(x)), 'fc', 1000);
  };
}

function arch(name: string, spec: ResNeXtSpec): Architecture {
  return { name, family: 'resnext', naming: 'timm', goldenKey: name, defaultSize: [224, 224], forward: resnext(spec) };
}

export const architectures: Architecture[] = [
  arch('resnext50_32x4d', { depths: [3, 4, 6, 3], cardinality: 32, baseWidth: 4 }),
  arch('resnext101_32x4d', { depths: [3, 4, 23, 3], cardinality: 32, baseWidth: 4 }),
  arch('resnext101_32x8d', { depths: [3, 4, 23, 3], cardinality: 32, baseWidth: 8 }),
  arch('resnext101_64x4d', { depths: [3, 4, 23, 3], cardinality: 64, baseWidth: 4 }),
];
