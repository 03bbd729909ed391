/**
 * `--json [FILE]`, one meaning in every command: JSON to FILE, or to stdout when FILE is `-` or
 * left out. A command whose JSON goes to stdout moves its human-readable output to stderr, so
 * `zoo eval ... --json | jq` reads JSON only.
 */
import { Option } from 'commander';
import type { Io } from './main.js';
import { writeOutputFile } from '../io/output.js';
import { jsonText } from '../run/result.js';

/** What commander hands over for `--json [file]`: absent, bare (true) or a value. */
export type JsonFlag = string | true | undefined;

export function jsonOption(what: string): Option {
  return new Option('--json [file]', `write ${what} as JSON to FILE (stdout with - or no FILE)`);
}

/** True when the JSON goes to stdout. */
export function jsonToStdout(flag: JsonFlag): boolean {
  return flag === true || flag === '-';
}

/** The file the JSON goes to, or undefined (none asked, or stdout). */
export function jsonFile(flag: JsonFlag): string | undefined {
  return typeof flag === 'string' && flag !== '-' ? flag : undefined;
}

/** The output path `--json` names for src/io/output.ts (`-` for stdout), or undefined when not given. */
export function jsonPath(flag: JsonFlag): string | undefined {
  return flag === true ? '-' : flag;
}

/**
 * Writes `value` where `--json` says (nothing when it was not given): stdout through `io`, a file
 * through src/io/output.ts (atomic replace, FIFOs streamed, one-line errors).
 */
export async function writeJsonOut(flag: JsonFlag, value: unknown, io: Io): Promise<void> {
  const file = jsonFile(flag);
  if (file !== undefined) await writeOutputFile('--json', file, jsonText(value));
  else if (jsonToStdout(flag)) io.stdout.write(jsonText(value));
}

/** Where a command's human-readable output goes: stderr while stdout carries the JSON. */
export function textStream(flag: JsonFlag, io: Io): Io['stdout'] {
  return jsonToStdout(flag) ? io.stderr : io.stdout;
}
