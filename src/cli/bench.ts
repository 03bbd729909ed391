/**
 * `zoo bench <model>`: images/s of every stage of an evaluation, measured here and now, beside the
 * Python reference (Pillow + torchvision + PyTorch eager) on the same images, config and threads:
 * decode alone and decode+preprocess on one core (exact, and the opt-in fast resize with its pixel
 * difference), the loader on 1..N worker threads, inference per engine and batch size, end to end
 * as `zoo eval` runs it (with RSS over the run), and start-up to first batch on local weights.
 * Weights are random (speed does not depend on their values); nothing is downloaded.
 */
import { availableParallelism, cpus } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { BenchOptions } from '../bench/run.js';
import { BENCH_STAGES, DEFAULT_STAGES, type BenchStage } from '../bench/stage-names.js';
import type { EngineName } from '../engines/engine.js';
import type { Io, Wrap } from './main.js';
import { batchSize, dataPaths, positiveInt, threadCount } from './options.js';
import { jsonOption, jsonPath, type JsonFlag } from './json-out.js';
import { jsonText } from '../run/result.js';
import { resolveOutput, writeOutput } from '../io/output.js';

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got '${value}'`);
  return n;
}

function list<T extends string>(allowed: readonly T[]) {
  return (value: string): T[] => {
    const parts = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    for (const p of parts) {
      if (!allowed.includes(p as T)) throw new InvalidArgumentError(`'${p}' is not one of ${allowed.join(', ')}`);
    }
    if (parts.length === 0) throw new InvalidArgumentError('expected a comma-separated list');
    return parts as T[];
  };
}

function intList(value: string): number[] {
  return value.split(',').map((s) => batchSize(s.trim()));
}

interface BenchFlags {
  data?: string[];
  count: number;
  images: number;
  seconds: number;
  batches: number[];
  batchSize: number;
  engines: EngineName[];
  threads?: number;
  workers?: number;
  stages: BenchStage[];
  sweepImages: number;
  sweepModels: number;
  sweepBatchSize: number;
  reference: boolean;
  json?: JsonFlag;
}

export function benchCommand(io: Io, wrap: Wrap): Command {
  return new Command('bench')
    .description('measure decode, preprocess, inference and end-to-end speed, side by side with Pillow/torchvision/PyTorch')
    .argument('<model>', 'architecture or arch.tag, e.g. rexnet_100')
    .addOption(new Option('--data <dir>', 'a folder of images (a val layout or plain JPEG/PNG files); repeat it or separate folders with commas; required').argParser(dataPaths))
    .addOption(new Option('--count <n>', 'images per one-core decode/preprocess measurement').argParser(positiveInt).default(200))
    .addOption(new Option('--images <n>', 'images for the memory run, a child zoo eval (the data repeated to reach it; the in-process end-to-end run uses up to 640)').argParser(positiveInt).default(2000))
    .addOption(new Option('--seconds <s>', 'minimum seconds per inference measurement').argParser(positiveNumber).default(5))
    .addOption(new Option('--batches <list>', 'inference batch sizes').argParser(intList).default([1, 8, 32], '1,8,32'))
    .addOption(new Option('-b, --batch-size <n>', 'batch size of the loader and end-to-end runs').argParser(batchSize).default(32))
    .addOption(new Option('--engines <list>', 'engines to time').argParser(list<EngineName>(['onnxruntime', 'tfjs'])).default(['onnxruntime', 'tfjs'], 'onnxruntime,tfjs'))
    .addOption(new Option('--threads <n>', 'engine threads, and the reference\'s torch threads (default: all cores)').argParser(threadCount))
    .addOption(new Option('--workers <n>', 'loader workers for end to end (default: all cores)').argParser(threadCount))
    .addOption(new Option('--stages <list>', `stages to run: ${BENCH_STAGES.join(',')}`).argParser(list(BENCH_STAGES)).default([...DEFAULT_STAGES], 'all but sweep'))
    .addOption(new Option('--sweep-images <n>', 'images per run of the sweep stage').argParser(positiveInt).default(64))
    .addOption(new Option('--sweep-models <n>', 'ReXNet tags the sweep stage evaluates (at most those sharing the model\'s crop)').argParser(positiveInt).default(12))
    .addOption(new Option('--sweep-batch-size <n>', 'batch size of every zoo eval of the sweep stage (8: the best inference batch on CPU, see the inference stage)').argParser(batchSize).default(8))
    .addOption(new Option('--no-reference', 'skip the Python reference runner'))
    .addOption(jsonOption('every figure'))
    .addHelpText('after', '\nExamples:\n  zoo bench rexnet_100 --data ./ILSVRC2012/val\n  zoo bench resnext50_32x4d --data ./val-a,./val-b --engines onnxruntime --batches 8,32 --json bench.json\n')
    .action(wrap((spec: string, flags: BenchFlags) => benchAction(spec, flags, io)));
}

async function benchAction(spec: string, flags: BenchFlags, io: Io): Promise<number> {
  const cores = availableParallelism();
  const opts: BenchOptions = {
    spec,
    data: flags.data ?? [],
    count: flags.count,
    images: flags.images,
    seconds: flags.seconds,
    batches: flags.batches,
    batchSize: flags.batchSize,
    engines: flags.engines,
    threads: flags.threads ?? cores,
    workers: flags.workers ?? cores,
    stages: flags.reference ? flags.stages : flags.stages.filter((s) => s !== 'reference'),
    sweepImages: flags.sweepImages,
    sweepModels: flags.sweepModels,
    sweepBatchSize: flags.sweepBatchSize,
    log: (line) => io.stderr.write(`zoo bench: ${line}\n`),
  };
  // A bad --json path fails now, not after minutes of measuring.
  const jsonTo = jsonPath(flags.json);
  const jsonOut = jsonTo !== undefined ? await resolveOutput('--json', jsonTo) : null;
  // The bench (and the run layer under it) loads when a bench starts, not with the CLI.
  const { runBench } = await import('../bench/run.js');
  const { renderBench } = await import('../bench/report.js');
  const result = await runBench(opts);
  result.machine.cpu = cpus()[0]?.model ?? 'cpu';
  (jsonOut?.kind === 'stdout' ? io.stderr : io.stdout).write(renderBench(result));
  if (jsonOut) await writeOutput(jsonOut, jsonText(result));
  return 0;
}
