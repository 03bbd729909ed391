/**
 * The default engine: the graph lowered to ONNX (lower.ts) and run by onnxruntime-node, on CPU,
 * or on the CUDA execution provider when its shared libraries are installed beside the binding.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import type { InferenceSession as OrtSession } from 'onnxruntime-node';
import { EngineError } from '../../errors.js';
import type { Graph } from '../../models/graph.js';
import type { Engine, EngineOptions, LoadedModel } from '../engine.js';
import { graphToOnnx, INPUT_NAME, OUTPUT_NAME } from './lower.js';

type Ort = typeof import('onnxruntime-node');

const require = createRequire(import.meta.url);

/** onnxruntime-node is loaded on first use, so `zoo list` and friends never pay for it. */
let ortPromise: Promise<Ort> | undefined;
export function loadOrt(): Promise<Ort> {
  ortPromise ??= import('onnxruntime-node').then((m) => ((m as { default?: Ort }).default ?? m) as Ort);
  return ortPromise;
}

/** Where onnxruntime-node keeps its native binding and where its installer puts the CUDA EP. */
export function ortBinaryDir(): string {
  const pkg = dirname(require.resolve('onnxruntime-node/package.json'));
  return join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}

/** The CUDA provider library onnxruntime loads for executionProviders: ['cuda']. */
export function cudaProviderPath(binaryDir = ortBinaryDir()): string {
  return join(binaryDir, 'libonnxruntime_providers_cuda.so');
}

/**
 * The command that installs the CUDA execution provider. onnxruntime-node's postinstall
 * (script/install.js) downloads it from NuGet; our .npmrc sets `onnxruntime-node-install=skip`
 * so a plain `npm install` works offline. The script reads ONNXRUNTIME_NODE_INSTALL before the npm
 * config, so this overrides the .npmrc without editing it.
 */
export function cudaInstallCommand(): string {
  const pkg = dirname(require.resolve('onnxruntime-node/package.json'));
  const script = join(pkg, 'script', 'install.js');
  const quoted = /^[\w./:@+-]+$/.test(script) ? script : `'${script.replace(/'/g, `'\\''`)}'`;
  return `ONNXRUNTIME_NODE_INSTALL=cuda12 node ${quoted}`;
}

/** Throws the EngineError a user sees when CUDA is asked for and cannot be provided. */
export function checkCudaAvailable(binaryDir = ortBinaryDir()): void {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new EngineError(`onnxruntime-node has no CUDA execution provider for ${process.platform}/${process.arch}`, {
      expected: 'linux/x64',
      fix: 'run on CPU (--device cpu), or try --engine tfjs',
    });
  }
  const lib = cudaProviderPath(binaryDir);
  if (!existsSync(lib)) {
    throw new EngineError('the onnxruntime CUDA execution provider is not installed', {
      file: lib,
      expected: 'libonnxruntime_providers_cuda.so beside the onnxruntime-node binding (needs CUDA 12 and cuDNN 9)',
      fix: `install it with: ${cudaInstallCommand()}`,
    });
  }
}

/**
 * CPU session options. Measured on the 2-core box this was written on (shared with other jobs),
 * rexnet_100, batch 32 at 224, variants interleaved in one process; ms are min / median of 10-12:
 * - allow_spinning '0' (intra and inter op): 601 / 1198 vs 793 / 1235 with spinning; at batch 1,
 *   20 vs 42 ms per image, and half the CPU time. Idle onnxruntime threads otherwise spin between
 *   ops and steal the cores that `zoo eval` needs for JPEG decode and resize running alongside.
 * - intraOpNumThreads = cores (caller's choice first): one thread was as fast on the loaded box
 *   (577 / 849) because the other core was busy elsewhere; on an idle machine convs scale.
 * - executionMode 'sequential': ReXNet-like graphs are chains; 'parallel' adds an inter-op pool
 *   that competes for the same cores (1321 / 3170).
 * - graphOptimizationLevel 'all': NCHWc layout and conv+activation fusion ('basic': 1000 / 1709).
 * - memory arena on: batches repeat the same shapes, so freed blocks are reused (arena off: 1028 / 3096).
 * - memory pattern OFF: no measurable speed difference, but the pattern planner pre-allocates one
 *   block for all intermediates and reuses little of it: peak RSS of a rexnet_100 batch-32 session
 *   985 MB with it, ~610 MB without (arena on both). Off keeps `zoo eval` under the 1 GB target.
 */
const NO_SPIN = { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } };

export function cpuSessionOptions(threads: number): OrtSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableCpuMemArena: true,
    enableMemPattern: false,
    extra: NO_SPIN,
  };
}

export function cudaSessionOptions(): OrtSession.SessionOptions {
  return {
    executionProviders: [{ name: 'cuda', deviceId: 0 }],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  };
}

export const onnxruntimeEngine: Engine = {
  name: 'onnxruntime',
  async load(graph: Graph, opts: EngineOptions): Promise<LoadedModel> {
    if (opts.device === 'cuda') checkCudaAvailable();
    const ort = await loadOrt();
    const model = graphToOnnx(graph);
    const options =
      opts.device === 'cuda' ? cudaSessionOptions() : cpuSessionOptions(opts.threads ?? availableParallelism());
    let session: OrtSession;
    try {
      session = await ort.InferenceSession.create(model, options);
    } catch (e) {
      if (opts.device === 'cuda') {
        throw new EngineError(`onnxruntime could not start its CUDA execution provider: ${(e as Error).message}`, {
          expected: 'an NVIDIA driver with CUDA 12 and cuDNN 9 libraries on the library path',
          fix: 'install CUDA 12 / cuDNN 9 (or add them to LD_LIBRARY_PATH), or run with --device cpu',
        });
      }
      throw e;
    }
    const [c, h, w] = graph.inputShape;
    const perImage = c * h * w;
    // onnxruntime-node reads tensor data through its ArrayBuffer and rejects shared memory ("Invalid
    // argument"), and the loader's batches live in SharedArrayBuffers its workers write into. Such
    // input is copied into this buffer, allocated once at the largest batch seen and reused: one
    // memcpy per batch (19 MB at 32x3x224x224, a few ms next to ~1 s of inference), no allocation.
    // Ordinary (ArrayBuffer) input goes to onnxruntime as it is, without a copy.
    let staging: Float32Array | undefined;
    /** Runs in flight: a second concurrent run of shared input gets a fresh copy, never the busy buffer. */
    let running = 0;
    const ownCopy = (input: Float32Array): Float32Array => {
      if (!(input.buffer instanceof SharedArrayBuffer)) return input;
      if (running > 1) return input.slice();
      if (!staging || staging.length < input.length) staging = new Float32Array(input.length);
      const view = staging.length === input.length ? staging : staging.subarray(0, input.length);
      view.set(input);
      return view;
    };
    return {
      engine: 'onnxruntime',
      backend: `onnxruntime ${opts.device}`,
      device: opts.device,
      threads: opts.device === 'cuda' ? null : (opts.threads ?? availableParallelism()),
      inputShape: graph.inputShape,
      async run(input: Float32Array, n: number): Promise<Float32Array> {
        if (input.length !== n * perImage) {
          throw new Error(`onnxruntime run: ${input.length} floats for ${n} images of ${c}x${h}x${w}`);
        }
        running++;
        let out: OrtSession.ReturnType;
        try {
          const feeds = { [INPUT_NAME]: new ort.Tensor('float32', ownCopy(input), [n, c, h, w]) };
          out = await session.run(feeds);
        } finally {
          running--;
        }
        // CPU output tensors own a fresh buffer: hand it back without copying.
        return out[OUTPUT_NAME]!.data as Float32Array;
      },
      async dispose(): Promise<void> {
        await session.release();
      },
    };
  },
};
