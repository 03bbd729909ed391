/**
 * An exclusive lock on a file zoo keeps rewriting (the --state of a run): `<file>.lock`, created
 * with O_EXCL and holding the owner's pid, host and start time. Two runs sharing one state file
 * would overwrite each other's progress; the second is refused with one line naming the first.
 *
 * A lock left by a process that is gone (kill -9, a crash, a reboot) is stale: on the same host a
 * pid that no longer runs (or is our own pid: a restarted container reuses pid 1) is taken over,
 * and that is said on stderr. A lock from another host cannot be checked and is refused with the
 * command that removes it.
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { UsageError } from '../errors.js';

export interface LockOwner {
  pid: number;
  host: string;
  started_at: string;
}

export interface FileLock {
  /** The lock file. */
  readonly file: string;
  /** The pid of a dead owner whose stale lock was taken over (its temporary files may be left), or null. */
  readonly staleOwner: number | null;
  /** Removes the lock (also done on process exit if never called). */
  release(): Promise<void>;
}

const held = new Set<string>();
let exitHook = false;

function removeOnExit(file: string): void {
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const f of held) {
        try {
          unlinkSync(f);
        } catch {
          // already gone
        }
      }
    });
  }
  held.add(file);
}

function readOwner(file: string): LockOwner | null {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
    if (Number.isSafeInteger(v.pid) && (v.pid as number) > 0 && typeof v.host === 'string') {
      return { pid: v.pid as number, host: v.host, started_at: typeof v.started_at === 'string' ? v.started_at : '?' };
    }
  } catch {
    // unreadable or torn: treated as stale below
  }
  return null;
}

/** Whether `pid` runs on this host: signal 0 checks without sending anything (EPERM: it runs, as another user). */
function running(pid: number): boolean {
  if (pid === process.pid) return false; // a pid namespace reused after a restart: not us, we hold nothing yet
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Locks `target` (`<target>.lock`) for this process; `flag` names it in messages, `say` announces a
 * stale lock taken over. Throws a one-line UsageError (exit 2) when another live run holds it.
 */
export async function lockFile(target: string, flag: string, say: (line: string) => void): Promise<FileLock> {
  const file = `${target}.lock`;
  const me: LockOwner = { pid: process.pid, host: hostname(), started_at: new Date().toISOString() };
  let staleOwner: number | null = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(file, 'wx');
      removeOnExit(file);
      try {
        await fh.writeFile(JSON.stringify(me) + '\n');
      } finally {
        await fh.close();
      }
      return {
        file,
        staleOwner,
        async release() {
          held.delete(file);
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
    if (owner && running(owner.pid)) {
      throw new UsageError(`${flag} is in use by another zoo run (pid ${owner.pid}, since ${owner.started_at})`, {
        file: target,
        fix: 'wait for it to finish, or pass another --state FILE',
      });
    }
    say(`zoo: ${file}: taking over a stale lock (${owner ? `pid ${owner.pid} is not running` : 'unreadable lock file'})`);
    staleOwner = owner?.pid ?? null;
    await rm(file, { force: true });
  }
  throw new UsageError(`${flag}: another run keeps taking the lock ${file}`, { file: target, fix: 'pass another --state FILE' });
}
