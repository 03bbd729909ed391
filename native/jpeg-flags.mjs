#!/usr/bin/env node
/**
 * Compiler flags for libjpeg-turbo, printed for binding.gyp (`include` or `libs`): pkg-config's when
 * it knows libjpeg, else Homebrew's jpeg-turbo prefix on macOS, else nothing (the system paths, as on
 * Debian/Ubuntu, Fedora and Alpine). JPEG_TURBO_PREFIX overrides all of them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const want = process.argv[2];

function fromPrefix(prefix) {
  return want === 'include' ? `${prefix}/include` : `-L${prefix}/lib -Wl,-rpath,${prefix}/lib -ljpeg`;
}

function flags() {
  if (process.env.JPEG_TURBO_PREFIX) return fromPrefix(process.env.JPEG_TURBO_PREFIX);
  for (const prefix of ['/opt/homebrew/opt/jpeg-turbo', '/usr/local/opt/jpeg-turbo']) {
    if (process.platform === 'darwin' && existsSync(`${prefix}/include/jpeglib.h`)) return fromPrefix(prefix);
  }
  try {
    const out = execFileSync('pkg-config', [want === 'include' ? '--cflags-only-I' : '--libs', 'libjpeg'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return want === 'include' ? out.split(/\s+/).filter(Boolean).map((f) => f.replace(/^-I/, '')).join(' ') : out || '-ljpeg';
  } catch {
    return want === 'include' ? '' : '-ljpeg';
  }
}

process.stdout.write(flags() + '\n');
