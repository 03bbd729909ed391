#!/usr/bin/python3
"""
The Python side of `zoo bench`: the same work through the reference stack, timed the same way, on
the same images and the same number of threads, so zoo's figures can be read as ratios.

  /usr/bin/python3 bench/reference.py --files LIST --count N --size 224 --crop-pct 0.875 \
      --interpolation bicubic --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 \
      --model resnext50_32x4d --threads 2 --batches 1,8,32 --seconds 5

Stages (images/s, single process; decode and preprocess on one thread, inference on --threads):
- decode: Image.open(f).convert('RGB') with the pixels loaded (what timm's dataset does);
- preprocess: decode + timm's eval transform (Resize(int(size / crop_pct), bicubic), CenterCrop,
  ToTensor, Normalize) on Pillow 9.4 + torchvision 0.14, one image at a time;
- inference: the architecture in PyTorch eager CPU under torch.inference_mode(), random weights
  (speed does not depend on their values), random input, per batch size. torchvision provides
  resnext50_32x4d and efficientnet_v2_s; rexnet_100 is not in torchvision, so this file carries a
  compact ReXNet-1.0 written after timm's rexnet.py (same layers, widths, SE and partial residual).

Prints one JSON object on stdout; errors go to stderr with a non-zero exit.
"""
import argparse
import json
import math
import sys
import time


def rate(fn, items, min_seconds):
    """fn over items, cycled until min_seconds have passed (at least one full pass): the Rate fields
    zoo's measureRate gives, images per wall-clock second and per CPU-second of the process."""
    n = 0
    start = time.perf_counter()
    cpu_start = time.process_time()
    while True:
        for it in items:
            fn(it)
            n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            cpu = time.process_time() - cpu_start
            return {'imagesPerSecond': n / elapsed, 'images': n, 'seconds': elapsed, 'cpuSeconds': cpu, 'imagesPerCpuSecond': n / cpu}


def build_rexnet(torch, width_mult=1.0):
    """ReXNet-1.0 (timm rexnet_100): stem 32, 16 LinearBottlenecks growing 16 -> 180 (+16), SE 1/12, head 1280."""
    nn = torch.nn

    def make_div(v):
        return max(1, int(v + 0.5))

    class ConvBn(nn.Sequential):
        def __init__(self, cin, cout, k=1, s=1, groups=1, act=None):
            layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
            if act is not None:
                layers.append(act())
            super().__init__(*layers)

    class SE(nn.Module):
        def __init__(self, ch, rd):
            super().__init__()
            self.fc1 = nn.Conv2d(ch, rd, 1)
            self.bn = nn.BatchNorm2d(rd)
            self.fc2 = nn.Conv2d(rd, ch, 1)

        def forward(self, x):
            s = x.mean((2, 3), keepdim=True)
            s = self.fc2(torch.relu(self.bn(self.fc1(s))))
            return x * torch.sigmoid(s)

    class Block(nn.Module):
        def __init__(self, cin, cout, exp, stride, se_ratio):
            super().__init__()
            self.use_shortcut = stride == 1 and cin <= cout
            self.cin = cin
            dw = make_div(round(cin * exp)) if exp != 1 else cin
            self.conv_exp = ConvBn(cin, dw, act=nn.SiLU) if exp != 1 else nn.Identity()
            self.conv_dw = ConvBn(dw, dw, 3, stride, groups=dw)
            self.se = SE(dw, make_div(int(dw * se_ratio))) if se_ratio > 0 else nn.Identity()
            self.act_dw = nn.ReLU6()
            self.conv_pwl = ConvBn(dw, cout)

        def forward(self, x):
            shortcut = x
            x = self.conv_pwl(self.act_dw(self.se(self.conv_dw(self.conv_exp(x)))))
            if self.use_shortcut:
                x = torch.cat([x[:, : self.cin] + shortcut, x[:, self.cin :]], dim=1)
            return x

    layers = [1, 2, 2, 3, 3, 5]
    strides = sum([[s] + [1] * (n - 1) for n, s in zip(layers, [1, 2, 2, 2, 1, 2])], [])
    exps = [1] * layers[0] + [6] * sum(layers[1:])
    depth = sum(layers)
    ses = [0.0] * (layers[0] + layers[1]) + [1 / 12] * sum(layers[2:])
    base, outs = 16.0, []
    for _ in range(depth):
        outs.append(make_div(round(base * width_mult)))
        base += 180 / depth
    blocks, cin = [ConvBn(3, 32, 3, 2, act=nn.SiLU)], 32
    for cout, exp, s, se in zip(outs, exps, strides, ses):
        blocks.append(Block(cin, cout, exp, s, se))
        cin = cout
    blocks.append(ConvBn(cin, 1280, act=nn.SiLU))
    return nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1280, 1000))


def build_model(torch, name):
    import torchvision

    if name == 'rexnet_100':
        return build_rexnet(torch), 'compact ReXNet-1.0 in bench/reference.py (not in torchvision)'
    ctor = getattr(torchvision.models, name, None)
    if ctor is None:
        return None, f'torchvision 0.14 has no {name}'
    return ctor(), f'torchvision.models.{name}'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--files', required=True, help='text file: one image path per line')
    ap.add_argument('--count', type=int, default=200, help='images per preprocessing measurement (files repeated)')
    ap.add_argument('--size', type=int, default=224)
    ap.add_argument('--crop-pct', type=float, default=0.875)
    ap.add_argument('--interpolation', default='bicubic')
    ap.add_argument('--mean', default='0.485,0.456,0.406')
    ap.add_argument('--std', default='0.229,0.224,0.225')
    ap.add_argument('--model', default='')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--batches', default='1,8,32')
    ap.add_argument('--seconds', type=float, default=5.0, help='minimum seconds per inference measurement')
    ap.add_argument('--pre-seconds', type=float, default=0.0, help='minimum seconds per decode/preprocess measurement')
    ap.add_argument('--stages', default='decode,preprocess,inference')
    args = ap.parse_args()

    import PIL
    from PIL import Image
    import torch
    import torchvision
    from torchvision import transforms

    stages = set(args.stages.split(','))
    files = [l for l in open(args.files).read().splitlines() if l]
    items = [files[i % len(files)] for i in range(args.count)]
    out = {
        'versions': {'python': sys.version.split()[0], 'torch': torch.__version__, 'torchvision': torchvision.__version__, 'pillow': PIL.__version__},
        'threads': args.threads,
        'images': len(items),
    }

    def decode(f):
        with Image.open(f) as im:
            return im.convert('RGB')

    # Decode and preprocess are measured on one core: the transforms' tensor ops single-threaded too.
    torch.set_num_threads(1)
    if 'decode' in stages:
        decode(items[0])
        out['decode'] = rate(decode, items, args.pre_seconds)

    if 'preprocess' in stages:
        interp = {'bicubic': transforms.InterpolationMode.BICUBIC, 'bilinear': transforms.InterpolationMode.BILINEAR}[args.interpolation]
        tf = transforms.Compose([
            transforms.Resize(int(math.floor(args.size / args.crop_pct)), interpolation=interp),
            transforms.CenterCrop(args.size),
            transforms.ToTensor(),
            transforms.Normalize([float(v) for v in args.mean.split(',')], [float(v) for v in args.std.split(',')]),
        ])
        pre = lambda f: tf(decode(f))
        pre(items[0])
        out['preprocess'] = rate(pre, items, args.pre_seconds)

    torch.set_num_threads(args.threads)
    if 'inference' in stages and args.model:
        model, source = build_model(torch, args.model)
        out['model'] = {'name': args.model, 'source': source}
        if model is not None:
            model.eval()
            rows = []
            for b in [int(v) for v in args.batches.split(',')]:
                x = torch.randn(b, 3, args.size, args.size)
                with torch.inference_mode():
                    model(x)  # warm-up
                    n, start = 0, time.perf_counter()
                    while True:
                        model(x)
                        n += b
                        elapsed = time.perf_counter() - start
                        if elapsed >= args.seconds and n >= 2 * b:
                            break
                rows.append({'batch': b, 'imagesPerSecond': n / elapsed, 'images': n, 'seconds': elapsed})
            out['inference'] = rows
    json.dump(out, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
