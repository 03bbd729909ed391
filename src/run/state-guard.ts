/**
 * A state file left by an interrupted run is someone's measured work: running the same command
 * again without --resume must not silently start from zero and then delete it. Such a run is
 * refused (exit 2) with both ways on: --resume to continue, --restart to discard it.
 */
import { readFile, rm, stat } from 'node:fs/promises';
import { UsageError } from '../errors.js';

/** What an existing state says about itself, for the refusal line (nothing when unreadable). */
async function describeState(file: string): Promise<string> {
  try {
    const s = JSON.parse(await readFile(file, 'utf8')) as { next?: unknown; identity?: { samples?: unknown; model?: unknown } };
    const next = typeof s.next === 'number' ? s.next : undefined;
    const total = typeof s.identity?.samples === 'number' ? s.identity.samples : undefined;
    const model = typeof s.identity?.model === 'string' ? `${s.identity.model}, ` : '';
    return next !== undefined && total !== undefined ? ` (${model}${next} of ${total} images done)` : '';
  } catch {
    return '';
  }
}

/**
 * Before a fresh run (no --resume): refuses when `stateFile` exists, unless `restart` (then it is
 * deleted, and `say` tells so).
 */
export async function guardInterruptedState(stateFile: string, opts: { resume: boolean; restart: boolean; say: (line: string) => void }): Promise<void> {
  if (opts.resume && opts.restart) throw new UsageError('--resume and --restart contradict each other', { fix: 'pass one: --resume continues the interrupted run, --restart discards it' });
  if (opts.resume) return;
  const exists = await stat(stateFile).then(
    () => true,
    (e: NodeJS.ErrnoException) => e.code !== 'ENOENT',
  );
  if (!exists) return;
  if (opts.restart) {
    await rm(stateFile, { force: true });
    opts.say(`zoo: --restart: discarded the interrupted run's state ${stateFile}`);
    return;
  }
  throw new UsageError(`an interrupted run's state is here${await describeState(stateFile)}; starting over would discard it`, {
    file: stateFile,
    fix: 'add --resume to continue it, or --restart to discard it and start from zero',
  });
}
