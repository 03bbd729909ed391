/**
 * Engines by name. Each is imported on demand so that a missing optional native package (tfjs-node,
 * the CUDA provider) only matters when that engine is asked for.
 */
import type { Engine, EngineName } from './engine.js';

export async function getEngine(name: EngineName): Promise<Engine> {
  switch (name) {
    case 'onnxruntime':
      return (await import('./onnxruntime/index.js')).onnxruntimeEngine;
    case 'tfjs':
      return (await import('./tfjs/index.js')).tfjsEngine;
    default:
      throw new Error(`engine ${name} is not built yet`);
  }
}
