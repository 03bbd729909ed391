/**
 * Small fixtures many test files share: where the shared reference data lives, the ILSVRC2012 val
 * ground truth read straight from shared/ (independently of what src/ bundles and parses), timm's
 * default ImageNet eval config at a given size, and a helper that awaits an expected rejection.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { IMAGENET_MEAN, IMAGENET_STD, type EvalConfig } from '../../src/models/eval-config.js';

export const SHARED = join(import.meta.dirname, '..', '..', '..', 'shared');
/** 227 real ILSVRC2012 val JPEGs (ILSVRC2012_val_*.JPEG). */
export const VAL_227 = join(SHARED, 'samples', 'val-227');

let truthCache: ReadonlyMap<string, number> | undefined;
let synsetCache: readonly string[] | undefined;

/** Val file name -> class index, from shared/imagenet/val_labels.txt (all 50,000, in val order). */
export function valTruth(): ReadonlyMap<string, number> {
  truthCache ??= new Map(
    readFileSync(join(SHARED, 'imagenet', 'val_labels.txt'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ') as [string, string])
      .map(([n, l]) => [n, Number(l)] as const),
  );
  return truthCache;
}

/** Class index -> WordNet id (n01440764, ...), from shared/imagenet/synsets.txt. */
export function synsets(): readonly string[] {
  synsetCache ??= readFileSync(join(SHARED, 'imagenet', 'synsets.txt'), 'utf8').trim().split('\n');
  return synsetCache;
}

/** The WordNet id (ImageFolder class folder) of a val file name. */
export function wnidOf(name: string): string {
  const label = valTruth().get(name);
  if (label === undefined) throw new Error(`${name} is not in the val ground truth`);
  return synsets()[label]!;
}

/** timm's default ImageNet eval config at `size`: bicubic, crop_pct 0.875 centre crop, ImageNet mean/std. */
export function imagenetConfig(size: number): EvalConfig {
  return { inputSize: [3, size, size], interpolation: 'bicubic', mean: IMAGENET_MEAN, std: IMAGENET_STD, cropPct: 0.875, cropMode: 'center' };
}

/** Awaits `p`, expects it to reject with an instance of `type`, and returns that error. */
export async function rejection<E extends Error>(p: Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(type);
  return e as E;
}
