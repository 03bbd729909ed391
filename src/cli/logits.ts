/**
 * `zoo logits <model> --weights F --input X.npy --output Y.npy`: raw NCHW float32 in, logits out.
 * No preprocessing: the input size is the array's. This is the model-parity path of the tests.
 */
import { Command, Option } from 'commander';
import { encodeNpy, readNpy } from '../data/npy.js';
import { refuseCollisions, resolveOutput, writeOutput } from '../io/output.js';
import { DataError } from '../errors.js';
import { resolveModel } from '../models/registry.js';
import type { Io, Wrap } from './main.js';
import { loadModel } from '../run/model-source.js';
import { batchSize, engineChoice, engineOptions, weightsOptions, type EngineFlags } from './options.js';
import { concatFloat32 } from '../util/concat.js';

interface LogitsFlags extends EngineFlags {
  weights?: string;
  input: string;
  output: string;
  batchSize: number;
  offline?: boolean;
  quiet?: boolean;
}

export function logitsCommand(io: Io, wrap: Wrap): Command {
  const cmd = new Command('logits')
    .description('run a model on a raw NCHW float32 .npy array (already normalised) and write its logits as .npy')
    .argument('<model>', 'architecture or arch.tag')
    .addOption(new Option('--weights <file>', 'checkpoint (.safetensors, .pth, .pth.tar, .pdparams); default: the tag\'s download'))
    .addOption(new Option('--input <file.npy>', 'float32 array [N, 3, H, W]').makeOptionMandatory())
    .addOption(new Option('--output <file.npy>', 'where to write float32 logits [N, classes]').makeOptionMandatory())
    .addOption(new Option('--batch-size <n>', 'images per engine call').argParser(batchSize).default(32))
    .addOption(new Option('--offline', 'never touch the network'))
    .addOption(new Option('--quiet', 'no progress output'));
  for (const o of engineOptions()) cmd.addOption(o);
  return cmd
    .addHelpText('after', '\nExample:\n  zoo logits rexnet_100 --weights rexnet_100.safetensors --input x.npy --output logits.npy\n')
    .action(
      wrap(async (spec: string, flags: LogitsFlags) => {
        const m = resolveModel(spec);
        const out = await resolveOutput('--output', flags.output);
        refuseCollisions(
          [out],
          [{ flag: '--input', path: flags.input, kind: 'file' }, ...(flags.weights ? [{ flag: '--weights', path: flags.weights, kind: 'file' as const }] : [])],
        );
        const x = await readNpy(flags.input);
        if (x.shape.length !== 4 || x.shape[1] !== 3 || x.shape.some((d) => d === 0)) {
          throw new DataError(`input has shape (${x.shape.join(', ')})`, {
            file: flags.input,
            expected: 'a float32 NCHW array of shape (N, 3, H, W), N, H and W at least 1',
          });
        }
        const [n, c, h, w] = x.shape as [number, number, number, number];
        const run = await loadModel(m, [h, w], { ...weightsOptions(flags), ...engineChoice(flags) });
        if (!flags.quiet) for (const note of run.notes) io.stderr.write(`zoo: note: ${note}\n`);
        try {
          const per = c * h * w;
          const chunks: Float32Array[] = [];
          for (let s = 0; s < n; s += flags.batchSize) {
            const k = Math.min(flags.batchSize, n - s);
            chunks.push(await run.model.run(x.data.subarray(s * per, (s + k) * per), k));
          }
          const logits = concatFloat32(chunks);
          const classes = n > 0 ? logits.length / n : 0;
          await writeOutput(out, encodeNpy({ shape: [n, classes], data: logits }));
          if (!flags.quiet) io.stderr.write(`zoo: wrote ${n}x${classes} logits to ${flags.output} (${run.model.backend})\n`);
        } finally {
          await run.model.dispose();
        }
        return 0;
      }),
    );
}
