/**
 * Every failure a user can cause is a ZooError: it names the file (or thing) at fault, what was
 * expected, and how to fix it, and carries the process exit code the CLI returns for it.
 * Anything else that escapes is a bug and exits with INTERNAL.
 */

/** Exit codes, documented in the README and `zoo --help`. Scripts may rely on them. */
export const ExitCode = {
  OK: 0,
  /** The run completed but accuracy is below the expectation (--expect-top1/--baseline). */
  REGRESSION: 1,
  /** Bad command line: unknown model, bad option value, missing --data. */
  USAGE: 2,
  /** The data set: missing folder, no images, unlabelled files, a corrupt image. */
  DATA: 3,
  /** Weights: unreadable or hostile checkpoint, wrong architecture, failed download. */
  WEIGHTS: 4,
  /** Engine or device: CUDA asked for but not available, engine failed to load. */
  ENGINE: 5,
  /** Interrupted by SIGINT/SIGTERM; partial results and resume state were written. */
  INTERRUPTED: 130,
  /** A bug in zoo. */
  INTERNAL: 70,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface ZooErrorDetails {
  /** The file, URL or name the error is about. */
  file?: string;
  /** What zoo expected to find. */
  expected?: string;
  /** What the user can do about it. */
  fix?: string;
}

export class ZooError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly file: string | undefined;
  readonly expected: string | undefined;
  readonly fix: string | undefined;

  constructor(exitCode: ExitCodeValue, message: string, details: ZooErrorDetails = {}) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.file = details.file;
    this.expected = details.expected;
    this.fix = details.fix;
  }

  /** One line for the terminal: "file: message (expected ...); fix". */
  oneLine(): string {
    let s = this.file ? `${this.file}: ${this.message}` : this.message;
    if (this.expected) s += ` (expected ${this.expected})`;
    if (this.fix) s += `; ${this.fix}`;
    return s.replace(/\s*\n\s*/g, ' ');
  }
}

export class UsageError extends ZooError {
  constructor(message: string, details: ZooErrorDetails = {}) {
    super(ExitCode.USAGE, message, details);
  }
}

export class DataError extends ZooError {
  constructor(message: string, details: ZooErrorDetails = {}) {
    super(ExitCode.DATA, message, details);
  }
}

export class WeightsError extends ZooError {
  constructor(message: string, details: ZooErrorDetails = {}) {
    super(ExitCode.WEIGHTS, message, details);
  }
}

export class EngineError extends ZooError {
  constructor(message: string, details: ZooErrorDetails = {}) {
    super(ExitCode.ENGINE, message, details);
  }
}

const ERRNO_WORDS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  ELOOP: 'too many symbolic links',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'the name is too long',
  EIO: 'an input/output error (a failing disk?)',
};

/** A file-system error in words (`ENOENT` -> "no such file or folder"), for one-line messages. */
export function errnoWords(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code && ERRNO_WORDS[code]) return ERRNO_WORDS[code]!;
  return code ?? String(e);
}
