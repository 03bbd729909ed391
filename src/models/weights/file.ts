/**
 * Only regular files are checkpoints. A FIFO or a device (`--weights /dev/zero`) would make every
 * reader (the weights hash, the checkpoint reader) block or read forever, and a directory is not
 * "not found": each gets its own one-line error before anything opens the path.
 */
import { stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { WeightsError } from '../../errors.js';
import { fileKind } from '../../io/file-kind.js';

const EXPECTED = 'a .safetensors, .pth/.pth.tar or .pdparams checkpoint file';

/** The one line for a weights file that cannot be stat'ed or read (`e`, what the call threw). */
export function unreadableWeights(path: string, e: unknown, details: { fix: string; expected?: string }): WeightsError {
  const code = (e as NodeJS.ErrnoException).code;
  return new WeightsError(code === 'ENOENT' ? 'weights file not found' : `cannot read the weights file (${code ?? String(e)})`, { file: path, ...details });
}

/** The file's stats, once it is known to be a regular file (symlinks followed); a WeightsError otherwise. */
export async function requireCheckpointFile(path: string, fix = 'check the path given to --weights'): Promise<Stats> {
  let s: Stats;
  try {
    s = await stat(path);
  } catch (e) {
    throw unreadableWeights(path, e, { expected: EXPECTED, fix });
  }
  if (s.isFile()) return s;
  const kind = fileKind(s);
  throw new WeightsError(`${kind}, not a checkpoint file: zoo reads weights only from regular files`, {
    file: path,
    expected: EXPECTED,
    fix: s.isDirectory() ? 'pass the checkpoint file inside it to --weights' : 'save the checkpoint to a file and pass that file to --weights',
  });
}
