/** rexnet: family file (to be written). */
import type { Architecture } from './arch.js';

export const architectures: Architecture[] = [];
