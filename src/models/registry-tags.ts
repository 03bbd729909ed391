/**
 * Pretrained tags of every architecture zoo catalogues: where the weights come from and the eval
 * config each was published with. Data only; registry.ts turns it into lookups.
 *
 * Eval configs are timm's pretrained cfgs as `validate.py` resolves them (`use_test_size=True`: a
 * tag's `test_input_size` / `test_crop_pct` win over the train-time ones), copied field by field from
 * timm (rexnet.py, resnet.py, efficientnet.py @ the commit published.csv cites), torchvision's
 * weight enums, and the official repositories' eval scripts. The helpers below mirror timm's own
 * `_cfg` / `_rcfg` / `_ttcfg` ... so a tag reads like its upstream line.
 */
import {
  IMAGENET_MEAN,
  IMAGENET_STD,
  INCEPTION_MEAN,
  INCEPTION_STD,
  type CropMode,
  type Interpolation,
} from './eval-config.js';
import type { WeightsSource } from './weights/source.js';

type Triple = readonly [number, number, number];

/** timm's pretrained cfg fields that decide the eval transform. */
export interface TimmCfg {
  inputSize: Triple;
  testInputSize?: Triple;
  cropPct: number;
  testCropPct?: number;
  interpolation: Interpolation;
  mean: Triple;
  std: Triple;
  cropMode: CropMode;
}

export interface TagSpec {
  arch: string;
  tag: string;
  weights: WeightsSource;
  cfg: TimmCfg;
  /** Where the weights were trained / released (timm's origin_url, a paper repo). */
  origin: string;
  license?: string;
  /** published.csv model names besides `arch.tag` (and bare `arch` for the default tag). */
  publishedAs?: readonly string[];
  note?: string;
}

const base = (o: Partial<TimmCfg> = {}): TimmCfg => ({
  inputSize: [3, 224, 224],
  cropPct: 0.875,
  interpolation: 'bicubic',
  mean: IMAGENET_MEAN,
  std: IMAGENET_STD,
  cropMode: 'center',
  ...o,
});

// timm/models/resnet.py cfg helpers.
const resnetCfg = (o: Partial<TimmCfg> = {}) => base({ interpolation: 'bilinear', ...o });
const ttcfg = (o: Partial<TimmCfg> = {}) =>
  resnetCfg({ interpolation: 'bicubic', testInputSize: [3, 288, 288], testCropPct: 0.95, ...o });
const rcfg = (o: Partial<TimmCfg> = {}) =>
  resnetCfg({ interpolation: 'bicubic', cropPct: 0.95, testInputSize: [3, 288, 288], testCropPct: 1.0, ...o });
const r3cfg = (o: Partial<TimmCfg> = {}) =>
  resnetCfg({
    interpolation: 'bicubic',
    inputSize: [3, 160, 160],
    cropPct: 0.95,
    testInputSize: [3, 224, 224],
    testCropPct: 0.95,
    ...o,
  });
const gcfg = (o: Partial<TimmCfg> = {}) => resnetCfg({ interpolation: 'bicubic', ...o });
const tf05 = { mean: INCEPTION_MEAN, std: INCEPTION_STD } as const;

const hf = (arch: string, tag: string): WeightsSource => ({ kind: 'hf', repo: `timm/${arch}.${tag}`, file: 'model.safetensors' });

/** torchvision URLs end in `-<first 8 hex digits of the file's SHA-256>.pth`. */
function torchvisionUrl(file: string): WeightsSource {
  const prefix = /-([0-9a-f]{8})\.pth$/.exec(file)?.[1];
  if (!prefix) throw new Error(`torchvision file name without a hash suffix: ${file}`);
  return { kind: 'url', url: `https://download.pytorch.org/models/${file}`, sha256Prefix: prefix };
}

const TIMM = 'https://github.com/huggingface/pytorch-image-models';
const TORCHVISION = 'https://github.com/pytorch/vision';

function timmTags(arch: string, origin: string, license: string, tags: Record<string, TimmCfg>): TagSpec[] {
  return Object.entries(tags).map(([tag, cfg]) => ({ arch, tag, weights: hf(arch, tag), cfg, origin, license }));
}

// ---------------------------------------------------------------- ReXNet (timm/models/rexnet.py)

const rexnetTimm: TagSpec[] = [
  ...['rexnet_100', 'rexnet_130', 'rexnet_150', 'rexnet_200', 'rexnet_300'].flatMap((arch) =>
    timmTags(arch, 'https://github.com/clovaai/rexnet', 'mit', { nav_in1k: base() }),
  ),
  ...['rexnetr_200', 'rexnetr_300'].flatMap((arch) =>
    timmTags(arch, TIMM, 'apache-2.0', {
      sw_in12k_ft_in1k: base({ cropPct: 0.95, testCropPct: 1.0, testInputSize: [3, 288, 288] }),
    }),
  ),
];

const CLOVA_README = 'https://github.com/clovaai/rexnet#pretrained';

/** clovaai/rexnet's released checkpoints (Google Drive links in its README): official naming. */
const rexnetOfficial: TagSpec[] = [
  ...(
    [
      ['1.0', 'https://drive.google.com/file/d/1xeIJ3wb83uOowU008ykYj6wDX2dsncA9/view', 'rexnet_100'],
      ['1.3', 'https://drive.google.com/file/d/1x2ziK9Oyv66Y9NsxJxXsdjzpQF2uSJj0/view', 'rexnet_130'],
      ['1.5', 'https://drive.google.com/file/d/1TOBGsbDhTHWBgqcRnyKIR0tHsJTOPUIG/view', 'rexnet_150'],
      ['2.0', 'https://drive.google.com/file/d/1R1aOTKIe1Mvck86NanqcjWnlR8DY-Z4C/view', 'rexnet_200'],
      ['3.0', 'https://drive.google.com/file/d/1chOnQPKtE1LaLz6WzSdzH55x6VlZ29sQ/view', 'rexnet_300'],
    ] as const
  ).map(
    ([w, url, timmName]): TagSpec => ({
      arch: `rexnetv1_${w}x`,
      tag: 'clova_in1k',
      weights: {
        kind: 'manual',
        url,
        instructions:
          `download ReXNet_${w} (rexnetv1_${w}x.pth) from the clovaai/rexnet README (${CLOVA_README}) and pass ` +
          `--weights rexnetv1_${w}x.pth; the same weights in timm naming download automatically as ${timmName}`,
      },
      cfg: base(),
      origin: 'https://github.com/clovaai/rexnet',
      license: 'mit',
    }),
  ),
  ...(['1.0', '1.3', '1.5', '2.0'] as const).map(
    (w): TagSpec => ({
      arch: `rexnet_lite_${w}x`,
      tag: 'clova_in1k',
      weights: {
        kind: 'manual',
        url: 'https://github.com/clovaai/rexnet',
        instructions:
          `download the ReXNet-lite_${w} checkpoint (rexnet_lite_${w}x.pth) linked from the clovaai/rexnet ` +
          `repository and pass --weights rexnet_lite_${w}x.pth`,
      },
      cfg: base(),
      origin: 'https://github.com/clovaai/rexnet',
      license: 'mit',
      note: 'the README does not state the eval transform; 224 with crop 0.875 bicubic assumed, as for ReXNet V1',
    }),
  ),
];

// ---------------------------------------------------------------- ResNeXt (timm/models/resnet.py + torchvision)

const FB_SSL = 'https://github.com/facebookresearch/semi-supervised-ImageNet1K-models';
const FB_WSL = 'https://github.com/facebookresearch/WSL-Images';
const GLUON = 'https://cv.gluon.ai/model_zoo/classification.html';
const tv2 = resnetCfg({ inputSize: [3, 176, 176], testInputSize: [3, 224, 224], testCropPct: 0.965 });

const resnextTimm: TagSpec[] = [
  ...timmTags('resnext50_32x4d', TIMM, 'apache-2.0', {
    a1h_in1k: rcfg(),
    a1_in1k: rcfg(),
    a2_in1k: rcfg(),
    a3_in1k: r3cfg(),
    ra_in1k: ttcfg(),
  }),
  ...timmTags('resnext101_64x4d', TIMM, 'apache-2.0', { c1_in1k: rcfg() }),
  ...timmTags('resnext50_32x4d', TORCHVISION, 'bsd-3-clause', { tv_in1k: resnetCfg(), tv2_in1k: tv2 }),
  ...timmTags('resnext101_32x8d', TORCHVISION, 'bsd-3-clause', { tv_in1k: resnetCfg(), tv2_in1k: tv2 }),
  ...timmTags('resnext101_64x4d', TORCHVISION, 'bsd-3-clause', { tv_in1k: resnetCfg() }),
  ...timmTags('resnext101_32x8d', FB_WSL, 'cc-by-nc-4.0', { fb_wsl_ig1b_ft_in1k: resnetCfg() }),
  ...['resnext50_32x4d', 'resnext101_32x4d', 'resnext101_32x8d'].flatMap((arch) =>
    timmTags(arch, FB_SSL, 'cc-by-nc-4.0', {
      fb_ssl_yfcc100m_ft_in1k: resnetCfg(),
      fb_swsl_ig1b_ft_in1k: resnetCfg(),
    }),
  ),
  ...['resnext50_32x4d', 'resnext101_32x4d', 'resnext101_64x4d'].flatMap((arch) =>
    timmTags(arch, GLUON, 'apache-2.0', { gluon_in1k: gcfg() }),
  ),
];

/** torchvision's own weight enums: resize R then crop 224, bilinear. crop_pct = 224 / R as timm writes it. */
const resnextTorchvision: TagSpec[] = (
  [
    ['resnext50_32x4d', 'IMAGENET1K_V1', 'resnext50_32x4d-7cdf4587.pth', 0.875],
    ['resnext50_32x4d', 'IMAGENET1K_V2', 'resnext50_32x4d-1a0047aa.pth', 0.965],
    ['resnext101_32x8d', 'IMAGENET1K_V1', 'resnext101_32x8d-8ba56ff5.pth', 0.875],
    ['resnext101_32x8d', 'IMAGENET1K_V2', 'resnext101_32x8d-110c445d.pth', 0.965],
    ['resnext101_64x4d', 'IMAGENET1K_V1', 'resnext101_64x4d-173b62eb.pth', 0.965],
  ] as const
).map(([arch, tag, file, cropPct]) => ({
  arch,
  tag,
  weights: torchvisionUrl(file),
  cfg: resnetCfg({ cropPct }),
  origin: TORCHVISION,
  license: 'bsd-3-clause',
  publishedAs: [`torchvision/${arch}.${tag}`],
}));

// ---------------------------------------------------------------- CondenseNetV2 (official converted models)

const CDNV2 = 'https://github.com/jianghaojun/CondenseNetV2';
const PPIM = 'https://github.com/AgentMaker/Paddle-Image-Models';
const cdnv2Official: Record<string, { drive: string; paddle: string; interpolation: Interpolation }> = {
  cdnv2_a: {
    drive: 'https://drive.google.com/file/d/1fhHeAGkdZnOEgv9f-IUCy_uNfc-QHcZ_/view',
    paddle:
      'https://bj.bcebos.com/v1/ai-studio-online/6ccaae861d004593977e2e3f4d3ad8c9a96e42bbb83347afb58f0d8858abc926?responseContentDisposition=attachment%3B%20filename%3Dcdnv2_a.pdparams',
    interpolation: 'bicubic',
  },
  cdnv2_b: {
    drive: 'https://drive.google.com/file/d/1xFR3GcV1tsGq4tHhPS50XCW7AMnfWs6E/view',
    paddle:
      'https://bj.bcebos.com/v1/ai-studio-online/68dbd2a319f34792ae986a0afe6a1db8a1524c0409b4407d8c4c9d699f61d865?responseContentDisposition=attachment%3B%20filename%3Dcdnv2_b.pdparams',
    interpolation: 'bicubic',
  },
  cdnv2_c: {
    drive: 'https://drive.google.com/file/d/1QaK-5KtVeK-d6ip8RMJhJ87dVmPAnWEA/view',
    paddle:
      'https://bj.bcebos.com/v1/ai-studio-online/d93f60cabe864567b7b8202e614442fbc65b8cbf7ce54b4f98746bc0072832b3?responseContentDisposition=attachment%3B%20filename%3Dcdnv2_c.pdparams',
    interpolation: 'bilinear',
  },
};

const cdnv2: TagSpec[] = Object.entries(cdnv2Official).flatMap(([arch, o]): TagSpec[] => [
  {
    arch,
    tag: 'official_in1k',
    weights: {
      kind: 'manual',
      url: o.drive,
      instructions:
        `download the CondenseNetV2-${arch.at(-1)!.toUpperCase()} checkpoint from the jianghaojun/CondenseNetV2 README ` +
        `(Google Drive or Tsinghua Cloud) and pass it as --weights FILE (the training checkpoint as released: ` +
        `its state_dict and 'module.' prefixes are handled)`,
    },
    // Official test.py: Resize(256) + CenterCrop(224); bicubic for A/B, bilinear for C.
    cfg: base({ interpolation: o.interpolation }),
    origin: CDNV2,
    license: 'mit',
    publishedAs: [arch],
  },
  {
    arch,
    tag: 'ppim_in1k',
    weights: {
      kind: 'manual',
      url: o.paddle,
      instructions: `download ${arch}.pdparams (Paddle port, linked from ${PPIM}) and pass --weights ${arch}.pdparams`,
    },
    // The Paddle port's docs (docs/en/model_zoo/cdnv2.md, beside the numbers) evaluate with the
    // other interpolation (bilinear A/B, bicubic C). ppim's cdnv2.py once returned the official
    // ones (get_transforms('bicubic') for A/B); the docs state the published numbers, so they win.
    cfg: base({ interpolation: o.interpolation === 'bicubic' ? 'bilinear' : 'bicubic' }),
    origin: PPIM,
    license: 'apache-2.0',
    publishedAs: [arch],
    note:
      'a Paddle port of the official weights; its docs evaluate with the other interpolation than official test.py ' +
      '(its code once used the official one); zoo follows the docs, which carry the numbers',
  },
]);

// ---------------------------------------------------------------- EfficientNetV2 (timm/models/efficientnet.py + torchvision)

const effTf: TagSpec[] = [
  ...timmTags('tf_efficientnetv2_s', 'https://github.com/google/automl/tree/master/efficientnetv2', 'apache-2.0', {
    in21k_ft_in1k: base({ ...tf05, inputSize: [3, 300, 300], testInputSize: [3, 384, 384], cropPct: 1.0 }),
    in1k: base({ ...tf05, inputSize: [3, 300, 300], testInputSize: [3, 384, 384], cropPct: 1.0 }),
  }),
  ...['tf_efficientnetv2_m', 'tf_efficientnetv2_l'].flatMap((arch) =>
    timmTags(arch, 'https://github.com/google/automl/tree/master/efficientnetv2', 'apache-2.0', {
      in21k_ft_in1k: base({ ...tf05, inputSize: [3, 384, 384], testInputSize: [3, 480, 480], cropPct: 1.0, cropMode: 'squash' }),
      in1k: base({ ...tf05, inputSize: [3, 384, 384], testInputSize: [3, 480, 480], cropPct: 1.0, cropMode: 'squash' }),
    }),
  ),
  ...timmTags('tf_efficientnetv2_xl', 'https://github.com/google/automl/tree/master/efficientnetv2', 'apache-2.0', {
    in21k_ft_in1k: base({ ...tf05, inputSize: [3, 384, 384], testInputSize: [3, 512, 512], cropPct: 1.0, cropMode: 'squash' }),
  }),
  ...timmTags('tf_efficientnetv2_b0', 'https://github.com/google/automl/tree/master/efficientnetv2', 'apache-2.0', {
    in1k: base({ inputSize: [3, 192, 192], testInputSize: [3, 224, 224] }),
  }),
  ...timmTags('tf_efficientnetv2_b1', 'https://github.com/google/automl/tree/master/efficientnetv2', 'apache-2.0', {
    in1k: base({ inputSize: [3, 192, 192], testInputSize: [3, 240, 240], cropPct: 0.882 }),
  }),
  ...timmTags('tf_efficientnetv2_b2', 'https://github.com/google/automl/tree/master/efficientnetv2', 'apache-2.0', {
    in1k: base({ inputSize: [3, 208, 208], testInputSize: [3, 260, 260], cropPct: 0.89 }),
  }),
  ...timmTags('tf_efficientnetv2_b3', 'https://github.com/google/automl/tree/master/efficientnetv2', 'apache-2.0', {
    in21k_ft_in1k: base({ ...tf05, inputSize: [3, 240, 240], testInputSize: [3, 300, 300], cropPct: 0.9, cropMode: 'squash' }),
    in1k: base({ inputSize: [3, 240, 240], testInputSize: [3, 300, 300], cropPct: 0.904 }),
  }),
];

const effRw: TagSpec[] = [
  ...timmTags('efficientnetv2_rw_t', TIMM, 'apache-2.0', {
    ra2_in1k: base({ inputSize: [3, 224, 224], testInputSize: [3, 288, 288], cropPct: 1.0 }),
  }),
  ...timmTags('efficientnetv2_rw_s', TIMM, 'apache-2.0', {
    ra2_in1k: base({ inputSize: [3, 288, 288], testInputSize: [3, 384, 384], cropPct: 1.0 }),
  }),
  ...timmTags('efficientnetv2_rw_m', TIMM, 'apache-2.0', {
    agc_in1k: base({ inputSize: [3, 320, 320], testInputSize: [3, 416, 416], cropPct: 1.0 }),
  }),
];

/** torchvision EfficientNet_V2_*_Weights.IMAGENET1K_V1: resize = crop = the eval size. */
const effTorchvision: TagSpec[] = (
  [
    ['efficientnet_v2_s', 'efficientnet_v2_s-dd5fe13b.pth', 384, 'bilinear', false],
    ['efficientnet_v2_m', 'efficientnet_v2_m-dc08266a.pth', 480, 'bilinear', false],
    ['efficientnet_v2_l', 'efficientnet_v2_l-59c71312.pth', 480, 'bicubic', true],
  ] as const
).map(([arch, file, size, interpolation, tfNorm]) => ({
  arch,
  tag: 'IMAGENET1K_V1',
  weights: torchvisionUrl(file),
  cfg: base({ inputSize: [3, size, size], cropPct: 1.0, interpolation, ...(tfNorm ? tf05 : {}) }),
  origin: TORCHVISION,
  license: 'bsd-3-clause',
  publishedAs: [`torchvision/${arch}.IMAGENET1K_V1`],
}));

/** The paper's numbers belong to the official TF checkpoints, which timm's `tf_` in1k tags are. */
function withPaper(specs: TagSpec[]): TagSpec[] {
  const paper: Record<string, string> = {
    'tf_efficientnetv2_s.in1k': 'efficientnetv2_s (paper)',
    'tf_efficientnetv2_m.in1k': 'efficientnetv2_m (paper)',
    'tf_efficientnetv2_l.in1k': 'efficientnetv2_l (paper)',
  };
  return specs.map((s) => {
    const extra = paper[`${s.arch}.${s.tag}`];
    return extra ? { ...s, publishedAs: [...(s.publishedAs ?? []), extra] } : s;
  });
}

/**
 * All tags. Within an architecture the first tag listed is its default, as in timm (the first tag
 * with weights in `default_cfgs` order).
 */
/**
 * Model files shipped inside the package: a real pretrained classifier that runs on a fresh machine
 * with no download (`zoo eval mobilenetv2-12-int8 --data sample`). Provenance in its SOURCE.md.
 */
const embedded: TagSpec[] = [
  {
    arch: 'mobilenetv2-12-int8',
    tag: 'onnx_model_zoo',
    weights: {
      kind: 'embedded',
      path: 'assets/models/mobilenetv2-12-int8/model.onnx',
      sha256: '83530ad811bc31d2b60a5599a21265a5057608c9b044b4ee758cc22f2309f54f',
      size: 3655640,
    },
    // ONNX Model Zoo README: resize the shorter side to 256 (224 / 0.875), centre crop 224, ImageNet
    // mean/std; it names no filter, and bilinear is what its reference preprocessing uses.
    cfg: base({ interpolation: 'bilinear' }),
    origin: 'https://github.com/onnx/models/tree/main/validated/vision/classification/mobilenet',
    license: 'apache-2.0',
    note: 'ONNX Model Zoo int8 MobileNetV2 1.0 (static QOperator, Intel Neural Compressor), shipped with zoo; the float mobilenetv2-12 publishes 69.48 / 89.26',
  },
];

export const TAG_SPECS: readonly TagSpec[] = [
  ...rexnetTimm,
  ...rexnetOfficial,
  ...resnextTimm,
  ...resnextTorchvision,
  ...cdnv2,
  ...withPaper([...effTf, ...effRw]),
  ...effTorchvision,
  ...embedded,
];
