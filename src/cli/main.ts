/**
 * The `zoo` program. main() never throws and never calls process.exit: it returns the exit code
 * (bin/zoo.js sets it), prints a ZooError as ONE line `zoo: <what>` on stderr without a stack, and
 * maps commander's usage errors to ExitCode.USAGE.
 */
import { Command, CommanderError } from 'commander';
import { ExitCode, ZooError } from '../errors.js';
import { benchCommand } from './bench.js';
import { cacheCommand } from './cache.js';
import { compareCommand } from './compare.js';
import { evalCommand } from './eval.js';
import { exportCommand } from './export.js';
import { enginesCommand } from './engines.js';
import { infoCommand } from './info.js';
import { listCommand } from './list.js';
import { logitsCommand } from './logits.js';
import { mergeCommand } from './merge.js';
import { reportCommand } from './html-report.js';
import { translateTimmFlags } from './timm-flags.js';

const EXIT_CODE_LINES: Record<number, string> = {
  0: 'success',
  1: 'accuracy regression: the run finished below --expect-top1/--expect-top5/--baseline',
  2: 'usage error: unknown model or tag, bad option value, missing --data',
  3: 'data error: missing folder, no images, unlabelled files, unreadable or corrupt image',
  4: 'weights error: missing, unreadable or hostile checkpoint, wrong architecture, failed download',
  5: 'engine error: CUDA asked for but unavailable, engine failed to load',
  70: 'internal error (a bug in zoo: please report it)',
  130: 'interrupted (SIGINT/SIGTERM)',
};

/** The "Exit codes" help section listing `codes` (all of them for `zoo --help`). */
export function exitCodesHelp(codes: readonly number[] = Object.keys(EXIT_CODE_LINES).map(Number)): string {
  return `\nExit codes:\n${codes.map((c) => `  ${String(c).padEnd(4)} ${EXIT_CODE_LINES[c] ?? ''}`).join('\n')}\n`;
}

/** The exit codes each subcommand can return (its help lists only these). */
const COMMAND_EXIT_CODES: Record<string, readonly number[]> = {
  eval: [0, 1, 2, 3, 4, 5, 70, 130],
  merge: [0, 2, 70],
  list: [0, 2, 70],
  info: [0, 2, 70],
  engines: [0, 2, 70],
  logits: [0, 2, 3, 4, 5, 70],
  export: [0, 2, 4, 5, 70],
  bench: [0, 2, 3, 4, 5, 70, 130],
  cache: [0, 2, 70],
};

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
    .addHelpText('after', exitCodesHelp());
  const wrap =
    <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
    async (...args: A) => {
      setCode(await fn(...args));
    };
  for (const make of [evalCommand, compareCommand, mergeCommand, listCommand, infoCommand, enginesCommand, logitsCommand, exportCommand, benchCommand, reportCommand, cacheCommand]) {
    const cmd = make(io, wrap);
    // addCommand (unlike .command()) does not inherit exitOverride and the output configuration.
    cmd.copyInheritedSettings(program);
    cmd.addHelpText('after', exitCodesHelp(COMMAND_EXIT_CODES[cmd.name()]));
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
    await program.parseAsync(translateTimmFlags(argv));
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
