#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/ (compiled from src/cli by `npm run build`).
// SIGINT/SIGTERM are trapped before the CLI's modules load (a dependency-free module), so a signal
// in the first moments exits 130 like any interruption, not by the signal (143).
import { trapSignals } from '../dist/run/interrupt.js';

trapSignals();
const { main } = await import('../dist/cli/main.js');

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`zoo: internal error: ${err?.stack ?? err}\n`); process.exitCode = 70; },
);
