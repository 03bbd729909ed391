/**
 * Every file zoo writes goes through this module: --json, --csv, --predictions, --state, the
 * outputs of merge/export/logits/bench, --results-file. Callers use it in two steps:
 *
 *   1. before any work: `resolveOutput(flag, path)` for each output (one line, exit 2, when its
 *      folder is missing or unwritable, when it names a folder, ...), then `refuseCollisions(outputs,
 *      inputs)` (two outputs naming one file, an output that is the weights file or lies inside the
 *      data being read);
 *   2. at the end: `writeOutput(target, content)`; a late failure (disk full, folder removed) is one
 *      line too, and leaves no temporary file.
 *
 * What a path means:
 *  - `-` is stdout, as are `/dev/stdout`, `/dev/fd/1` and `/proc/self/fd/1` (written through
 *    process.stdout, in order with what zoo prints there);
 *  - a FIFO, a character device, or any path under /dev or /proc (`>(cat)` gives /dev/fd/63) is
 *    streamed to, never replaced;
 *  - anything else is a regular file, replaced atomically: a temporary file beside the target is
 *    written and closed, then renamed over it, so a reader (or a resume after kill -9) sees the old or
 *    the new file, never a torn one. A symlink is followed and its target replaced (the link stays).
 *
 * Temporary files are tracked and removed on every exit path, process.exit() included (a second
 * SIGINT/SIGTERM exits at once).
 */
import { accessSync, constants, write as fsWrite, lstatSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { chmod, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { UsageError } from '../errors.js';
import { keepAtExit, removeAtExit } from './exit-cleanup.js';

/** How an output is written: through process.stdout, streamed to a FIFO/device, or an atomically replaced file. */
export type OutputKind = 'stdout' | 'stream' | 'file';

export interface OutputTarget {
  /** The flag that named it (`--json`, `--state`, ...), for messages. */
  flag: string;
  /** The path as the user gave it (for messages). */
  path: string;
  kind: OutputKind;
  /** `file`: the real path that is replaced (symlinks resolved); `stream`: the path opened; `stdout`: `-`. */
  target: string;
  /** Device and inode when the target exists (a hard link or bind mount is the same file). */
  id: { dev: number; ino: number } | null;
  /** `/dev/fd/N`, `/proc/self/fd/N` (a shell's `>(cat)`): written to descriptor N itself, as a socket cannot be reopened. */
  fd?: number;
}

export interface OutputOptions {
  /** `-` and other stream targets are allowed (default true); the --state file must be a regular file. */
  streamOk?: boolean;
}

/** Folders whose entries are devices or process views: written as streams, never renamed over. */
const DEVICE_ROOTS = ['/dev/', '/proc/'];
const STDOUT_PATHS = new Set(['/dev/stdout', '/dev/fd/1', '/proc/self/fd/1']);

const codeOf = (e: unknown) => (e as NodeJS.ErrnoException).code ?? String(e);

function bad(flag: string, path: string, what: string, fix: string): UsageError {
  return new UsageError(`${flag}: ${what}`, { file: path, fix });
}

/** Follows a chain of symlinks that may end at a path that does not exist yet. */
function followLinks(path: string): string {
  let p = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch {
      return p;
    }
    if (!st.isSymbolicLink()) return p;
    const to = readlinkSync(p);
    p = isAbsolute(to) ? to : resolve(dirname(p), to);
  }
  return p;
}

/**
 * What writing `path` (given with `flag`) will do, checked now so a bad path fails before the run:
 * the folder must exist and be writable, a folder is refused, a FIFO/device must be writable.
 * Throws a one-line UsageError (exit 2).
 */
export async function resolveOutput(flag: string, path: string, opts: OutputOptions = {}): Promise<OutputTarget> {
  const streamOk = opts.streamOk ?? true;
  if (path.length === 0) throw bad(flag, path, 'the path is empty', 'name a file');
  const noStream = () => bad(flag, path, 'must be a regular file (it is rewritten as the run goes)', 'name a file in a writable folder');
  const absolute = resolve(path);
  if (path === '-' || STDOUT_PATHS.has(absolute)) {
    if (!streamOk) throw noStream();
    return { flag, path, kind: 'stdout', target: '-', id: null };
  }
  let st: Stats | null = null;
  try {
    st = statSync(path);
  } catch (e) {
    const code = codeOf(e);
    if (code === 'ENOTDIR') throw bad(flag, path, 'a parent of this path is a file, not a folder', 'name a file in an existing folder');
    if (code === 'EACCES') throw bad(flag, path, 'cannot reach this path (permission denied)', 'name a file in a folder you can write');
    if (code !== 'ENOENT') throw bad(flag, path, `cannot use this path (${code})`, 'name a file in a writable folder');
  }
  const onDevice = DEVICE_ROOTS.some((root) => absolute.startsWith(root));
  const fdPath = /^\/(?:dev\/fd|proc\/self\/fd)\/(\d+)$/.exec(absolute);
  if (st && fdPath) {
    if (!streamOk) throw noStream();
    return { flag, path, kind: 'stream', target: absolute, id: { dev: st.dev, ino: st.ino }, fd: Number(fdPath[1]) };
  }
  if (st?.isDirectory()) throw bad(flag, path, 'is a folder', `name a file, e.g. ${join(path, 'result' + (flag === '--csv' ? '.csv' : '.json'))}`);
  if (st && (st.isFIFO() || st.isCharacterDevice() || (onDevice && st.isFile()))) {
    if (!streamOk) throw noStream();
    try {
      accessSync(path, constants.W_OK);
    } catch (e) {
      throw bad(flag, path, `cannot write to it (${codeOf(e)})`, 'check its permissions');
    }
    return { flag, path, kind: 'stream', target: absolute, id: { dev: st.dev, ino: st.ino } };
  }
  if (st && !st.isFile()) throw bad(flag, path, 'is not a regular file, a FIFO or a character device', 'name a regular file');
  if (!st && onDevice) throw bad(flag, path, 'does not exist (zoo creates files only outside /dev and /proc)', 'name a regular file');
  // A regular file, or a new one: the real path is what gets replaced, a symlink stays a symlink.
  const real = st ? realpathSync(path) : followLinks(path);
  const dir = dirname(real);
  let dirStat: Stats;
  try {
    dirStat = statSync(dir);
  } catch (e) {
    const code = codeOf(e);
    if (code === 'ENOENT') throw bad(flag, path, `the folder ${dir} does not exist`, `create it first (mkdir -p ${dir})`);
    throw bad(flag, path, `cannot use the folder ${dir} (${code})`, 'name a file in a writable folder');
  }
  if (!dirStat.isDirectory()) throw bad(flag, path, `${dir} is not a folder`, 'name a file in an existing folder');
  try {
    // The file is replaced by a rename in its folder: the folder must be writable, not the file.
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    throw bad(flag, path, `the folder ${dir} is not writable`, 'name a file in a folder you can write, or fix its permissions');
  }
  const target = join(realpathSync(dir), basename(real));
  return { flag, path, kind: 'file', target, id: st ? { dev: st.dev, ino: st.ino } : null };
}

/** A file or folder zoo reads, which no output may replace. */
export interface InputRef {
  flag: string;
  path: string;
  /** `tree`: a data folder (no output may lie inside it); `file`: one file (no output may be it). */
  kind: 'file' | 'tree';
}

function sameFile(a: { target: string; id: OutputTarget['id'] }, b: { target: string; id: OutputTarget['id'] }): boolean {
  if (a.target === b.target) return true;
  return a.id !== null && b.id !== null && a.id.dev === b.id.dev && a.id.ino === b.id.ino;
}

function inputIdentity(path: string): { target: string; id: OutputTarget['id']; dir: boolean } | null {
  try {
    const st = statSync(path);
    return { target: realpathSync(path), id: { dev: st.dev, ino: st.ino }, dir: st.isDirectory() };
  } catch {
    return null; // an input that does not exist fails where it is read, with its own message
  }
}

/**
 * Refuses (exit 2, before any work) two outputs that are one file (by real path, or by device and
 * inode when they exist), two outputs on stdout, an output that is one of the inputs (the weights,
 * a labels or baseline file, a data tar), and an output inside a data folder.
 */
export function refuseCollisions(outputs: readonly OutputTarget[], inputs: readonly InputRef[] = []): void {
  for (let i = 0; i < outputs.length; i++) {
    for (let j = i + 1; j < outputs.length; j++) {
      const a = outputs[i]!;
      const b = outputs[j]!;
      const both = a.kind === 'stdout' && b.kind === 'stdout';
      if (both || (a.kind !== 'stdout' && b.kind !== 'stdout' && sameFile(a, b))) {
        throw new UsageError(`${a.flag} and ${b.flag} name the same ${both ? 'stream (stdout)' : 'file'}`, {
          file: b.path,
          fix: 'give each output its own file',
        });
      }
    }
  }
  for (const input of inputs) {
    const inp = inputIdentity(input.path);
    if (!inp) continue;
    for (const out of outputs) {
      if (out.kind === 'stdout') continue;
      if (!inp.dir && sameFile(out, inp)) {
        throw new UsageError(`${out.flag} would overwrite the ${input.flag} file`, { file: out.path, fix: `write ${out.flag} to another file` });
      }
      if (inp.dir && input.kind === 'tree' && (out.target === inp.target || out.target.startsWith(inp.target.endsWith(sep) ? inp.target : inp.target + sep))) {
        throw new UsageError(`${out.flag} lies inside the ${input.flag} folder ${input.path}, which is being read`, {
          file: out.path,
          fix: `write ${out.flag} outside the data folder`,
        });
      }
    }
  }
}

let seq = 0;

/** How a temporary file beside `target` written by process `pid` is named begins (replaceFile writes them, removeStaleTemps finds them). */
const tempPrefix = (target: string, pid: number) => `${target}.tmp-${pid}-`;

/** What an output holds: text, bytes, or chunks produced as it is written (large CSVs). */
export type OutputContent = string | Uint8Array | Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>;

async function* chunksOf(content: OutputContent): AsyncIterable<string | Uint8Array> {
  if (typeof content === 'string' || content instanceof Uint8Array) yield content;
  else yield* content;
}

function lateFailure(out: OutputTarget, e: unknown): UsageError {
  if (e instanceof UsageError) return e;
  return new UsageError(`${out.flag}: writing failed (${codeOf(e)})`, {
    file: out.path,
    fix: 'free space, or name another file',
  });
}

async function writeStdout(content: OutputContent): Promise<void> {
  for await (const chunk of chunksOf(content)) {
    await new Promise<void>((resolveWrite, reject) => {
      process.stdout.write(chunk, (e) => (e ? reject(e) : resolveWrite()));
    });
  }
}

async function writeToFd(fd: number, content: OutputContent): Promise<void> {
  for await (const chunk of chunksOf(content)) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    for (let done = 0; done < bytes.length; ) {
      done += await new Promise<number>((resolveWrite, reject) => fsWrite(fd, bytes, done, bytes.length - done, null, (e, n) => (e ? reject(e) : resolveWrite(n))));
    }
  }
}

async function writeStream(out: OutputTarget, content: OutputContent): Promise<void> {
  if (out.fd !== undefined) return writeToFd(out.fd, content);
  // Append, not truncate: /dev/stdout redirected to a file must not lose what was printed before.
  const fh = await open(out.target, 'a');
  try {
    for await (const chunk of chunksOf(content)) await fh.writeFile(chunk);
  } finally {
    await fh.close();
  }
}

async function replaceFile(out: OutputTarget, content: OutputContent): Promise<void> {
  const tmp = `${tempPrefix(out.target, process.pid)}${seq++}`;
  removeAtExit(tmp);
  try {
    const fh = await open(tmp, 'wx');
    try {
      for await (const chunk of chunksOf(content)) await fh.writeFile(chunk);
    } finally {
      await fh.close();
    }
    // A replaced file keeps its permissions (a 0600 result stays private).
    const old = await stat(out.target).catch(() => null);
    if (old) await chmod(tmp, old.mode & 0o7777);
    await rename(tmp, out.target);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  } finally {
    keepAtExit(tmp);
  }
}

/**
 * Writes `content` to a resolved output (see the module comment for what each kind does). A failure
 * is one line (UsageError, exit 2) naming the flag and the path; no temporary file is left.
 */
export async function writeOutput(out: OutputTarget, content: OutputContent): Promise<void> {
  try {
    if (out.kind === 'stdout') await writeStdout(content);
    else if (out.kind === 'stream') await writeStream(out, content);
    else await replaceFile(out, content);
  } catch (e) {
    throw lateFailure(out, e);
  }
}

/** resolveOutput + writeOutput, for an output whose path was not checked up front. */
export async function writeOutputFile(flag: string, path: string, content: OutputContent, opts: OutputOptions = {}): Promise<void> {
  await writeOutput(await resolveOutput(flag, path, opts), content);
}

/** One output a command will write: its flag, the path given (undefined when not asked for). */
export interface OutputRequest {
  flag: string;
  path: string | undefined;
  streamOk?: boolean;
}

/**
 * resolveOutput for every requested output, then refuseCollisions against each other and the
 * inputs: the one call a command makes before any work. Returns the targets by flag.
 */
export async function planOutputs(requests: readonly OutputRequest[], inputs: readonly (InputRef | { flag: string; path: string | undefined; kind: InputRef['kind'] })[] = []): Promise<Map<string, OutputTarget>> {
  const targets = new Map<string, OutputTarget>();
  for (const r of requests) {
    if (r.path !== undefined) targets.set(r.flag, await resolveOutput(r.flag, r.path, r.streamOk === undefined ? {} : { streamOk: r.streamOk }));
  }
  const named = inputs.filter((i): i is InputRef => i.path !== undefined);
  refuseCollisions([...targets.values()], named);
  return targets;
}

/**
 * Removes the temporary files a process that is gone (`pid`, killed mid-write by kill -9) left
 * beside `target`; returns their names. Called when its stale lock is taken over (src/io/lock.ts).
 */
export async function removeStaleTemps(target: string, pid: number): Promise<string[]> {
  const prefix = basename(tempPrefix(target, pid));
  const names = (await readdir(dirname(target)).catch(() => [] as string[])).filter((n) => n.startsWith(prefix));
  for (const n of names) await rm(join(dirname(target), n), { force: true });
  return names;
}
