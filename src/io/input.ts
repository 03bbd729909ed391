/**
 * Every file a user names as an input that zoo reads whole (--baseline, --labels, --class-map,
 * --valid-labels, --baseline-predictions, --real-labels, --models-file, a --resume state, a model file's config.json, the files of zoo merge,
 * zoo compare and zoo report) is read here. Only regular files are inputs, and only up to a bound:
 *
 *  - a FIFO would block the read forever, and Node cannot exit while a read is stuck in its thread
 *    pool; it is opened with O_NONBLOCK (so the open itself cannot wait for a writer) and refused;
 *  - /dev/zero or /dev/urandom would be read without end; devices, sockets and folders are refused;
 *  - a regular file larger than `maxBytes` is refused before it is read (and the read stops at the
 *    bound should the file grow meanwhile).
 *
 * Each refusal is one line naming the file, what it is and the fix, with the caller's exit code
 * (USAGE for files that are options, DATA for data lists; see README "Exit codes").
 */
import { constants, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { fileKind } from './file-kind.js';
import { errnoWords, ExitCode, ZooError, type ExitCodeValue, type ZooErrorDetails } from '../errors.js';

export interface InputOptions {
  /** What the file is, for messages: `--baseline`, `the candidate`, `--labels`. */
  what: string;
  /** The largest file accepted. */
  maxBytes: number;
  /** The exit code of a refusal (default USAGE). */
  exitCode?: ExitCodeValue;
  /** What the user can do about an unreadable file (default: "check the path"). */
  fix?: string;
}

const MIB = 1024 * 1024;
/** The bound on a result, state, shard or predictions file (a full val run's is a few MiB). */
export const RESULT_MAX_BYTES = 256 * MIB;
/** The bound on a list: labels, class map, valid labels, ReaL labels (ImageNet's are under 2 MiB). */
export const LIST_MAX_BYTES = 64 * MIB;

/** A refused input; `errno` is set when the file could not be opened or read (ENOENT, EACCES, ...). */
export class InputError extends ZooError {
  constructor(
    exitCode: ExitCodeValue,
    message: string,
    details: ZooErrorDetails,
    readonly errno?: string,
  ) {
    super(exitCode, message, details);
  }
}

const codeOf = (e: unknown) => (e as NodeJS.ErrnoException).code ?? String(e);

function refuse(file: string, opts: InputOptions, what: string, fix: string): InputError {
  return new InputError(opts.exitCode ?? ExitCode.USAGE, `${opts.what} ${what}`, { file, fix });
}

function unreadable(file: string, opts: InputOptions, e: unknown): InputError {
  const errno = codeOf(e);
  return new InputError(opts.exitCode ?? ExitCode.USAGE, `cannot read ${opts.what}: ${errnoWords(e)}`, { file, fix: opts.fix ?? 'check the path' }, errno);
}

/** The reason `st` is not an acceptable input, or null. */
function check(file: string, st: Stats, opts: InputOptions): InputError | null {
  if (!st.isFile()) {
    const fix = st.isDirectory() ? 'name a file, not a folder' : 'save the content to a regular file and name that file';
    return refuse(file, opts, `is ${fileKind(st)}, not a regular file`, fix);
  }
  if (st.size > opts.maxBytes) {
    return refuse(file, opts, `is ${st.size} bytes, more than the ${opts.maxBytes} such a file can hold`, 'name the right file');
  }
  return null;
}

/**
 * `buf` with room after its first `n` bytes: a file that grew while read gets a larger buffer, up
 * to the bound, past which it is refused.
 */
function roomAfter(buf: Buffer, n: number, file: string, opts: InputOptions): Buffer {
  if (n > opts.maxBytes) throw refuse(file, opts, `grew past the ${opts.maxBytes} bytes such a file can hold`, 'name the right file');
  if (n < buf.length) return buf;
  const bigger = Buffer.alloc(Math.min(buf.length * 2, opts.maxBytes + 1));
  buf.copy(bigger, 0, 0, n);
  return bigger;
}

// O_NONBLOCK: opening a FIFO without a writer returns at once (and is refused after fstat); a
// regular file ignores the flag.
const FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** The bytes of a regular input file of at most `opts.maxBytes`; a ZooError otherwise. */
export async function readInputFile(file: string, opts: InputOptions): Promise<Buffer> {
  let fh;
  try {
    fh = await open(file, FLAGS);
  } catch (e) {
    throw unreadable(file, opts, e);
  }
  try {
    const st = await fh.stat();
    const bad = check(file, st, opts);
    if (bad) throw bad;
    let buf: Buffer = Buffer.alloc(st.size + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) return buf.subarray(0, n);
      n += bytesRead;
      buf = roomAfter(buf, n, file, opts);
    }
  } catch (e) {
    if (e instanceof ZooError) throw e;
    throw unreadable(file, opts, e);
  } finally {
    await fh.close();
  }
}

/** readInputFile as UTF-8 text. */
export async function readInputText(file: string, opts: InputOptions): Promise<string> {
  return (await readInputFile(file, opts)).toString('utf8');
}
