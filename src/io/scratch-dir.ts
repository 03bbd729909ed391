/**
 * Folders a run fills and throws away (a .tar.gz decompressed once, a sweep group's crops): each is
 * `<root>/<pid>-XXXXXX`, removed by its owner when done, on any exit of the process (process.exit
 * included, so a second Ctrl-C too), and, for a process killed with -9, by the next zoo process that
 * makes one under the same root (folders whose pid no longer runs are swept first).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { keepAtExit, removeAtExit } from './exit-cleanup.js';
import { alive } from './process.js';

export interface ScratchDir {
  readonly dir: string;
  /** Removes the folder now (idempotent); it is no longer removed at exit. */
  dispose(): Promise<void>;
}

/** Folders under `root` left by zoo processes that were killed before they could clean up. */
function sweepStale(root: string): void {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const n of names) {
    const pid = Number(n.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)) rmSync(join(root, n), { recursive: true, force: true });
  }
}

/** A fresh folder under `root` (created if needed); throws the file system's error when it cannot be made. */
export function scratchDir(root: string): ScratchDir {
  mkdirSync(root, { recursive: true });
  sweepStale(root);
  const dir = mkdtempSync(join(root, `${process.pid}-`));
  removeAtExit(dir, true);
  return {
    dir,
    async dispose() {
      keepAtExit(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Bytes zoo may fill on the file system of `dir`: the free space less a reserve (a tenth of it, at
 * most 1 GiB), since the user's disk is not ours to fill.
 */
export function roomIn(dir: string): number {
  const fs = statfsSync(dir);
  const free = fs.bavail * fs.bsize;
  return free - Math.min(1 << 30, Math.floor(free / 10));
}
