/**
 * Why `--data` holds no usable images, in words a user can act on (issue 10.12), instead of "no
 * images found" or "corrupt tar header": class folders that are not WordNet ids, a parent of
 * several image folders (which one?), or a single image.
 */
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { IMAGE_EXT } from './folder.js';
import { WNID } from './imagenet.js';
import { eg } from './warnings.js';

const VAL_NAME = /^ILSVRC2012_val_\d{8}\./i;

async function imagesIn(dir: string): Promise<{ images: number; valNamed: number; synsets: number }> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    const images = entries.filter((e) => e.isFile() && IMAGE_EXT.test(e.name));
    return {
      images: images.length,
      valNamed: images.filter((e) => VAL_NAME.test(e.name)).length,
      synsets: entries.filter((e) => e.isDirectory() && WNID.test(e.name)).length,
    };
  } catch {
    return { images: 0, valNamed: 0, synsets: 0 };
  }
}

/**
 * The error for a folder with no val layout, or undefined when nothing more specific can be said.
 * `dirs` are its subfolders.
 */
export async function explainNoImages(path: string, root: string, dirs: readonly string[]): Promise<DataError | undefined> {
  const holding: { name: string; images: number; valNamed: number; synsets: number }[] = [];
  for (const d of dirs.slice(0, 2000)) {
    const c = await imagesIn(join(root, d));
    if (c.images > 0 || c.synsets > 0) holding.push({ name: d, ...c });
  }
  if (holding.length === 0) return undefined;
  // Subfolders that are data sets of their own: a val ImageFolder tree, or a flat folder of val images.
  const datasets = holding.filter((h) => h.synsets > 0 || h.valNamed > 0).map((h) => h.name);
  if (datasets.length > 0) {
    return new DataError(`no images here, but ${datasets.length === 1 ? 'a subfolder holds' : 'these subfolders hold'} them: ${eg(datasets, 8)}`, {
      file: path,
      fix: `pass one of them, e.g. --data ${join(path, datasets[0]!)}`,
    });
  }
  return new DataError(`the class folders (${eg(holding.map((h) => `'${h.name}'`))}) are not WordNet ids`, {
    file: path,
    expected: 'ImageNet class folders named by WordNet id (n01440764, n01443537, ...)',
    fix: 'rename the folders to their WordNet ids, or put the images in one folder with --labels FILE; for a model file whose outputs are other classes, pass --class-map FILE',
  });
}

/** The error for a single image given as --data (archives are test-set-data.ts's), or undefined. */
export async function explainNonTar(path: string, file: string): Promise<DataError | undefined> {
  const head = Buffer.alloc(8);
  try {
    const fh = await open(file, 'r');
    try {
      await fh.read(head, 0, 8, 0);
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
  const accepted = 'a folder of val images (ImageFolder tree or flat), a parent holding val/, or a .tar / .tar.gz of one';
  let found: string | undefined;
  const fix = 'pass the folder that holds the images';
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) found = 'a single JPEG image';
  else if (head.subarray(0, 4).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47]))) found = 'a single PNG image';
  if (!found) return undefined;
  return new DataError(`--data is ${found}`, { file: path, expected: accepted, fix });
}
