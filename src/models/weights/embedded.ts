/** Model files shipped inside the package (assets/models/...): where they are on this install. */
import { fileURLToPath } from 'node:url';
import type { WeightsSource } from './source.js';

/** The package root sits three levels above src/models/weights (tests) and dist/models/weights. */
export function embeddedPath(source: Extract<WeightsSource, { kind: 'embedded' }>): string {
  return fileURLToPath(new URL(`../../../${source.path}`, import.meta.url));
}
