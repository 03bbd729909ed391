/**
 * `--data sample`: 106 real ILSVRC2012 val images shipped in assets/samples (see its README.md), so
 * the first command on a fresh machine measures a real model with no download. A folder named
 * `sample` in the working directory wins over the built-in one: a user's path is never shadowed.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SAMPLE_NAME = 'sample';

/** Two levels above src/data and dist/data is the package root. */
export function sampleDir(): string {
  return fileURLToPath(new URL('../../assets/samples/', import.meta.url));
}

export interface DataArg {
  path: string;
  /** The built-in sample, not a folder of the user's. */
  builtin: boolean;
}

export function resolveDataArg(arg: string): DataArg {
  if (arg === SAMPLE_NAME && !existsSync(arg)) return { path: sampleDir(), builtin: true };
  return { path: arg, builtin: false };
}

/** What to run next, once the sample has shown the model works. */
export function nextStepHint(model: string): string {
  return (
    `zoo: next: this was the built-in sample (106 val images; the interval is wide). For the real number, point --data at ImageNet val: ` +
    `zoo eval ${model} --data /path/to/ILSVRC2012 (an ImageFolder tree, a flat folder of ILSVRC2012_val_*.JPEG, or ILSVRC2012_img_val.tar as downloaded from image-net.org)`
  );
}
