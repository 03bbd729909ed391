/**
 * Eval progress on stderr: a cli-progress bar with running top-1/top-5, images/s and ETA on a TTY;
 * plain periodic lines otherwise (CI logs, pipes), at most every `intervalMs` and once at the end.
 */
import cliProgress from 'cli-progress';
import { duration } from './format.js';
import type { Io } from './main.js';

export interface EvalProgress {
  update(done: number, top1: number, top5: number): void;
  stop(): void;
}

export function evalProgress(total: number, io: Io, opts: { quiet?: boolean; label: string; intervalMs?: number; start?: number }): EvalProgress {
  if (opts.quiet) return { update() {}, stop() {} };
  const started = performance.now();
  // A resumed run starts at `start`: the rate and ETA count only this session's images.
  const start = opts.start ?? 0;
  const rate = (done: number) => (done - start) / Math.max(1e-9, (performance.now() - started) / 1000);
  if (io.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: io.stderr,
        format: `${opts.label} {bar} {value}/{total} | top-1 {top1}% top-5 {top5}% | {speed} img/s | ETA {etaText}`,
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, start, { top1: '-', top5: '-', speed: '-', etaText: '-' });
    return {
      update(done, top1, top5) {
        const r = rate(done);
        bar.update(done, {
          top1: top1.toFixed(2),
          top5: top5.toFixed(2),
          speed: r.toFixed(1),
          etaText: duration((total - done) / Math.max(r, 1e-9)),
        });
      },
      stop() {
        bar.stop();
      },
    };
  }
  const every = opts.intervalMs ?? 10_000;
  let last = started;
  let lastDone = start;
  let lastTop1 = 0;
  let lastTop5 = 0;
  const line = (done: number, top1: number, top5: number) => {
    const r = rate(done);
    const eta = done < total ? `, ETA ${duration((total - done) / Math.max(r, 1e-9))}` : '';
    io.stderr.write(
      `zoo: ${opts.label} ${done}/${total} images (${((100 * done) / total).toFixed(0)}%), top-1 ${top1.toFixed(3)}%, top-5 ${top5.toFixed(3)}%, ${r.toFixed(1)} images/s${eta}\n`,
    );
  };
  return {
    update(done, top1, top5) {
      [lastDone, lastTop1, lastTop5] = [done, top1, top5];
      const now = performance.now();
      if (now - last >= every) {
        last = now;
        line(done, top1, top5);
      }
    },
    stop() {
      if (lastDone > start) line(lastDone, lastTop1, lastTop5);
    },
  };
}
