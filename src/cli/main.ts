/**
 * The `zoo` program. main() never throws and never calls process.exit: it returns the exit code
 * (bin/zoo.js sets it), prints a ZooError as ONE line `zoo: <what>` on stderr without a stack, and
 * maps commander's usage errors to ExitCode.USAGE.
 */
import { Command, CommanderError } from 'commander';
import { ExitCode, ZooError } from '../errors.js';
import { benchCommand } from './bench.js';
import { evalCommand } from './eval.js';
import { exportCommand } from './export.js';
import { enginesCommand } from './engines.js';
import { infoCommand } from './info.js';
import { listCommand } from './list.js';
import { logitsCommand } from './logits.js';
import { mergeCommand } from './merge.js';

export const EXIT_CODES_HELP = `
Exit codes:
  0    success
  1    accuracy regression: the run finished below --expect-top1/--expect-top5/--baseline
  2    usage error: unknown model or tag, bad option value, missing --data
  3    data error: missing folder, no images, unlabelled files, unreadable or corrupt image
  4    weights error: missing, unreadable or hostile checkpoint, wrong architecture, failed download
  5    engine error: CUDA asked for but unavailable, engine failed to load
  70   internal error (a bug in zoo: please report it)
  130  interrupted (SIGINT/SIGTERM)
`;

/** Where commands write; main() passes the process streams, tests may pass others. */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

/** Turns a command action returning its exit code into a commander action. */
export type Wrap = <A extends unknown[]>(fn: (...args: A) => Promise<number>) => (...args: A) => Promise<void>;

export function buildProgram(io: Io, setCode: (code: number) => void): Command {
  const program = new Command('zoo');
  program
    .description('Evaluate ImageNet classifiers on ILSVRC2012 val and check them against their published accuracy.')
    .version(process.env.npm_package_version ?? '0.1.0', '-V, --version')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(`zoo: ${s.replace(/^error:\s*/, '').trim().replace(/\s*\n\s*/g, ' ')}\n`),
    })
    .addHelpText('after', EXIT_CODES_HELP);
  const wrap =
    <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
    async (...args: A) => {
      setCode(await fn(...args));
    };
  for (const make of [evalCommand, mergeCommand, listCommand, infoCommand, enginesCommand, logitsCommand, exportCommand, benchCommand]) {
    const cmd = make(io, wrap);
    // addCommand (unlike .command()) does not inherit exitOverride and the output configuration.
    cmd.copyInheritedSettings(program);
    cmd.addHelpText('after', EXIT_CODES_HELP);
    program.addCommand(cmd);
  }
  return program;
}

export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let code: number = ExitCode.OK;
  // `zoo list | head`: a closed pipe is the reader's choice, not an error worth a stack trace.
  for (const s of [io.stdout, io.stderr]) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
    });
  }
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    if (argv.length <= 2) {
      program.outputHelp({ error: true });
      return ExitCode.USAGE;
    }
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and --version end through here too, with exit code 0.
      return e.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    if (e instanceof ZooError) {
      io.stderr.write(`zoo: ${e.oneLine()}\n`);
      return e.exitCode;
    }
    const err = e as Error;
    io.stderr.write(`zoo: internal error: ${err?.stack ?? String(e)}\n`);
    return ExitCode.INTERNAL;
  }
}
