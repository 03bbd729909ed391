/**
 * zoo's version, from the package.json shipped beside src/ and dist/ (results record it, so a page
 * or a diff can tell which zoo measured them).
 */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export const ZOO_VERSION = readVersion();
