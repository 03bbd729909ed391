/**
 * The per-image work the loader does, shared by worker threads and the in-process mode, and the
 * message shapes between them. Errors cross threads as plain fields and are rebuilt as DataError.
 *
 * The decoder (sharp, libvips) and the resize code load on first use: the loader's main thread only
 * needs the message shapes and error helpers, so `zoo eval` does not pay ~100 ms of sharp start-up
 * on the critical path to the first batch (the workers load it, in parallel, while the model loads).
 */
import { inflateRawSync } from 'node:zlib';
import { DataError } from '../errors.js';
import { localDataOffset, LOCAL_HEADER_BYTES } from '../io/zip.js';
import type { EvalConfig } from '../models/eval-config.js';
import type { CacheOutcome, CropCache } from './crop-cache.js';
import type { RgbImage } from './decode.js';
import type { ResizePlan } from './preprocess.js';
import { readRegularFileSync } from './read-sync.js';
import { TarFile } from './tar.js';

let blockingReads = false;
/** Called by a thread that does nothing but load images (a loader worker): files are read with blocking reads (read-sync.ts). */
export function useBlockingReads(): void {
  blockingReads = true;
}

type ImageModules = typeof import('./decode.js') & typeof import('./preprocess.js');
let imageModulesPromise: Promise<ImageModules> | undefined;
let imageModules: ImageModules | undefined;

/** Loads the decoder and resize modules now (a worker does at start, before it reports ready). */
export async function preloadImageModules(): Promise<void> {
  await loadImageModules();
}

/** decode.js and preprocess.js, imported once on first use. */
async function loadImageModules(): Promise<ImageModules> {
  imageModulesPromise ??= Promise.all([import('./decode.js'), import('./preprocess.js')]).then(([d, p]) => (imageModules = { ...d, ...p }));
  return imageModules ?? imageModulesPromise;
}

/** `exact`: Pillow-identical (the default); `fast`: libvips resize, opt-in, a few levels off. */
export type ResizeMode = 'exact' | 'fast';

/**
 * Where an entry's bytes are in an archive: `size` bytes at `offset` of `file` (a tar), or, with
 * `local`, `size` bytes after the zip local header at `offset`; `inflate` is set for a zip's deflate
 * entry: the raw deflate data inflates to exactly that many bytes.
 */
export interface ArchiveEntryRef {
  file: string;
  offset: number;
  size: number;
  local?: true;
  inflate?: number;
}

/** Where an image's bytes are: a file, or an entry of an archive (`file` is then `archive:entry`, for messages). */
export interface ImageSource {
  file: string;
  tar?: ArchiveEntryRef;
}

/** What a loader worker starts with: the config and the loader's whole pool of batch buffers, shared once. */
export interface WorkerInit {
  cfg: EvalConfig;
  resize: ResizeMode;
  /** The crop cache directory (--crop-cache), if any. */
  cropCache?: string;
  /** The loader's batch buffers; a request names one by index, so no buffer crosses threads per image. */
  pool: readonly SharedArrayBuffer[];
}

export interface WorkerRequest {
  id: number;
  file: string;
  /** Set for an image inside an archive: read `size` bytes at `offset` of `tar.file` (and inflate). */
  tar?: ArchiveEntryRef;
  /** Index of the batch buffer in the pool (WorkerInit.pool). */
  slot: number;
  /** Float32 element offset of this image in that buffer. */
  offset: number;
}

export interface SerializedError {
  /** True for a DataError (the user's file is at fault); false for a bug. */
  data: boolean;
  message: string;
  file?: string;
  expected?: string;
  fix?: string;
  stack?: string;
}

export interface WorkerReply {
  id: number;
  error?: SerializedError;
  /** With a crop cache: whether the crop was read, decoded and stored, or replaced a bad entry. */
  cache?: CacheOutcome;
}

/** Posted once by a worker when its modules are loaded: image timeouts start counting from here. */
export interface WorkerReady {
  ready: true;
}

/**
 * Open tars, one handle per tar for the life of a worker: a val tar is read by 50,000 positional
 * reads, and reopening it for each would cost a syscall pair per image.
 */
export class TarCache {
  private readonly open = new Map<string, Promise<TarFile>>();

  async read(tar: ArchiveEntryRef): Promise<Buffer> {
    let t = this.open.get(tar.file);
    if (!t) {
      t = TarFile.open(tar.file);
      this.open.set(tar.file, t);
      // A failed open is not cached: the next image reports it again (and a fixed file recovers).
      t.catch(() => this.open.delete(tar.file));
    }
    return (await t).read(tar.offset, tar.size);
  }

  async close(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((t) => t.then((f) => f.close()).catch(() => undefined)));
  }
}

/** The encoded bytes (an archive entry) or the path (a file) of an image, for the decoder. */
async function inputOf(src: ImageSource, tars: TarCache | undefined): Promise<string | Uint8Array> {
  if (!src.tar) return (blockingReads && readRegularFileSync(src.file)) || src.file;
  if (tars) return inflated(src.file, src.tar, await entryBytes(src.file, src.tar, tars));
  const once = new TarCache();
  try {
    return inflated(src.file, src.tar, await entryBytes(src.file, src.tar, once));
  } finally {
    await once.close();
  }
}

/** The stored bytes of an entry: at its offset (tar), or after its zip local header. */
async function entryBytes(name: string, ref: ArchiveEntryRef, tars: TarCache): Promise<Buffer> {
  if (!ref.local) return tars.read(ref);
  const start = localDataOffset(await tars.read({ file: ref.file, offset: ref.offset, size: LOCAL_HEADER_BYTES }), ref.offset);
  if (start === null) {
    throw new DataError(`no zip local header at byte ${ref.offset}`, { file: name, expected: 'the zip indexed at the start of the run', fix: 'the zip is damaged or was replaced; fetch it again' });
  }
  return tars.read({ file: ref.file, offset: start, size: ref.size });
}

/**
 * A zip's deflate entry, inflated to exactly its declared size: zlib stops at that size, so a bomb
 * cannot grow past what the central directory declared (itself bounded by zip.ts).
 */
function inflated(name: string, ref: ArchiveEntryRef, data: Buffer): Buffer {
  if (ref.inflate === undefined) return data;
  let out: Buffer;
  try {
    out = inflateRawSync(data, { maxOutputLength: Math.max(1, ref.inflate) });
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? `inflates to more than the ${ref.inflate} bytes its zip entry declares` : `is not valid deflate data (${(e as Error).message})`;
    throw new DataError(`the zip entry ${why}`, { file: name, expected: 'an intact zip entry', fix: 'the zip is damaged; fetch it again' });
  }
  if (out.length !== ref.inflate) {
    throw new DataError(`the zip entry inflates to ${out.length} bytes, not the ${ref.inflate} it declares`, { file: name, expected: 'an intact zip entry', fix: 'the zip is damaged; fetch it again' });
  }
  return out;
}

/** Decode + resize + crop an image (a path, or an ImageSource): the uint8 RGB crop, not yet normalised. */
export async function cropOf(source: string | ImageSource, cfg: EvalConfig, resize: ResizeMode = 'exact', tars?: TarCache): Promise<RgbImage> {
  const src = typeof source === 'string' ? { file: source } : source;
  const m = await loadImageModules();
  const input = await inputOf(src, tars);
  return resize === 'fast' ? fastCrop(input, cfg, src.file) : m.cropResize(await m.decodeRgb(input, src.file), cfg);
}

/**
 * The crop of an image handed to `use` (synchronously, so a crop read from the cache, a view of
 * the cache's reused read buffer, is consumed before any other read): from the cache when it holds
 * a valid entry, else decoded and stored. Without a cache, plain cropOf. Returns what the cache did.
 */
export async function withCrop(
  source: ImageSource,
  cfg: EvalConfig,
  resize: ResizeMode,
  tars: TarCache | undefined,
  cache: CropCache | undefined,
  use: (crop: RgbImage) => void,
): Promise<CacheOutcome | undefined> {
  if (!cache) {
    use(await cropOf(source, cfg, resize, tars));
    return undefined;
  }
  await loadImageModules(); // normalizeCrop needs them even when nothing is decoded
  let key: string;
  try {
    key = cache.keyOf(source);
  } catch {
    // Unreadable source: decoding it reports the problem as it would without a cache.
    use(await cropOf(source, cfg, resize, tars));
    return undefined;
  }
  const found = cache.read(key);
  if (typeof found === 'object') {
    use(found);
    return 'hit';
  }
  const crop = await cropOf(source, cfg, resize, tars);
  cache.write(key, crop);
  use(crop);
  return found === 'bad' ? 'bad' : 'miss';
}

/**
 * Normalise a crop from cropOf into out[offset ...] (CHW float32). Synchronous, so a caller that
 * gave up on the image (a timeout) can decide not to write at all: the loader's batch buffers are
 * reused, and a late write would land in a later batch.
 */
export function normalizeCrop(crop: RgbImage, cfg: EvalConfig, out: Float32Array, offset: number): void {
  if (!imageModules) throw new Error('normalizeCrop before cropOf: the image modules are not loaded');
  imageModules.normalizeInto(crop, cfg, out, offset);
}

/** Decode + resize + crop + normalise an image (a path, or an ImageSource) into out[offset ...] (CHW float32). */
export async function processInto(
  source: string | ImageSource,
  cfg: EvalConfig,
  out: Float32Array,
  offset: number,
  resize: ResizeMode = 'exact',
  tars?: TarCache,
): Promise<void> {
  normalizeCrop(await cropOf(source, cfg, resize, tars), cfg, out, offset);
}

/**
 * The fast path's crop, padded as CenterCrop (zeros) or CenterCropOrPad (crop mode border: the mean
 * colour) pad when the crop is larger than the resized image. A config that trims a border
 * (crop_border_pixels) takes the exact path: libvips resizes the whole decoded image in one pipeline.
 */
export async function fastCrop(file: string | Uint8Array, cfg: EvalConfig, name?: string): Promise<RgbImage> {
  const m = await loadImageModules();
  if (cfg.cropBorderPixels) return m.cropResize(await m.decodeRgb(file, name), cfg);
  let plan: ResizePlan | undefined;
  const kept = await m.decodeResizeFast(file, cfg.interpolation, (w, h) => (plan = m.planResize(w, h, cfg)), name);
  return m.padToCrop(kept, plan!);
}

export function serializeError(e: unknown, file: string): SerializedError {
  if (e instanceof DataError) {
    return { data: true, message: e.message, file: e.file ?? file, expected: e.expected, fix: e.fix };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return { data: false, message: `${err.message} (while loading ${file})`, stack: err.stack };
}

export function deserializeError(s: SerializedError): Error {
  if (s.data) return new DataError(s.message, { file: s.file, expected: s.expected, fix: s.fix });
  const e = new Error(s.message);
  if (s.stack) e.stack = s.stack;
  return e;
}
