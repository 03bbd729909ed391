/**
 * `zoo export <model> --weights F --output model.onnx`: the ONNX file the onnxruntime engine runs;
 * `--format tfjs-graph|tfjs-layers --output DIR`: a TF.js graph or layers model (model.json + shards +
 * timm config.json).
 */
import { Command, Option } from 'commander';
import { graphToOnnx } from '../engines/onnxruntime/lower.js';
import type { WeightEntry } from '../engines/tfjs/save.js';
import { UsageError } from '../errors.js';
import { refuseCollisions, resolveOutput, writeOutput, type OutputTarget } from '../io/output.js';
import type { Graph } from '../models/graph.js';
import { resolveModel, type PretrainedTag } from '../models/registry.js';
import type { Io, Wrap } from './main.js';
import { buildGraph, readWeights } from '../run/model-source.js';
import { imgSize, weightsOptions } from './options.js';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const FORMATS = ['onnx', 'tfjs', 'tfjs-graph', 'tfjs-layers'] as const;
type Format = (typeof FORMATS)[number];

interface ExportFlags {
  weights?: string;
  output: string;
  format: Format;
  imgSize?: number;
  offline?: boolean;
  quiet?: boolean;
}

/** timm's config.json (Hugging Face form) for the exported size, so `zoo eval DIR` finds the eval config. */
function timmConfig(tag: PretrainedTag, size: readonly [number, number], classes: number): string {
  const c = tag.evalConfig;
  return `${JSON.stringify(
    {
      architecture: tag.arch,
      num_classes: classes,
      pretrained_cfg: {
        tag: tag.tag,
        input_size: [3, size[0], size[1]],
        interpolation: c.interpolation,
        crop_pct: c.cropPct,
        crop_mode: c.cropMode,
        mean: c.mean,
        std: c.std,
        num_classes: classes,
      },
    },
    null,
    2,
  )}\n`;
}

/**
 * The folder a TF.js export goes to: created when missing (its parent must exist), used when empty,
 * refused when it holds anything, since stale shards of another model beside model.json would be
 * mistaken for this one's.
 */
function checkFolder(path: string): void {
  const bad = (msg: string, fix: string) => new UsageError(msg, { file: path, fix });
  if (!existsSync(path)) {
    const parent = dirname(resolve(path));
    if (!existsSync(parent) || !statSync(parent).isDirectory()) throw bad('--output: its parent folder does not exist', 'create it first, or name a folder in an existing one');
    return;
  }
  if (!statSync(path).isDirectory()) throw bad('--output must be a folder for a TF.js export (model.json and its shards go in it)', 'name a new or empty folder');
  if (readdirSync(path).length > 0) throw bad('--output folder is not empty', 'name a new or empty folder (a TF.js export writes model.json, weight shards and config.json)');
}

async function writeTfjs(dir: string, format: 'graph-model' | 'layers-model', model: { topology: object; weights: readonly WeightEntry[] }, config: string): Promise<number> {
  const { tfjsFiles } = await import('../engines/tfjs/save.js');
  const files = tfjsFiles(format, model.topology, model.weights);
  mkdirSync(dir, { recursive: true });
  const entries: [string, string | Uint8Array][] = [['model.json', files.modelJson], ...files.shards.map((s) => [s.name, s.bytes] as [string, Uint8Array]), ['config.json', config]];
  const targets: [OutputTarget, string | Uint8Array][] = [];
  for (const [name, content] of entries) targets.push([await resolveOutput('--output', join(dir, name), { streamOk: false }), content]);
  // Shards first, model.json last: a reader never sees a model.json whose shards are not there yet.
  let bytes = 0;
  for (const [t, content] of [...targets.slice(1), targets[0]!]) {
    await writeOutput(t, content);
    bytes += typeof content === 'string' ? Buffer.byteLength(content) : content.length;
  }
  return bytes;
}

function classesOf(graph: Graph): number {
  return graph.shapes[graph.output]![1]!;
}

export function exportCommand(io: Io, wrap: Wrap): Command {
  return new Command('export')
    .description('write a model with its weights as ONNX (BatchNorm folded, dynamic batch), as the onnxruntime engine runs it, or as a TF.js graph model')
    .argument('<model>', 'architecture or arch.tag')
    .addOption(new Option('--weights <file>', "checkpoint; default: the tag's download"))
    .addOption(new Option('--output <path>', 'where to write: a .onnx file, or a new or empty folder for tfjs').makeOptionMandatory())
    .addOption(new Option('--format <format>', 'onnx, tfjs-graph (tfjs is the same) or tfjs-layers (Keras layers; not for architectures with grouped convs, channel slices or shuffles)').choices(FORMATS).default('onnx'))
    .addOption(new Option('--img-size <n>', "input size (square); default: the tag's eval size").argParser(imgSize))
    .addOption(new Option('--offline', 'never touch the network'))
    .addOption(new Option('--quiet', 'no progress output'))
    .addHelpText(
      'after',
      '\nExamples:\n  zoo export rexnet_100 --weights rexnet_100.safetensors --output rexnet_100.onnx\n  zoo export rexnet_100 --format tfjs-graph --output rexnet_100_web/\n  zoo export tf_efficientnetv2_b0 --format tfjs-layers --output effv2_b0_keras/\n',
    )
    .action(
      wrap(async (spec: string, flags: ExportFlags) => {
        const m = resolveModel(spec);
        const tfjs = flags.format !== 'onnx';
        // The output is checked before the checkpoint is read: a bad path fails at once.
        let out: OutputTarget | undefined;
        if (tfjs) checkFolder(flags.output);
        else out = await resolveOutput('--output', flags.output);
        refuseCollisions(out ? [out] : [], flags.weights ? [{ flag: '--weights', path: flags.weights, kind: 'file' }] : []);
        const [, h, w] = m.tag.evalConfig.inputSize;
        const size = flags.imgSize ? ([flags.imgSize, flags.imgSize] as const) : ([h, w] as const);
        const { file, tensors } = await readWeights(m.tag, weightsOptions(flags));
        const graph = buildGraph(m, size, tensors, file);
        let bytes: number;
        let what: string;
        if (flags.format === 'tfjs-layers') {
          // The TF.js exporters load for a TF.js export only, not with the CLI.
          const { graphToTfjsLayersModel, layersObstacles } = await import('../engines/tfjs/export-layers.js');
          const obstacles = layersObstacles(graph);
          if (obstacles.length > 0) {
            throw new UsageError(`${m.tag.arch} uses ${obstacles.join(', ')}, which a Keras layers model cannot express`, {
              fix: 'export --format tfjs-graph instead (the graph model runs every op); nothing was written',
            });
          }
          const g = graphToTfjsLayersModel(graph, m.tag.arch);
          bytes = await writeTfjs(flags.output, 'layers-model', g, timmConfig(m.tag, size, classesOf(graph)));
          what = `TF.js layers model, input [N, ${size[0]}, ${size[1]}, 3]`;
        } else if (tfjs) {
          const { graphToTfjsGraphModel } = await import('../engines/tfjs/export-graph.js');
          const g = graphToTfjsGraphModel(graph);
          bytes = await writeTfjs(flags.output, 'graph-model', g, timmConfig(m.tag, size, classesOf(graph)));
          what = `TF.js graph model, input [N, ${size[0]}, ${size[1]}, 3]`;
        } else {
          const onnx = graphToOnnx(graph);
          // Written beside the target and renamed, so a failed export never leaves half a file.
          await writeOutput(out!, onnx);
          bytes = onnx.length;
          what = `input [N, 3, ${size[0]}, ${size[1]}]`;
        }
        if (!flags.quiet) {
          io.stderr.write(`zoo: wrote ${flags.output} (${(bytes / 1e6).toFixed(1)} MB, ${what}, ${graph.params.toLocaleString('en-US')} params)\n`);
        }
        return 0;
      }),
    );
}
