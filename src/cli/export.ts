/** `zoo export <model> --weights F --output model.onnx`: the ONNX file the onnxruntime engine runs. */
import { Command, Option } from 'commander';
import { graphToOnnx } from '../engines/onnxruntime/lower.js';
import { refuseCollisions, resolveOutput, writeOutput } from '../io/output.js';
import { resolveModel } from '../models/registry.js';
import type { Io, Wrap } from './main.js';
import { buildGraph, readWeights } from '../run/model-source.js';
import { imgSize, weightsOptions } from './options.js';

interface ExportFlags {
  weights?: string;
  output: string;
  imgSize?: number;
  offline?: boolean;
  quiet?: boolean;
}

export function exportCommand(io: Io, wrap: Wrap): Command {
  return new Command('export')
    .description('write a model with its weights as ONNX (BatchNorm folded, dynamic batch), as the onnxruntime engine runs it')
    .argument('<model>', 'architecture or arch.tag')
    .addOption(new Option('--weights <file>', "checkpoint; default: the tag's download"))
    .addOption(new Option('--output <file.onnx>', 'where to write the model').makeOptionMandatory())
    .addOption(new Option('--img-size <n>', "input size (square); default: the tag's eval size").argParser(imgSize))
    .addOption(new Option('--offline', 'never touch the network'))
    .addOption(new Option('--quiet', 'no progress output'))
    .addHelpText('after', '\nExample:\n  zoo export rexnet_100 --weights rexnet_100.safetensors --output rexnet_100.onnx\n')
    .action(
      wrap(async (spec: string, flags: ExportFlags) => {
        const m = resolveModel(spec);
        // The output is checked before the checkpoint is read: a bad path fails at once.
        const out = await resolveOutput('--output', flags.output);
        refuseCollisions([out], flags.weights ? [{ flag: '--weights', path: flags.weights, kind: 'file' }] : []);
        const [, h, w] = m.tag.evalConfig.inputSize;
        const size = flags.imgSize ? ([flags.imgSize, flags.imgSize] as const) : ([h, w] as const);
        const { file, tensors } = await readWeights(m.tag, weightsOptions(flags));
        const graph = buildGraph(m, size, tensors, file);
        const bytes = graphToOnnx(graph);
        // Written beside the target and renamed, so a failed export never leaves half a file.
        await writeOutput(out, bytes);
        if (!flags.quiet) {
          io.stderr.write(`zoo: wrote ${flags.output} (${(bytes.length / 1e6).toFixed(1)} MB, input [N, 3, ${size[0]}, ${size[1]}], ${graph.params.toLocaleString('en-US')} params)\n`);
        }
        return 0;
      }),
    );
}
