/**
 * Eval progress on stderr: on a TTY one status line, redrawn in place, that fits the terminal
 * (numbers first: label, count, top-1/top-5, images/s and ETA; the bar only with the room left,
 * and the least useful parts dropped before anything wraps); plain periodic lines otherwise (CI
 * logs, pipes), at most every `intervalMs` and once at the end.
 *
 * Messages while the line is up (Ctrl-C's "stopping after the current batch", warnings) go
 * through `say`, which clears the line first, so they start on a fresh line and the bar is
 * redrawn under them.
 */
import { fitToWidth } from './fit-width.js';
import { duration, pct } from '../util/format.js';
import type { Io } from './main.js';

export interface EvalProgress {
  update(done: number, top1: number, top5: number): void;
  stop(): void;
}

/** Where stderr lines go while a status line may be on screen. */
export interface StatusLine {
  /** Writes one line (newline added) on a fresh line, redrawing the status line below it. */
  say(line: string): void;
  /** Shows `text` as the status line (replacing the last one). */
  show(text: string): void;
  /** Leaves the status line on screen and moves to a fresh line. */
  end(): void;
}

/** The terminal's width for `stream`, or undefined when it is no terminal. */
export function terminalColumns(stream: { isTTY?: boolean; columns?: number }): number | undefined {
  if (!stream.isTTY) return undefined;
  const c = stream.columns ?? Number(process.env.COLUMNS);
  return Number.isFinite(c) && c > 0 ? c : 80;
}

export function statusLine(io: Io): StatusLine {
  let shown = '';
  const tty = io.stderr.isTTY === true;
  return {
    say(line) {
      // On a terminal a long message is word-wrapped, not cut by the terminal mid-word.
      const text = fitToWidth(line, terminalColumns(io.stderr));
      if (tty && shown) io.stderr.write(`\r\x1b[K${text}\n${shown}`);
      else io.stderr.write(`${text}\n`);
    },
    show(text) {
      if (!tty) return;
      shown = text;
      io.stderr.write(`\r\x1b[K${text}`);
    },
    end() {
      if (tty && shown) io.stderr.write('\n');
      shown = '';
    },
  };
}

/**
 * The status line for `columns`: the parts that fit, in order of importance (count, top-1/top-5,
 * img/s, ETA, label), and a bar only in the room left (at least 10 cells). Never longer than
 * `columns - 1` (the last column would wrap on some terminals).
 */
export function fitStatus(columns: number, p: { label: string; done: number; total: number; top1: string; top5: string; speed: string; eta: string }): string {
  const width = Math.max(1, columns - 1);
  const count = `${p.done}/${p.total}`;
  const acc = `top-1 ${p.top1}% top-5 ${p.top5}%`;
  const speed = `${p.speed} img/s`;
  const eta = `ETA ${p.eta}`;
  // Drop from the end of this list first until the text fits.
  const candidates = [
    [p.label, count, acc, speed, eta],
    [count, acc, speed, eta],
    [count, acc, speed],
    [count, acc],
    [count, `${p.top1}/${p.top5}%`],
    [count],
  ];
  let parts = candidates[candidates.length - 1]!;
  for (const c of candidates) {
    if (c.join(' | ').length <= width) {
      parts = c;
      break;
    }
  }
  const text = parts.join(' | ');
  const room = width - text.length - 1;
  if (room >= 12) {
    const cells = Math.min(40, room - 2);
    const filled = Math.round((cells * p.done) / Math.max(1, p.total));
    return `[${'#'.repeat(filled)}${'-'.repeat(cells - filled)}] ${text}`;
  }
  return text.slice(0, width);
}

export function evalProgress(
  total: number,
  io: Io,
  opts: { quiet?: boolean; label: string; intervalMs?: number; start?: number; top1?: number; top5?: number; status?: StatusLine },
): EvalProgress {
  if (opts.quiet) return { update() {}, stop() {} };
  const started = performance.now();
  // A resumed run starts at `start`, showing the top-1/top-5 of the images already counted; the
  // rate and ETA count only this session's images.
  const start = opts.start ?? 0;
  const rate = (done: number) => (done - start) / Math.max(1e-9, (performance.now() - started) / 1000);
  const columns = terminalColumns(io.stderr);
  if (columns !== undefined) {
    const status = opts.status ?? statusLine(io);
    const fmt = (v: number | undefined) => (v === undefined || start === 0 ? '-' : v.toFixed(2));
    let lastDraw = 0;
    const draw = (done: number, top1: string, top5: string, speed: string, eta: string) =>
      status.show(fitStatus(terminalColumns(io.stderr) ?? columns, { label: opts.label, done, total, top1, top5, speed, eta }));
    draw(start, fmt(opts.top1), fmt(opts.top5), '-', '-');
    let last = { done: start, top1: fmt(opts.top1), top5: fmt(opts.top5), speed: '-', eta: '-' };
    return {
      update(done, top1, top5) {
        const r = rate(done);
        last = { done, top1: pct(top1, 2), top5: pct(top5, 2), speed: r.toFixed(1), eta: duration((total - done) / Math.max(r, 1e-9)) };
        // Redraw at most 10 times a second: a fast loop must not spend its time on the terminal.
        const now = performance.now();
        if (now - lastDraw < 100 && done < total) return;
        lastDraw = now;
        draw(last.done, last.top1, last.top5, last.speed, last.eta);
      },
      stop() {
        draw(last.done, last.top1, last.top5, last.speed, last.eta);
        status.end();
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
      `zoo: ${opts.label} ${done}/${total} images (${((100 * done) / total).toFixed(0)}%), top-1 ${pct(top1)}%, top-5 ${pct(top5)}%, ${r.toFixed(1)} images/s${eta}\n`,
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
