/**
 * One decode pass shared by the models of a sweep group (issue 12, "decode once per config").
 *
 * Each model of a group runs its own `evaluate()` (state, checks, outputs exactly as a single run),
 * but instead of starting a loader of its own it opens a member of this pass: the first member to
 * open starts the one real loader, and every batch it yields goes to every member. The real loader is
 * asked for batch k+1 only when every member still in the pass has asked for it, so the pool buffer
 * batch k lives in (valid until the next batch is asked for) is never reused while a model still
 * reads it. A member leaves when its loader is closed (its run ended, failed or was interrupted) or
 * when its run settled without ever opening one (a model that failed to load): the others go on.
 *
 * The loader normalises with the config's mean/std, so a group is models whose whole preprocessing
 * (size, crop, interpolation, crop mode, mean, std) is equal: the batch every member reads is then
 * exactly the batch its own loader would have made. A member asking for other images (a resumed run
 * starting at its own image) or another config gets a loader of its own instead.
 */
import type { Sample } from '../data/dataset.js';
import { createLoader, type Batch, type Loader, type LoaderOptions } from '../data/loader.js';
import type { EvalConfig } from '../models/eval-config.js';

/** Opens a loader as `createLoader` does; what EvalRequest.openLoader takes. */
export type OpenLoader = (samples: readonly Sample[], cfg: EvalConfig, opts: LoaderOptions) => Loader;

/** The preprocessing a loader applies: models with equal keys may share decoded batches. */
export function preprocessKey(cfg: EvalConfig): string {
  return JSON.stringify([cfg.inputSize, cfg.cropPct, cfg.interpolation, cfg.cropMode, cfg.mean, cfg.std, cfg.cropBorderPixels ?? 0]);
}

function sampleKey(samples: readonly Sample[]): string {
  return samples.map((s) => `${s.file}\0${s.entry ?? ''}\0${s.label}`).join('\n');
}

interface Member {
  /** Still reading the pass (not closed, not left). */
  live: boolean;
  /** Batches this member has asked for (it is done with all before the last). */
  asked: number;
  wake: ((r: IteratorResult<Batch>) => void) | null;
  fail: ((e: unknown) => void) | null;
}

export class SharedPass {
  private readonly members: Member[];
  private source: Loader | null = null;
  private sourceKey = '';
  /** Batches taken from the real loader so far, and the latest. */
  private pulled = 0;
  private current: IteratorResult<Batch> | null = null;
  private error: unknown = null;
  private pulling = false;

  /** `size`: the models of the group, each of which opens a member or leaves. */
  constructor(size: number) {
    this.members = Array.from({ length: size }, () => ({ live: true, asked: 0, wake: null, fail: null }));
  }

  /** The loader opener for member `i` (a run opens at most one shared loader; a second is its own). */
  opener(i: number): OpenLoader {
    let opened = false;
    return (samples, cfg, opts) => {
      const key = `${preprocessKey(cfg)}\n${opts.batchSize}\n${opts.onError ?? 'stop'}\n${opts.cropCache ?? ''}\n${sampleKey(samples)}`;
      const m = this.members[i]!;
      if (opened || !m.live || (this.source && key !== this.sourceKey)) {
        this.leave(i);
        return createLoader(samples, cfg, opts);
      }
      opened = true;
      if (!this.source) {
        this.source = createLoader(samples, cfg, opts);
        this.sourceKey = key;
      }
      return this.memberLoader(i);
    };
  }

  /** Member `i` reads no more batches (idempotent): the others no longer wait for it. */
  leave(i: number): void {
    const m = this.members[i]!;
    if (!m.live) return;
    m.live = false;
    m.wake?.({ done: true, value: undefined });
    m.wake = m.fail = null;
    if (this.members.every((x) => !x.live)) {
      void this.source?.close();
      return;
    }
    void this.advance();
  }

  private memberLoader(i: number): Loader {
    const m = this.members[i]!;
    const next = (): Promise<IteratorResult<Batch>> => {
      if (!m.live) return Promise.resolve({ done: true, value: undefined });
      m.asked++;
      return new Promise<IteratorResult<Batch>>((resolve, reject) => {
        m.wake = resolve;
        m.fail = reject;
        void this.advance();
      });
    };
    const loader: Loader = {
      next,
      [Symbol.asyncIterator]() {
        return loader;
      },
      close: async () => this.leave(i),
      // The shared loader's figures (crop-cache hits): every member saw the same crops.
      stats: () => this.source!.stats(),
      return: async () => {
        this.leave(i);
        return { done: true, value: undefined };
      },
    };
    return loader;
  }

  /** Takes the next batch from the real loader once every live member has asked for it. */
  private async advance(): Promise<void> {
    if (this.pulling || !this.source) return;
    const live = this.members.filter((m) => m.live);
    if (live.length === 0) return;
    // A member that has asked for the current batch but not received it yet is served first.
    if (this.current && live.some((m) => m.asked === this.pulled && m.wake)) {
      for (const m of live) if (m.asked === this.pulled) this.deliver(m);
    }
    if (!live.every((m) => m.asked === this.pulled + 1)) return;
    if (this.error !== null || this.current?.done) {
      for (const m of live) this.deliver(m);
      return;
    }
    this.pulling = true;
    try {
      this.current = await this.source.next();
    } catch (e) {
      this.error = e;
    } finally {
      this.pulling = false;
    }
    this.pulled++;
    for (const m of this.members) if (m.live && m.asked === this.pulled) this.deliver(m);
  }

  private deliver(m: Member): void {
    const wake = m.wake;
    const fail = m.fail;
    m.wake = m.fail = null;
    if (this.error !== null) fail?.(this.error);
    else if (this.current) wake?.(this.current);
  }
}
