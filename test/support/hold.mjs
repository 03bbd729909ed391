// Preload for interruption tests (NODE_OPTIONS=--import=<this file>), holding the real CLI at one
// known point so a test can signal it there deterministically (no race with timing):
//   ZOO_TEST_HOLD=rename       the first rename of a zoo temporary file (`*.tmp-*`) never completes;
//   ZOO_TEST_HOLD=read:<text>  the first fs.promises.readFile or O_NONBLOCK open (src/io/input.ts
//                              reads user-named inputs so) of a path containing <text> never completes;
//   ZOO_TEST_HOLD=rename-until-signal:<text>  the first rename onto a path containing <text> (a state
//                              save: the first comes after the first batch) waits for SIGINT/SIGTERM,
//                              then completes: the run stops mid-model with that state saved.
// Either way `zoo-test: holding ...` is written to stderr first. The held call is a promise that
// never settles (no thread is blocked), so the process can still exit normally.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const what = process.env.ZOO_TEST_HOLD ?? '';
let held = false;

function hold(description) {
  held = true;
  process.stderr.write(`zoo-test: holding ${description}\n`);
  setInterval(() => {}, 1 << 30); // keeps the process alive while held
  return new Promise(() => {});
}

const { rename, readFile, open } = fs.promises;
if (what === 'rename') {
  fs.promises.rename = async (from, to) => {
    if (!held && String(from).includes('.tmp-')) await hold(`the rename of ${from}`);
    return rename(from, to);
  };
} else if (what.startsWith('rename-until-signal:')) {
  const text = what.slice('rename-until-signal:'.length);
  fs.promises.rename = async (from, to) => {
    if (!held && String(to).includes(text)) {
      held = true;
      process.stderr.write(`zoo-test: holding the rename onto ${to} until a signal\n`);
      await new Promise((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
    return rename(from, to);
  };
} else if (what.startsWith('read:')) {
  const text = what.slice('read:'.length);
  fs.promises.readFile = async (file, ...rest) => {
    if (!held && String(file).includes(text)) await hold(`the read of ${file}`);
    return readFile(file, ...rest);
  };
  // Only the input reader's opens (O_NONBLOCK), not a weights file's or an output's.
  fs.promises.open = async (file, ...rest) => {
    const inputOpen = typeof rest[0] === 'number' && (rest[0] & fs.constants.O_NONBLOCK) !== 0;
    if (!held && inputOpen && String(file).includes(text)) await hold(`the read of ${file}`);
    return open(file, ...rest);
  };
}
syncBuiltinESMExports();
