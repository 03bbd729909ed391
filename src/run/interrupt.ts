/**
 * SIGINT/SIGTERM, consistently exit 130 (README "Exit codes": interrupted), whenever they come.
 *
 * `trapSignals()` runs first thing in bin/zoo.js, before the CLI's modules load, so a signal in the
 * first moments (imports, model resolution, reading a --baseline) exits 130 with one line instead
 * of the process dying by the signal (shell status 143 for SIGTERM). While a run is going,
 * `catchInterrupts()` takes over: the first signal asks the run to stop after the batch in the
 * engine (the caller closes its loader, writes its partial result and state, and exits 130); a
 * second one exits at once, 130, relying on the state file written after the last batch. Exiting
 * goes through process.exit, so src/io/output.ts removes any temporary file being written and
 * src/io/lock.ts the state lock.
 */

export interface Interrupt {
  /** The signal received, or null. */
  readonly signal: NodeJS.Signals | null;
  /** Called once, on the first signal. */
  onStop(cb: () => void): void;
  /** Stops handling signals for the run: a later signal exits 130 at once. */
  dispose(): void;
}

/**
 * What a signal does now: the handlers of the runs going (a sweep group runs several at once, each
 * stops), or none (exit at once).
 */
const active = new Set<(sig: NodeJS.Signals) => void>();
let trapped = false;
let write: (line: string) => void = (line) => process.stderr.write(`${line}\n`);

function dispatch(sig: NodeJS.Signals): void {
  if (active.size > 0) {
    for (const handler of [...active]) handler(sig);
    return;
  }
  write(`zoo: interrupted (${sig})`);
  process.exit(130);
}

/** Installs the process's SIGINT/SIGTERM handlers (once; later calls do nothing). */
export function trapSignals(): void {
  if (trapped) return;
  trapped = true;
  process.on('SIGINT', dispatch);
  process.on('SIGTERM', dispatch);
}

export function catchInterrupts(say: (line: string) => void): Interrupt {
  trapSignals();
  write = say;
  let received: NodeJS.Signals | null = null;
  let stop: (() => void) | undefined;
  const handler = (sig: NodeJS.Signals) => {
    if (received) {
      say(`zoo: ${sig} again: exiting now; the state written after the last finished batch is kept`);
      process.exit(130);
    }
    received = sig;
    say(`zoo: ${sig}: stopping after the current batch (send it again to exit at once)`);
    stop?.();
  };
  active.add(handler);
  return {
    get signal() {
      return received;
    },
    onStop(cb) {
      stop = cb;
      if (received) cb();
    },
    dispose() {
      active.delete(handler);
    },
  };
}
