#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/ (compiled from src/cli by `npm run build`).
import { main } from '../dist/cli/main.js';

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`zoo: internal error: ${err?.stack ?? err}\n`); process.exitCode = 70; },
);
