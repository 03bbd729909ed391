#!/usr/bin/env node
/**
 * Engine throughput: images/s of onnxruntime (CPU) and tfjs (whatever backend it picks here; wasm
 * without the native packages) on the same recorded graphs, in one run, so the numbers share a
 * machine and a moment. Weights are random (throughput does not depend on their values, provided
 * they stay normal floats); inputs are random normalised images.
 *
 *   npm run build && node bench/engines.mjs [--models rexnet_100,resnext50_32x4d] [--batches 8,32]
 *       [--engines onnxruntime,tfjs] [--seconds 10] [--threads N] [--json out.json]
 *
 * For each (model, batch) every engine is loaded and warmed up with one batch (tfjs packs weights
 * and builds its XNNPACK operators on the first call), then the engines run whole batches in
 * alternation for about --seconds each (at least two batches each); images/s is per engine, over
 * its own batches only.
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { findArchitecture } from '../dist/models/architectures.js';
import { recordGraph } from '../dist/models/record.js';
import { getEngine } from '../dist/engines/index.js';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'rexnet_100,resnext50_32x4d' },
    batches: { type: 'string', default: '8,32' },
    engines: { type: 'string', default: 'onnxruntime,tfjs' },
    seconds: { type: 'string', default: '10' },
    size: { type: 'string', default: '224' },
    threads: { type: 'string' },
    json: { type: 'string' },
  },
});

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Random weights of a sensible scale (He-uniform convs, BN near identity) so nothing overflows or goes subnormal. */
function randomGraph(name, size) {
  const arch = findArchitecture(name);
  if (!arch) throw new Error(`unknown model ${name}`);
  const shapes = recordGraph(arch.forward, { size: [size, size] }).constants;
  const r = rng(1);
  const weights = new Map();
  for (const [key, t] of shapes) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.dtype === 'int64') {
      weights.set(key, { dtype: 'int64', shape: t.shape, data: new BigInt64Array(n) });
      continue;
    }
    const fanIn = t.shape.slice(1).reduce((a, b) => a * b, 1) || 1;
    const data = new Float32Array(n);
    if (key.endsWith('running_var')) data.fill(1);
    else if (key.endsWith('running_mean')) data.fill(0);
    else if (t.shape.length === 1) for (let i = 0; i < n; i++) data[i] = key.endsWith('bias') ? 0.1 * (r() - 0.5) : 1 + 0.2 * (r() - 0.5);
    else for (let i = 0; i < n; i++) data[i] = (r() * 2 - 1) * Math.sqrt(3 / fanIn);
    weights.set(key, { dtype: 'float32', shape: t.shape, data });
  }
  return recordGraph(arch.forward, { size: [size, size], weights, ...(arch.ignoreUnused ? { ignoreUnused: arch.ignoreUnused } : {}) });
}

const models = args.models.split(',');
const batches = args.batches.split(',').map(Number);
const engines = args.engines.split(',');
const seconds = Number(args.seconds);
const size = Number(args.size);
const threads = args.threads !== undefined ? Number(args.threads) : undefined;

console.log(
  `# ${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores, load average ${loadavg()[0].toFixed(2)}, node ${process.version}, ${size}x${size}`,
);
const rows = [];
for (const model of models) {
  const graph = randomGraph(model, size);
  for (const batch of batches) {
    const input = new Float32Array(batch * 3 * size * size);
    const r = rng(batch);
    for (let i = 0; i < input.length; i++) input[i] = r() * 4 - 2;
    // All engines loaded and warmed, then timed in alternation, batch by batch: on a shared
    // machine the load drifts, and alternating exposes every engine to the same drift.
    const runs = [];
    for (const engineName of engines) {
      const engine = await getEngine(engineName);
      const loaded = await engine.load(graph, { device: 'cpu', ...(threads !== undefined ? { threads } : {}) });
      const w0 = performance.now();
      await loaded.run(input, batch);
      runs.push({ engineName, loaded, firstBatchMs: performance.now() - w0, images: 0, ms: 0 });
    }
    const t0 = performance.now();
    while (runs.some((x) => x.images < 2 * batch) || performance.now() - t0 < seconds * 1000 * runs.length) {
      for (const x of runs) {
        const t = performance.now();
        await x.loaded.run(input, batch);
        x.ms += performance.now() - t;
        x.images += batch;
      }
    }
    for (const x of runs) {
      const row = {
        model,
        engine: x.engineName,
        backend: x.loaded.backend,
        batch,
        imagesPerSecond: (x.images * 1000) / x.ms,
        images: x.images,
        seconds: x.ms / 1000,
        firstBatchMs: x.firstBatchMs,
      };
      rows.push(row);
      console.log(
        `${model.padEnd(18)} ${x.loaded.backend.padEnd(18)} batch ${String(batch).padStart(3)}: ${row.imagesPerSecond.toFixed(2).padStart(8)} images/s` +
          `  (${x.images} images in ${row.seconds.toFixed(1)} s; first batch ${x.firstBatchMs.toFixed(0)} ms)`,
      );
      await x.loaded.dispose();
    }
  }
}
console.log(`# load average at the end ${loadavg()[0].toFixed(2)}`);
if (args.json) writeFileSync(args.json, JSON.stringify(rows, null, 2) + '\n');
