#!/usr/bin/python3
"""
Golden crops for timm's eval transform with crop_mode 'border' and crop_border_pixels, made with
Pillow 9.4 (Debian python3-pil) only: there is no torch here, so the few torchvision/timm steps are
written out below on PIL images, each quoting the code it mirrors. Run from the repository root:

    /usr/bin/python3 test/reference/border_crop.py             # writes test/fixtures/border-crop/
    /usr/bin/python3 test/reference/border_crop.py --check     # reproduces shared golden centre crops first

`--check` proves the PIL pipeline is a valid reference: its centre-mode crops equal the PNGs that
timm + torchvision 0.14 made in /work/shared/golden/preprocess, byte for byte.

timm/data/transforms_factory.py, transforms_imagenet_eval:
    crop_pct = crop_pct or DEFAULT_CROP_PCT
    if isinstance(img_size, (tuple, list)):
        scale_size = tuple([math.floor(x / crop_pct) for x in img_size])
    else:
        scale_size = math.floor(img_size / crop_pct)
        scale_size = (scale_size, scale_size)
    tfl = []
    if crop_border_pixels:
        tfl += [TrimBorder(crop_border_pixels)]
    if crop_mode == 'squash':
        tfl += [transforms.Resize(scale_size, interpolation=...), transforms.CenterCrop(img_size)]
    elif crop_mode == 'border':
        fill = [round(255 * v) for v in mean]
        tfl += [ResizeKeepRatio(scale_size, interpolation=interpolation, longest=1.0),
                CenterCropOrPad(img_size, fill=fill)]
    else:
        if scale_size[0] == scale_size[1]:
            tfl += [transforms.Resize(scale_size[0], interpolation=...)]
        ...
        tfl += [transforms.CenterCrop(img_size)]
"""
import json
import math
import os
import sys

from PIL import Image, ImageOps

SAMPLES = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'shared', 'samples')
GOLDEN = os.path.join(SAMPLES, '..', 'golden', 'preprocess')
OUT = os.path.join(os.path.dirname(__file__), '..', 'fixtures', 'border-crop')
FILTERS = {'bicubic': Image.BICUBIC, 'bilinear': Image.BILINEAR}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
INCEPTION_MEAN = (0.5, 0.5, 0.5)


def load(path):
    # timm's ImageDataset: Image.open(f).convert('RGB')
    return Image.open(path).convert('RGB')


def crop(img, top, left, height, width):
    # torchvision.transforms.functional_pil.crop
    return img.crop((left, top, left + width, top + height))


def trim_border(img, border_size):
    # timm TrimBorder.forward
    w, h = img.size
    top = left = border_size
    top = min(top, h)
    left = min(left, h)
    height = max(0, h - 2 * border_size)
    width = max(0, w - 2 * border_size)
    return crop(img, top, left, height, width)


def resize_keep_ratio(img, target_size, longest, interpolation):
    # timm ResizeKeepRatio.get_params (no random scale/aspect) + F.resize(img, [h, w]) on PIL
    img_h, img_w = img.size[1], img.size[0]
    target_h, target_w = target_size
    ratio_h = img_h / target_h
    ratio_w = img_w / target_w
    ratio = max(ratio_h, ratio_w) * longest + min(ratio_h, ratio_w) * (1. - longest)
    size = [round(x * f / ratio) for x, f in zip((img_h, img_w), (1., 1.))]
    return img.resize((size[1], size[0]), FILTERS[interpolation])


def pad(img, ltrb, fill):
    # torchvision F_pil.pad, padding_mode 'constant': ImageOps.expand(img, border=padding, fill=fill)
    return ImageOps.expand(img, border=tuple(ltrb), fill=tuple(int(x) for x in fill))


def center_crop_or_pad(img, output_size, fill):
    # timm center_crop_or_pad (torchvision CenterCrop is the same with fill=0)
    crop_height, crop_width = output_size
    image_width, image_height = img.size
    if crop_width > image_width or crop_height > image_height:
        padding_ltrb = [
            (crop_width - image_width) // 2 if crop_width > image_width else 0,
            (crop_height - image_height) // 2 if crop_height > image_height else 0,
            (crop_width - image_width + 1) // 2 if crop_width > image_width else 0,
            (crop_height - image_height + 1) // 2 if crop_height > image_height else 0,
        ]
        img = pad(img, padding_ltrb, fill)
        image_width, image_height = img.size
        if crop_width == image_width and crop_height == image_height:
            return img
    crop_top = int(round((image_height - crop_height) / 2.0))
    crop_left = int(round((image_width - crop_width) / 2.0))
    return crop(img, crop_top, crop_left, crop_height, crop_width)


def resize_short(img, size, interpolation):
    # torchvision F.resize(img, size: int) on PIL: _compute_resized_output_size, then img.resize
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    return img.resize((new_w, new_h), FILTERS[interpolation])


def eval_crop(img, cfg):
    """timm transforms_imagenet_eval up to (not including) ToTensor, on a PIL RGB image."""
    img_size = tuple(cfg['input_size'][1:])
    crop_pct = cfg['crop_pct']
    scale_size = tuple([math.floor(x / crop_pct) for x in img_size])
    border = cfg.get('crop_border_pixels', 0)
    if border:
        img = trim_border(img, border)
    mode = cfg['crop_mode']
    if mode == 'squash':
        img = img.resize((scale_size[1], scale_size[0]), FILTERS[cfg['interpolation']])
        return center_crop_or_pad(img, img_size, (0, 0, 0))
    if mode == 'border':
        fill = [round(255 * v) for v in cfg['mean']]
        img = resize_keep_ratio(img, scale_size, 1.0, cfg['interpolation'])
        return center_crop_or_pad(img, img_size, fill)
    assert scale_size[0] == scale_size[1], 'centre mode with a non-square size is not covered here'
    img = resize_short(img, scale_size[0], cfg['interpolation'])
    return center_crop_or_pad(img, img_size, (0, 0, 0))


def config(size, interpolation, crop_pct, mode, border, mean=IMAGENET_MEAN):
    return {'input_size': [3, *size], 'interpolation': interpolation, 'crop_pct': crop_pct, 'crop_mode': mode,
            'crop_border_pixels': border, 'mean': list(mean), 'std': [0.229, 0.224, 0.225]}


IMAGES = [
    'val-originals/ILSVRC2012_val_00000666.JPEG',  # portrait 375x500
    'val-originals/ILSVRC2012_val_00006666.JPEG',  # landscape 500x368
    'edge/tiny.JPEG',  # 60x45: enlarged
    'edge/gray.JPEG',  # L
    'edge/cmyk.JPEG',  # CMYK
    'edge/wide.JPEG',  # 1200x150: a long side that leaves a thin strip
]
CONFIGS = {
    'border-224-bicubic-0.875': config((224, 224), 'bicubic', 0.875, 'border', 0),
    'border-96-bilinear-1.0-inception': config((96, 96), 'bilinear', 1.0, 'border', 0, INCEPTION_MEAN),
    'border-64x96-bicubic-0.875-trim3': config((64, 96), 'bicubic', 0.875, 'border', 3),
    'border-80x56-bilinear-0.95-trim7': config((80, 56), 'bilinear', 0.95, 'border', 7),
    'center-96-bicubic-0.875-trim2': config((96, 96), 'bicubic', 0.875, 'center', 2),
    'squash-72-bilinear-0.9-trim5': config((72, 72), 'bilinear', 0.9, 'squash', 5),
}
# The 224 config only on the portrait photo (its PNG is the large one).
ONLY = {'border-224-bicubic-0.875': IMAGES[:1]}


def check_golden():
    manifest = json.load(open(os.path.join(GOLDEN, 'manifest.json')))
    checked = 0
    for image in ['val-originals/ILSVRC2012_val_00000666.JPEG', 'edge/cmyk.JPEG', 'edge/tiny.JPEG']:
        for name, ref in manifest['images'][image].items():
            cfg = manifest['configs'][name]
            got = eval_crop(load(os.path.join(SAMPLES, image)), cfg)
            want = Image.open(os.path.join(GOLDEN, ref['reference'])).convert('RGB')
            if got.size != want.size or got.tobytes() != want.tobytes():
                sys.exit(f'MISMATCH {image} {name}')
            checked += 1
    print(f'{checked} golden centre/squash crops reproduced byte for byte')


def main():
    if '--check' in sys.argv:
        check_golden()
    os.makedirs(OUT, exist_ok=True)
    entries = []
    for name, cfg in CONFIGS.items():
        for image in ONLY.get(name, IMAGES):
            out = eval_crop(load(os.path.join(SAMPLES, image)), cfg)
            png = f"{image.replace('/', '__').rsplit('.', 1)[0]}__{name}.png"
            out.save(os.path.join(OUT, png), optimize=True)
            entries.append({'image': image, 'config': name, 'reference': png, 'size': [out.size[1], out.size[0]]})
    json.dump({'configs': CONFIGS, 'crops': entries}, open(os.path.join(OUT, 'manifest.json'), 'w'), indent=1)
    print(f'{len(entries)} crops in {os.path.relpath(OUT)}')


main()
