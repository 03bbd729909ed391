/**
 * An exclusive lock on a file zoo keeps rewriting (the --state of a run): `<file>.lock`, created
 * with O_EXCL and holding the owner's pid, host and start time. Two runs sharing one state file
 * would overwrite each other's progress; the second is refused with one line naming the first.
 *
 * A lock left by a process that is gone (kill -9, a crash, a reboot) is stale: on the same host a
 * pid that no longer runs (or is our own pid: a restarted container reuses pid 1), or that now
 * belongs to another process (its start, from /proc, differs from the one the lock recorded, or
 * came after the lock was taken), is taken over, and that is said on stderr. Without /proc only
 * pid-alive is checked. A lock from another host cannot be checked and is refused with the
 * command that removes it.
 */
import { readFileSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { UsageError } from '../errors.js';
import { keepAtExit, removeAtExit } from './exit-cleanup.js';
import { alive, processStart, processStartedAtMs } from './process.js';

export interface LockOwner {
  pid: number;
  host: string;
  /** When the lock was taken (ISO time). */
  started_at: string;
  /** The owner's process start ("<boot id>:<start ticks>", src/io/process.ts), where /proc exists. */
  start?: string;
}

export interface FileLock {
  /** The lock file. */
  readonly file: string;
  /** The pid of a dead owner whose stale lock was taken over (its temporary files may be left), or null. */
  readonly staleOwner: number | null;
  /** Removes the lock (also done on process exit if never called). */
  release(): Promise<void>;
}

function readOwner(file: string): LockOwner | null {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
    if (Number.isSafeInteger(v.pid) && (v.pid as number) > 0 && typeof v.host === 'string') {
      return {
        pid: v.pid as number,
        host: v.host,
        started_at: typeof v.started_at === 'string' ? v.started_at : '?',
        ...(typeof v.start === 'string' ? { start: v.start } : {}),
      };
    }
  } catch {
    // unreadable or torn: treated as stale below
  }
  return null;
}

/** Why `owner` cannot hold its lock any more (said on stderr), or null when it may. */
function staleReason(owner: LockOwner): string | null {
  // A pid namespace reused after a restart: not us, we hold nothing yet.
  if (owner.pid === process.pid || !alive(owner.pid)) return `pid ${owner.pid} is not running`;
  const now = owner.start !== undefined ? processStart(owner.pid) : undefined;
  if (now !== undefined && now !== owner.start) return `pid ${owner.pid} now belongs to another process`;
  // The lock predates the process now holding that pid (1 s of slack for clock-tick rounding).
  const started = processStartedAtMs(owner.pid);
  const taken = Date.parse(owner.started_at);
  if (started !== undefined && Number.isFinite(taken) && taken < started - 1000) {
    return `pid ${owner.pid} now belongs to another process, started after the lock was taken`;
  }
  return null;
}

/**
 * Locks `target` (`<target>.lock`) for this process; `flag` names it in messages, `say` announces a
 * stale lock taken over. Throws a one-line UsageError (exit 2) when another live run holds it.
 */
export async function lockFile(target: string, flag: string, say: (line: string) => void): Promise<FileLock> {
  const file = `${target}.lock`;
  const myStart = processStart(process.pid);
  const me: LockOwner = { pid: process.pid, host: hostname(), started_at: new Date().toISOString(), ...(myStart !== undefined ? { start: myStart } : {}) };
  let staleOwner: number | null = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(file, 'wx');
      removeAtExit(file);
      try {
        await fh.writeFile(JSON.stringify(me) + '\n');
      } finally {
        await fh.close();
      }
      return {
        file,
        staleOwner,
        async release() {
          keepAtExit(file);
          await rm(file, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new UsageError(`${flag}: cannot create the lock file ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, {
          file: target,
          fix: 'name a state file in a folder you can write',
        });
      }
    }
    const owner = readOwner(file);
    if (owner && owner.host !== me.host) {
      throw new UsageError(`${flag} is locked by zoo pid ${owner.pid} on host ${owner.host} (since ${owner.started_at})`, {
        file: target,
        fix: `pass another --state, or if that run is gone: rm ${file}`,
      });
    }
    const stale = owner ? staleReason(owner) : 'unreadable lock file';
    if (owner && stale === null) {
      throw new UsageError(`${flag} is in use by another zoo run (pid ${owner.pid}, since ${owner.started_at})`, {
        file: target,
        fix: 'wait for it to finish, or pass another --state FILE',
      });
    }
    say(`zoo: ${file}: taking over a stale lock (${stale})`);
    staleOwner = owner?.pid ?? null;
    await rm(file, { force: true });
  }
  throw new UsageError(`${flag}: another run keeps taking the lock ${file}`, { file: target, fix: 'pass another --state FILE' });
}
