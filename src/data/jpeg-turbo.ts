/**
 * Which JPEG decoder runs: the optional libjpeg-turbo addon (native/, built at `npm install` when a
 * compiler and libjpeg-turbo's headers are there) or sharp. Both give the same pixels (Pillow's); the
 * addon is ~2x faster per image because it skips libvips' pipeline set-up. `ZOO_DECODER=turbo|sharp`
 * forces one; unset, the addon runs when it loads. The choice is made once per thread, on first use.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';

/** The addon's functions (native/zoo_jpeg.c). Errors are thrown as "truncated: ..." / "corrupt: ...". */
export interface TurboAddon {
  /** [width, height, components] from the markers before the first scan. */
  header(buf: Uint8Array): [number, number, number];
  /** Decode to RGB straight into out (width*height*3 bytes). */
  decodeInto(buf: Uint8Array, out: Uint8Array): void;
  jpegLibVersion: number;
}

/** Where native/build.mjs puts the addon: the same path from src/data and dist/data. */
export const ADDON_PATH = fileURLToPath(new URL('../../native/build/Release/zoo_jpeg.node', import.meta.url));
/** The script that builds it, for the fix users are told. */
export const BUILD_SCRIPT = fileURLToPath(new URL('../../native/build.mjs', import.meta.url));

export type JpegDecoderName = 'libjpeg-turbo' | 'sharp';

export interface DecoderChoice {
  /** What decodes JPEGs in this process. */
  decoder: JpegDecoderName;
  /** Why, in a few words (for `zoo engines` and the run's one line). */
  reason: string;
  /** How to get the fast decoder, when it does not run and was not turned off on purpose. */
  fix?: string;
  addon?: TurboAddon;
}

export const BUILD_FIX = `node ${BUILD_SCRIPT} (needs a C compiler and libjpeg-turbo's headers, e.g. apt-get install libjpeg62-turbo-dev; see README 'Fast JPEG decoding')`;

let choice: DecoderChoice | undefined;

let loaded: { addon?: TurboAddon; why?: string } | undefined;

function loadAddon(): { addon?: TurboAddon; why?: string } {
  return (loaded ??= tryLoadAddon());
}

function tryLoadAddon(): { addon?: TurboAddon; why?: string } {
  if (!existsSync(ADDON_PATH)) return { why: 'the libjpeg-turbo addon is not built' };
  try {
    return { addon: createRequire(import.meta.url)(ADDON_PATH) as TurboAddon };
  } catch (e) {
    return { why: `the libjpeg-turbo addon does not load (${String(e).split('\n')[0]})` };
  }
}

/** The addon itself, whatever ZOO_DECODER says (the tests and the bench compare both decoders); throws when it is absent. */
export function loadTurboAddon(): TurboAddon {
  const { addon, why } = loadAddon();
  if (!addon) throw new UsageError(why ?? 'the libjpeg-turbo addon does not load', { file: ADDON_PATH, fix: BUILD_FIX });
  return addon;
}

/** Whether the addon loads, and why not (for `zoo engines`), whatever ZOO_DECODER says. */
export function turboAddonStatus(): { available: boolean; reason: string } {
  const { addon, why } = loadAddon();
  return addon ? { available: true, reason: `native addon, libjpeg API ${addon.jpegLibVersion}` } : { available: false, reason: why ?? 'not built' };
}

/** The decoder for this process, decided once. Throws a UsageError for a bad or unsatisfiable ZOO_DECODER. */
export function jpegDecoder(): DecoderChoice {
  if (choice) return choice;
  const forced = process.env.ZOO_DECODER?.trim() ?? '';
  if (forced !== '' && forced !== 'turbo' && forced !== 'sharp') {
    throw new UsageError(`ZOO_DECODER=${forced} is not a decoder`, { expected: 'turbo or sharp (or unset: turbo when built, else sharp)', fix: 'unset ZOO_DECODER' });
  }
  if (forced === 'sharp') return (choice = { decoder: 'sharp', reason: 'ZOO_DECODER=sharp' });
  const { addon, why } = loadAddon();
  if (addon) {
    return (choice = { decoder: 'libjpeg-turbo', reason: `${forced === 'turbo' ? 'ZOO_DECODER=turbo: ' : ''}native addon, libjpeg API ${addon.jpegLibVersion}`, addon });
  }
  if (forced === 'turbo') throw new UsageError(`ZOO_DECODER=turbo but ${why}`, { file: ADDON_PATH, fix: `build it: ${BUILD_FIX}, or unset ZOO_DECODER` });
  return (choice = { decoder: 'sharp', reason: `${why}; sharp decodes the same pixels, slower`, fix: BUILD_FIX });
}

/** One line for the run's start: which decoder runs, and the fix when the fast one does not. */
export function describeJpegDecoder(): string {
  const c = jpegDecoder();
  return `JPEG decoder: ${c.decoder} (${c.reason})${c.fix ? `; for the fast one: ${c.fix}` : ''}`;
}
