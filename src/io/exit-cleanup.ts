/**
 * Files and folders zoo must not leave behind (temporary outputs, lock files, scratch folders):
 * removed on any exit of the process, process.exit() included (a second SIGINT/SIGTERM exits at
 * once), unless released first.
 */
import { rmSync, unlinkSync } from 'node:fs';

/** Each path to remove, and whether it is a folder (removed with all it holds). */
const doomed = new Map<string, boolean>();
let hooked = false;

/** Removes `path` when the process exits, unless `keepAtExit(path)` is called first; `folder`: with its contents. */
export function removeAtExit(path: string, folder = false): void {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const [p, isFolder] of doomed) {
        if (isFolder) {
          rmSync(p, { recursive: true, force: true });
          continue;
        }
        try {
          unlinkSync(p);
        } catch {
          // already gone
        }
      }
    });
  }
  doomed.set(path, folder);
}

/** `path` is done with (renamed into place, or removed by its owner): no longer removed at exit. */
export function keepAtExit(path: string): void {
  doomed.delete(path);
}
