/**
 * One folder's subfolders and files, as the `--data` readers see it: hidden entries (`.DS_Store`,
 * `.cache`) left out, symlinks followed (val sets are often linked in from elsewhere; a dangling
 * link is left out). Below the ImageNet val reader (dataset.ts) and the test-set reader
 * (test-set-data.ts).
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from '../errors.js';

/** The file names the --data readers take for images (timm's ImageFolder extensions), in folders and archives alike. */
export const IMAGE_EXT = /\.(jpe?g|png)$/i;

export interface FolderListing {
  dirs: string[];
  files: string[];
}

export async function listFolder(dir: string): Promise<FolderListing> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw new DataError(`cannot list folder: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
      file: dir,
      fix: 'check the path and its permissions',
    });
  }
  const dirs: string[] = [];
  const files: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const kind = e.isSymbolicLink() ? await stat(join(dir, e.name)).catch(() => undefined) : e;
    if (!kind) continue;
    if (kind.isDirectory()) dirs.push(e.name);
    else if (kind.isFile()) files.push(e.name);
  }
  return { dirs, files };
}
