/**
 * Which parity test file runs which golden model through `zoo logits` (the real path: recipe
 * .safetensors -> --weights -> process -> .npy). Each file takes its list from here by its own path,
 * and test/parity-coverage.test.ts checks that together they are exactly the keys of
 * shared/golden/models/manifest.json, each in one file. Every key runs every input its manifest entry
 * has (a_224 and b_239; CondenseNetV2 a_224 only).
 */
export const PARITY_KEYS = {
  'test/parity-rexnet.test.ts': [
    'rexnet_100',
    'rexnet_130',
    'rexnet_150',
    'rexnet_200',
    'rexnet_300',
    'rexnetr_200',
    'rexnetr_300',
    'official/rexnetv1_1.0x',
    'official/rexnet_lite_1.0x',
    'official/rexnet_lite_1.3x',
    'official/rexnet_lite_1.5x',
    'official/rexnet_lite_2.0x',
  ],
  'test/parity-resnext.test.ts': ['resnext50_32x4d'],
  'test/parity-condensenetv2.test.ts': ['official/cdnv2_a', 'official/cdnv2_b', 'official/cdnv2_c'],
  'test/parity-efficientnetv2.test.ts': [
    'tf_efficientnetv2_b0',
    'tf_efficientnetv2_b1',
    'tf_efficientnetv2_b2',
    'tf_efficientnetv2_b3',
    'efficientnetv2_rw_t',
    'efficientnetv2_rw_s',
    'tf_efficientnetv2_s',
    'torchvision/efficientnet_v2_s',
  ],
  // The big ones: run by `npm run parity` (vitest.parity.config.ts), not the main suite.
  'test/parity-big/resnext-big.test.ts': ['resnext101_32x4d', 'resnext101_32x8d', 'resnext101_64x4d'],
  'test/parity-big/efficientnetv2-big.test.ts': [
    'efficientnetv2_rw_m',
    'tf_efficientnetv2_m',
    'torchvision/efficientnet_v2_m',
    'tf_efficientnetv2_l',
    'torchvision/efficientnet_v2_l',
    'tf_efficientnetv2_xl',
  ],
} as const satisfies Record<string, readonly string[]>;

export type ParityFile = keyof typeof PARITY_KEYS;
