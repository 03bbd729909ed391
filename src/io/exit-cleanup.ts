/**
 * Files zoo must not leave behind (temporary outputs, lock files): removed on any exit of the
 * process, process.exit() included (a second SIGINT/SIGTERM exits at once), unless released first.
 */
import { unlinkSync } from 'node:fs';

const doomed = new Set<string>();
let hooked = false;

/** Removes `file` when the process exits, unless `keepAtExit(file)` is called first. */
export function removeAtExit(file: string): void {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const f of doomed) {
        try {
          unlinkSync(f);
        } catch {
          // already gone
        }
      }
    });
  }
  doomed.add(file);
}

/** `file` is done with (renamed into place, or removed by its owner): no longer removed at exit. */
export function keepAtExit(file: string): void {
  doomed.delete(file);
}
