/**
 * onnxruntime and tfjs agree on predictions for real images: the first 48 JPEGs of the val-227
 * sample through the real eval transform of rexnet_100 (its timm config), the golden recipe
 * checkpoint (the published one needs a download), both engines on CPU. Every image whose
 * onnxruntime top-1/top-2 margin exceeds the golden tolerance must have the same top-1 on tfjs.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processInto } from '../src/data/pipeline.js';
import type { LoadedModel } from '../src/engines/engine.js';
import { onnxruntimeEngine } from '../src/engines/onnxruntime/index.js';
import { tfjsEngine } from '../src/engines/tfjs/index.js';
import { resolveModel } from '../src/models/registry.js';
import { recordGraph } from '../src/models/record.js';
import { recipeCheckpoint, SHARED } from './support/golden.js';

const SAMPLE = join(SHARED, 'samples', 'val-227');
const IMAGES = 48;
const CLASSES = 1000;

function top2(row: Float32Array): [number, number, number] {
  let a = 0;
  let b = -1;
  for (let c = 1; c < row.length; c++) {
    if (row[c]! > row[a]!) {
      b = a;
      a = c;
    } else if (b < 0 || row[c]! > row[b]!) b = c;
  }
  return [a, row[a]!, row[a]! - row[b]!];
}

const models: LoadedModel[] = [];
afterAll(async () => {
  for (const m of models) await m.dispose();
});

describe('onnxruntime and tfjs agree on real images', () => {
  it(`rexnet_100, first ${IMAGES} images of val-227`, async () => {
    const resolved = resolveModel('rexnet_100');
    const cfg = resolved.tag.evalConfig;
    const [c, h, w] = cfg.inputSize;
    const files = readdirSync(SAMPLE).filter((f) => f.endsWith('.JPEG')).sort().slice(0, IMAGES);
    expect(files.length).toBe(IMAGES);
    const input = new Float32Array(IMAGES * c * h * w);
    for (let i = 0; i < files.length; i++) await processInto(join(SAMPLE, files[i]!), cfg, input, i * c * h * w, 'fast');

    const graph = recordGraph(resolved.architecture!.forward, { size: [h, w], weights: recipeCheckpoint('rexnet_100') });
    const ort = await onnxruntimeEngine.load(graph, { device: 'cpu' });
    const tfjs = await tfjsEngine.load(graph, { device: 'cpu' });
    models.push(ort, tfjs);
    const a = await ort.run(input, IMAGES);
    const b = new Float32Array(IMAGES * CLASSES);
    for (let i = 0; i < IMAGES; i += 16) {
      // Batches of 16, as `zoo eval` would feed them.
      b.set(await tfjs.run(input.subarray(i * c * h * w, (i + 16) * c * h * w), 16), i * CLASSES);
    }

    let decided = 0;
    const distinct = new Set<number>();
    for (let i = 0; i < IMAGES; i++) {
      const ra = a.subarray(i * CLASSES, (i + 1) * CLASSES);
      const rb = b.subarray(i * CLASSES, (i + 1) * CLASSES);
      const [ta, maxA, margin] = top2(ra);
      const [tb] = top2(rb);
      distinct.add(ta);
      const bound = 1e-3 * Math.max(1, Math.abs(maxA));
      if (margin > bound) {
        decided++;
        expect(tb, `${files[i]}: onnxruntime top-1 ${ta}, tfjs ${tb} (margin ${margin})`).toBe(ta);
      }
    }
    console.log(`agreement: ${decided} decided images agree, ${distinct.size} distinct classes`);
    // The comparison means something: most images are decided, and not all the same class.
    expect(decided).toBeGreaterThan(IMAGES * 0.9);
    expect(distinct.size).toBeGreaterThan(3);
  }, 120_000);
});
