/**
 * The crops a sweep group shares (issue 12, "decode once per config" with one engine at a time): the
 * models of a group run one after another, so the first one's crops are kept on disk for the others
 * in a temporary crop cache (src/data/crop-cache.ts) under zoo's cache folder,
 * `<cache>/sweep-crops/<pid>-XXXXXX`, removed when the group ends, on any exit, and after a kill -9 by
 * the next sweep (src/io/scratch-dir.ts). The first model decodes and stores each image, the others
 * read its exact uint8 crop; a miss (a model resumed past where another stopped) decodes and stores,
 * so the cache never changes a result.
 *
 * Created on first use, when the first model knows how many images it reads; if the crops would not
 * fit beside the free-space reserve, every model decodes its own images (said once).
 */
import { join } from 'node:path';
import type { EvalConfig } from '../models/eval-config.js';
import { cacheDir } from '../io/cache-dir.js';
import { roomIn, scratchDir, type ScratchDir } from '../io/scratch-dir.js';
import { humanBytes } from '../util/format.js';

/** Bytes an entry adds to its pixels: the header (key text) and file-system slack, generously. */
const ENTRY_OVERHEAD = 4096;

/** What a run of a group asks for its loader (EvalRequest.loading.sharedCrops). */
export interface SharedCrops {
  /** The crop cache folder for `images` images at `cfg`, or undefined: decode them (they do not fit). */
  dirFor(images: number, cfg: EvalConfig): string | undefined;
}

export class GroupCrops implements SharedCrops {
  private scratch: ScratchDir | null = null;
  private refused = false;
  /** The removal of a folder made and then refused (awaited by dispose). */
  private removing: Promise<void> | undefined;

  /** `models`: how many models of the group will read it; `say`: lines for the user; `quiet`: only the refusal is said. */
  constructor(
    private readonly models: number,
    private readonly say: (line: string) => void,
    private readonly quiet: boolean,
    /** Where the folder goes (tests); default zoo's cache folder. */
    private readonly root: string = join(cacheDir(), 'sweep-crops'),
  ) {}

  dirFor(images: number, cfg: EvalConfig): string | undefined {
    if (this.scratch) return this.scratch.dir;
    if (this.refused) return undefined;
    const [, h, w] = cfg.inputSize;
    const need = images * (h * w * 3 + ENTRY_OVERHEAD);
    let room: number;
    try {
      this.scratch = scratchDir(this.root);
      room = roomIn(this.scratch.dir);
    } catch (e) {
      return this.refuse(`cannot create ${this.root} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    if (need > room) return this.refuse(`${images} crops need ${humanBytes(need)}, ${humanBytes(Math.max(0, room))} free to use in ${this.root}`);
    if (!this.quiet) {
      this.say(`zoo: the ${this.models} models at ${h}x${w} ${cfg.interpolation} crop ${cfg.cropPct} share their crops: decoded once into ${this.scratch.dir} (${humanBytes(need)} at most), deleted when they end`);
    }
    return this.scratch.dir;
  }

  private refuse(why: string): undefined {
    this.removing = this.scratch?.dispose();
    this.scratch = null;
    this.refused = true;
    this.say(`zoo: warning: ${why}: each of the ${this.models} models decodes the images itself (set ZOO_CACHE to a larger disk, or pass --crop-cache DIR)`);
    return undefined;
  }

  /** Removes the folder (the group ended). */
  async dispose(): Promise<void> {
    await this.removing;
    await this.scratch?.dispose();
    this.scratch = null;
  }
}
