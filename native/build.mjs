#!/usr/bin/env node
/**
 * Builds the optional libjpeg-turbo decoder (native/zoo_jpeg.c -> native/build/Release/zoo_jpeg.node)
 * with the node-gyp that npm bundles, against the headers of the Node that runs this script: offline,
 * nothing is downloaded. Run by `npm install` (the "install" script) and by hand:
 *
 *   node native/build.mjs            build quietly; one line says the outcome; exit 0 even on failure
 *   node native/build.mjs --strict   the same, but exit 1 when the decoder could not be built (CI)
 *
 * A failed build never fails the install: zoo then decodes JPEGs with sharp, byte-identical, slower
 * (`zoo engines` says which decoder runs and what to install). The compiler's output goes to
 * native/build/build.log.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ADDON = join(HERE, 'build', 'Release', 'zoo_jpeg.node');
const LOG = join(HERE, 'build', 'build.log');
const strict = process.argv.includes('--strict');

/** node-gyp's entry script: the one npm passes to scripts, else npm's bundled copy, else a local one. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  const prefix = dirname(dirname(process.execPath));
  candidates.push(
    join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(prefix, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  );
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed locally: fine
  }
  return candidates.find((c) => existsSync(c));
}

/** The directory whose include/node holds this Node's headers (node-gyp's --nodedir), or undefined. */
function findNodeDir() {
  const prefix = dirname(dirname(process.execPath));
  for (const dir of [process.env.npm_config_nodedir, prefix, '/usr', '/usr/local']) {
    if (dir && existsSync(join(dir, 'include', 'node', 'node_api.h'))) return dir;
  }
  return undefined;
}

function finish(ok, message) {
  process.stdout.write(`zoo: ${message}\n`);
  process.exit(ok || !strict ? 0 : 1);
}

const FALLBACK = "JPEGs will be decoded with sharp (same pixels, slower); see README 'Fast JPEG decoding'";

const nodeGyp = findNodeGyp();
if (!nodeGyp) finish(false, `node-gyp not found (it comes with npm); ${FALLBACK}`);
const nodeDir = findNodeDir();
if (!nodeDir) finish(false, `the headers of Node ${process.version} were not found (include/node/node_api.h); ${FALLBACK}`);

mkdirSync(dirname(LOG), { recursive: true });
const run = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodeDir}`, '--loglevel=error'], {
  cwd: HERE,
  encoding: 'utf8',
  // Offline: node-gyp must never try to fetch headers.
  env: { ...process.env, npm_config_offline: 'true' },
});
writeFileSync(LOG, `${run.stdout ?? ''}${run.stderr ?? ''}`);
if (run.status !== 0 || !existsSync(ADDON)) {
  const missingLib = /jpeglib\.h|-ljpeg/.test(`${run.stdout}${run.stderr}`);
  const why = run.error ? String(run.error) : missingLib ? "libjpeg-turbo's headers or library are missing" : `the build failed (log: ${LOG})`;
  finish(false, `the libjpeg-turbo decoder was not built: ${why}; ${FALLBACK}`);
}
// Load it once here, so a library that links but cannot load (wrong libjpeg ABI) is reported now.
try {
  const addon = createRequire(import.meta.url)(ADDON);
  finish(true, `built the libjpeg-turbo JPEG decoder (libjpeg API ${addon.jpegLibVersion}): ${ADDON}`);
} catch (e) {
  finish(false, `the libjpeg-turbo decoder was built but does not load (${String(e).split('\n')[0]}); ${FALLBACK}`);
}
