/**
 * Download progress on stderr (stdout stays clean for results): a cli-progress bar with
 * MB received, MB/s and ETA on a TTY; on anything else (CI logs, pipes) a plain line at every
 * 10% (every 50 MB when the size is unknown) and one at the end.
 */
import cliProgress from 'cli-progress';

export interface DownloadProgress {
  onProgress(received: number, total: number | undefined): void;
  done(): void;
}

const MB = 1024 * 1024;
const mb = (n: number) => (n / MB).toFixed(1);

export function downloadProgress(label: string, stream: NodeJS.WriteStream = process.stderr): DownloadProgress {
  const started = performance.now();
  const speed = (bytes: number) => bytes / Math.max(1e-3, (performance.now() - started) / 1000);
  /** Bytes already on disk when this run started (a resumed download) do not count toward the speed. */
  let first: number | undefined;
  let last = 0;
  let lastTotal: number | undefined;

  if (stream.isTTY) {
    let bar: cliProgress.SingleBar | undefined;
    const payload = (received: number) => {
      const rate = speed(received - (first ?? 0));
      const left = lastTotal !== undefined ? (lastTotal - received) / Math.max(rate, 1) : undefined;
      return {
        got: mb(received),
        of: lastTotal !== undefined ? mb(lastTotal) : '?',
        rate: mb(rate),
        etaText: left !== undefined ? `${Math.ceil(left)}s` : '-',
      };
    };
    return {
      onProgress: (received, total) => {
        first ??= received;
        last = received;
        lastTotal = total;
        if (!bar) {
          bar = new cliProgress.SingleBar(
            {
              stream,
              format: `${label} {bar} {percentage}% | {got}/{of} MB | {rate} MB/s | ETA {etaText}`,
              barsize: 24,
              hideCursor: true,
              clearOnComplete: false,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(total ?? 0, received, payload(received));
        }
        if (total !== undefined) bar.setTotal(total);
        bar.update(received, payload(received));
      },
      done: () => bar?.stop(),
    };
  }

  let nextMark = 0;
  const line = (received: number) => {
    const pct = lastTotal ? ` (${Math.floor((100 * received) / lastTotal)}%)` : '';
    const of = lastTotal !== undefined ? `/${mb(lastTotal)}` : '';
    stream.write(`zoo: downloading ${label}: ${mb(received)}${of} MB${pct}, ${mb(speed(received - (first ?? 0)))} MB/s\n`);
  };
  return {
    onProgress: (received, total) => {
      if (first === undefined) {
        first = received;
        stream.write(`zoo: downloading ${label}${total !== undefined ? ` (${mb(total)} MB)` : ''}${received ? `, resuming at ${mb(received)} MB` : ''}\n`);
      }
      last = received;
      lastTotal = total;
      const step = total ? total / 10 : 50 * MB;
      // A line each time a whole step (10%, or 50 MB) is crossed; the last one comes from done().
      if (received >= nextMark) {
        if (nextMark > 0 && (!total || received < total)) line(received);
        nextMark = (Math.floor(received / step) + 1) * step;
      }
    },
    done: () => {
      if (first !== undefined) line(last);
    },
  };
}
