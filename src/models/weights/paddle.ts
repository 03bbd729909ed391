/**
 * Paddle checkpoints (`.pdparams`, e.g. the Paddle-Image-Models "ppim" ports) onto the upstream
 * PyTorch state_dict our family files read.
 *
 * ppim's ports keep the upstream module attribute names (ppim/models/cdnv2.py mirrors
 * CondenseNetV2's converted_condensenetv2.py, ppim/models/rexnet.py and rexnetv1.py mirror
 * clovaai/rexnet's rexnetv1.py: same Sequential positions, same `denseblock_i.denselayer_j`), so
 * only Paddle's own layer conventions differ:
 *
 * - nn.BatchNorm2D stores its statistics as `_mean` / `_variance` (PyTorch: `running_mean` /
 *   `running_var`) and has no `num_batches_tracked`;
 * - nn.Linear stores its weight as [in, out] (PyTorch: [out, in]). A square Linear (CondenseNetV2's
 *   SE with reduction 1) gives no shape hint, so every Linear weight is transposed, by kind, not by
 *   shape. In the families zoo implements every 2-D `weight` is a Linear (convs are 4-D, norms 1-D,
 *   no embeddings), so "2-D `*.weight`" identifies them.
 * - Conv2D weights ([out, in/groups, kh, kw]), biases and registered buffers (CondenseNetV2's
 *   `index` tensors) are laid out as in PyTorch and pass through unchanged.
 */
import { WeightsError } from '../../errors.js';
import type { Architecture } from '../arch.js';
import type { HostTensor } from '../graph.js';

const PADDLE_BN = /\._(mean|variance)$/;
const TORCH_BN = /(^|\.)running_(mean|var)$/;

/**
 * Whether a state dict uses Paddle's conventions. The content decides when it can (BatchNorm
 * statistics are named one way or the other); a file without any BatchNorm falls back to the
 * `.pdparams` extension, which only Paddle writes.
 */
export function isPaddleCheckpoint(weights: ReadonlyMap<string, HostTensor>, file?: string): boolean {
  let paddle = false;
  for (const name of weights.keys()) {
    if (TORCH_BN.test(name)) return false;
    if (PADDLE_BN.test(name)) paddle = true;
  }
  return paddle || (file?.toLowerCase().endsWith('.pdparams') ?? false);
}

/** [in, out] row-major -> [out, in] row-major. */
function transpose2d(t: HostTensor): HostTensor {
  const [rows, cols] = t.shape as [number, number];
  const src = t.data as Float32Array;
  const out = new Float32Array(src.length);
  for (let i = 0; i < rows; i++) for (let o = 0; o < cols; o++) out[o * rows + i] = src[i * cols + o]!;
  return { dtype: 'float32', shape: [cols, rows], data: out };
}

function upstreamName(name: string): string {
  return name.replace(PADDLE_BN, (_, stat: string) => (stat === 'mean' ? '.running_mean' : '.running_var'));
}

const isLinearWeight = (name: string, t: HostTensor): boolean =>
  t.dtype === 'float32' && t.shape.length === 2 && /(^|\.)weight$/.test(name);

/**
 * A Paddle state dict renamed and re-laid-out as the upstream PyTorch one of `arch`. Names and
 * shapes are then checked by recordGraph like any other checkpoint.
 */
export function fromPaddle(weights: ReadonlyMap<string, HostTensor>, arch: Architecture, file?: string): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  const from = new Map<string, string>();
  for (const [name, t] of weights) {
    const upstream = upstreamName(name);
    const earlier = from.get(upstream);
    if (earlier !== undefined) {
      const [a, b] = [earlier, name].sort();
      throw new WeightsError(`${a} and ${b} are both in the checkpoint (the same tensor ${upstream})`, {
        ...(file !== undefined ? { file } : {}),
        expected: "one naming: Paddle's `_mean`/`_variance` or PyTorch's `running_mean`/`running_var`",
        fix: 'save the checkpoint again from one framework',
      });
    }
    from.set(upstream, name);
    out.set(upstream, isLinearWeight(name, t) ? transpose2d(t) : t);
  }
  rejectClovaNamingForTimm(out, arch, file);
  return out;
}

/**
 * ppim's ReXNet weights (`rexnetv1_1.0x.pdparams` ...) are in clovaai's naming, which zoo runs as
 * `rexnetv1_*x`; asked to load them as timm's `rexnet_100` the recorder would list ~300 missing
 * names. Say what to run instead.
 */
function rejectClovaNamingForTimm(weights: ReadonlyMap<string, HostTensor>, arch: Architecture, file?: string): void {
  if (arch.family !== 'rexnet' || arch.naming !== 'timm') return;
  if (!weights.has('output.1.weight') || weights.has('head.fc.weight')) return;
  const m = /^rexnet_(\d)(\d)0$/.exec(arch.name);
  const official = m ? `rexnetv1_${m[1]}.${m[2]}x` : 'the rexnetv1_*x architecture of the same width';
  throw new WeightsError(`this Paddle checkpoint is a ReXNet in clovaai/rexnet naming, not timm's ${arch.name}`, {
    ...(file !== undefined ? { file } : {}),
    expected: `timm names (stem.conv, features.N.conv_dw, head.fc) for ${arch.name}`,
    fix: `run it as ${official}, e.g. \`zoo eval ${official} --weights ${file ?? 'FILE'}\` (same eval transform)`,
  });
}
