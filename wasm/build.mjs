#!/usr/bin/env node
/**
 * Assembles wasm/resize.wat into wasm/resize.wasm with wabt (a devDependency: only needed to rebuild;
 * the .wasm is committed so installs and runs never need a toolchain). `npm run build:wasm` runs this;
 * test/data-resize-wasm.test.ts checks the committed .wasm equals a fresh build, so they cannot drift.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const WAT = fileURLToPath(new URL('./resize.wat', import.meta.url));
const WASM = fileURLToPath(new URL('./resize.wasm', import.meta.url));

/** The bytes wasm/resize.wat assembles to (deterministic: no names section, no debug info). */
export async function assemble() {
  const { default: wabtInit } = await import('wabt');
  const wabt = await wabtInit();
  const mod = wabt.parseWat('resize.wat', readFileSync(WAT, 'utf8'), { simd: true });
  try {
    mod.validate();
    return new Uint8Array(mod.toBinary({ log: false, write_debug_names: false }).buffer);
  } finally {
    mod.destroy();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const bytes = await assemble();
  writeFileSync(WASM, bytes);
  process.stdout.write(`wrote ${WASM} (${bytes.length} bytes)\n`);
}
