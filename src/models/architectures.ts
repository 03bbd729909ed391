/** Every architecture zoo knows, from the family files. */
import type { Architecture } from './arch.js';
import { architectures as condensenetv2 } from './condensenetv2.js';
import { architectures as efficientnetv2 } from './efficientnetv2.js';
import { architectures as resnext } from './resnext.js';
import { architectures as rexnet } from './rexnet.js';

export const ARCHITECTURES: readonly Architecture[] = [...rexnet, ...resnext, ...condensenetv2, ...efficientnetv2];

export function findArchitecture(name: string): Architecture | undefined {
  return ARCHITECTURES.find((a) => a.name === name || a.goldenKey === name);
}
