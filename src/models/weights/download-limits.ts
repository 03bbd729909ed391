/**
 * How long a download may take, so a stalled or dripping server (a "slow loris": a byte every
 * few seconds never trips an idle timeout) cannot hang zoo:
 *
 *   ZOO_DOWNLOAD_TIMEOUT      overall deadline in seconds (default 21600, six hours)
 *   ZOO_DOWNLOAD_RATE_WINDOW  seconds over which at least MIN_BYTES_PER_S must arrive (default 60);
 *                             also how long a wait for another process's download lock may see
 *                             no progress
 *
 * DownloadWatchdog aborts its signal when a limit is crossed and says which in error().
 */
import { UsageError, WeightsError } from '../../errors.js';

/** The slowest transfer accepted, averaged over a rate window: 1 KiB/s. */
export const MIN_BYTES_PER_S = 1024;
const DEFAULT_TIMEOUT_S = 6 * 3600;
const DEFAULT_RATE_WINDOW_S = 60;

export interface DownloadLimits {
  deadlineMs: number;
  rateWindowMs: number;
}

function seconds(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) {
    throw new UsageError(`${name}=${JSON.stringify(raw.slice(0, 40))} is not a positive number of seconds`, {
      fix: `set ${name} to a number of seconds, e.g. ${name}=${fallback}, or unset it`,
    });
  }
  return v;
}

/** The limits the environment sets (defaults above). */
export function downloadLimits(): DownloadLimits {
  return {
    deadlineMs: seconds('ZOO_DOWNLOAD_TIMEOUT', DEFAULT_TIMEOUT_S) * 1000,
    rateWindowMs: seconds('ZOO_DOWNLOAD_RATE_WINDOW', DEFAULT_RATE_WINDOW_S) * 1000,
  };
}

type Tripped = { kind: 'idle' } | { kind: 'rate'; bytes: number } | { kind: 'deadline' };

/**
 * Aborts its signal when no byte arrives for `idleMs`, when fewer than MIN_BYTES_PER_S arrive
 * over a rate window, or at the deadline. Call received(n) for every chunk, stop() when done.
 */
export class DownloadWatchdog {
  private readonly controller = new AbortController();
  private idleTimer: NodeJS.Timeout | undefined;
  private rateTimer: NodeJS.Timeout | undefined;
  private readonly deadlineTimer: NodeJS.Timeout;
  private windowBytes = 0;
  private tripped: Tripped | undefined;

  constructor(
    private readonly idleMs: number,
    private readonly limits: DownloadLimits,
    private readonly url: string,
  ) {
    this.deadlineTimer = setTimeout(() => this.trip({ kind: 'deadline' }), limits.deadlineMs);
    this.received(0);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }
  get fired(): boolean {
    return this.controller.signal.aborted;
  }

  private trip(why: Tripped): void {
    if (this.tripped) return;
    this.tripped = why;
    this.controller.abort(new Error(why.kind));
  }

  /**
   * A response body starts: from now on each rate window must bring its share. (Before it, the
   * idle timeout covers a server that never answers.) Restarts the window on a retry.
   */
  bodyStarts(): void {
    clearInterval(this.rateTimer);
    this.windowBytes = 0;
    this.rateTimer = setInterval(() => {
      if (this.windowBytes < (MIN_BYTES_PER_S * this.limits.rateWindowMs) / 1000) this.trip({ kind: 'rate', bytes: this.windowBytes });
      this.windowBytes = 0;
    }, this.limits.rateWindowMs);
  }

  /** `bytes` more arrived (0: a request starts, which restarts the idle clock). */
  received(bytes: number): void {
    this.windowBytes += bytes;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.trip({ kind: 'idle' }), this.idleMs);
  }

  stop(): void {
    clearTimeout(this.idleTimer);
    clearInterval(this.rateTimer);
    clearTimeout(this.deadlineTimer);
  }

  /** The one-line error for the limit that fired; the .part is kept for a resume. */
  error(): WeightsError {
    const fix = 'run the command again later: the download resumes where it stopped';
    const why = this.tripped ?? { kind: 'idle' };
    switch (why.kind) {
      case 'idle':
        return new WeightsError(`the server sent no data for ${this.idleMs / 1000} s`, { file: this.url, fix });
      case 'rate':
        return new WeightsError(
          `the server sent ${why.bytes} bytes in ${this.limits.rateWindowMs / 1000} s, below the minimum of ${MIN_BYTES_PER_S} bytes/s (ZOO_DOWNLOAD_RATE_WINDOW sets the window)`,
          { file: this.url, fix },
        );
      case 'deadline':
        return new WeightsError(`the download took longer than ${this.limits.deadlineMs / 1000} s (ZOO_DOWNLOAD_TIMEOUT)`, { file: this.url, fix });
    }
  }
}
