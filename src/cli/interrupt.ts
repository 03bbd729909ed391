/**
 * SIGINT/SIGTERM during a long run: the first signal asks the run to stop after the batch in the
 * engine (the caller closes its loader, writes its partial result and state, and exits 130); a
 * second one exits at once, 130, relying on the state file written after the last batch.
 */

export interface Interrupt {
  /** The signal received, or null. */
  readonly signal: NodeJS.Signals | null;
  /** Called once, on the first signal. */
  onStop(cb: () => void): void;
  /** Removes the handlers (restoring the default: the process dies on the next signal). */
  dispose(): void;
}

export function catchInterrupts(say: (line: string) => void): Interrupt {
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
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    get signal() {
      return received;
    },
    onStop(cb) {
      stop = cb;
      if (received) cb();
    },
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
