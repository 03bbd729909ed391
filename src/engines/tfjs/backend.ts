/**
 * Which TensorFlow.js backend runs the model. The native packages (@tensorflow/tfjs-node-gpu,
 * @tensorflow/tfjs-node) download libtensorflow in their install scripts, so zoo never depends on
 * them: they are imported at run time when the user has installed them, and their absence (or a
 * broken install: no libtensorflow, no CUDA 11.2 runtime) degrades to the wasm backend, which is
 * a pure npm package and works offline. `--device cuda` never degrades silently: it needs
 * tfjs-node-gpu actually running on a GPU, else an EngineError says how to get there.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { EngineError } from '../../errors.js';
import type { Device } from '../engine.js';

const require = createRequire(import.meta.url);

export const TFJS_NODE_GPU = '@tensorflow/tfjs-node-gpu';
export const TFJS_NODE = '@tensorflow/tfjs-node';

/** The version of tfjs-core we run; a native package must match it to share its engine. */
export const TFJS_VERSION: string = tf.version_core;

const GPU_NEEDS = 'libtensorflow 2.9.1, CUDA 11.2 and cuDNN 8.1 (Linux x64)';
const GPU_INSTALL = `npm install ${TFJS_NODE_GPU}@${TFJS_VERSION} with network access (its install script downloads libtensorflow)`;
const GPU_FIX = `${GPU_INSTALL}; it runs on CUDA 11.2 with cuDNN 8.1`;
const NODE_FIX = `npm install ${TFJS_NODE}@${TFJS_VERSION} with network access (its install script downloads libtensorflow 2.9.1)`;

export interface BackendChoice {
  /** tfjs backend name: `tensorflow` (tfjs-node[-gpu]), `wasm` or `cpu`. */
  readonly name: 'tensorflow' | 'wasm' | 'cpu';
  readonly device: Device;
  /** For LoadedModel.backend: `tfjs tensorflow (cuda)`, `tfjs wasm`, ... */
  readonly label: string;
  /** Set when zoo fell back from a faster backend; the CLI prints it once. */
  readonly note?: string;
  /** Intra-op threads it computes with (LoadedModel.threads); null on CUDA. */
  readonly threads: number | null;
}

export interface BackendReport {
  name: string;
  available: boolean;
  reason: string;
  fix?: string;
}

interface NativeProbe {
  installed: boolean;
  loaded: boolean;
  /** Why it cannot be used (when !loaded), or what it runs on. */
  reason: string;
  /** Only for tfjs-node-gpu that loaded: whether TensorFlow found a CUDA device. */
  usingGpu?: boolean;
}

/** True when `pkg` is resolvable from here, without loading it. */
function isInstalled(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/** The first line of a load failure, translated where we recognise it. */
function explainLoadError(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const first = msg.split('\n')[0] ?? msg;
  if (/libcudart|libcublas|libcufft|libcurand|libcusolver|libcusparse/.test(msg)) {
    return `the CUDA 11.2 runtime was not found (${first})`;
  }
  if (/libcudnn/.test(msg)) return `cuDNN 8.1 was not found (${first})`;
  if (/libtensorflow/.test(msg)) return `libtensorflow is missing or unloadable (${first})`;
  if (/tfjs_binding\.node/.test(msg)) return `its native binding was not built (${first})`;
  return first;
}

interface KernelBackendFlags {
  isGPUPackage?: unknown;
  isUsingGpuDevice?: unknown;
}

const probes = new Map<string, Promise<NativeProbe>>();

/**
 * Imports a native tfjs package (once per process) and checks that it registered the
 * `tensorflow` backend on *our* tfjs-core: a different version installs its own copy of the core
 * and registers there, invisible to us.
 */
function probeNative(pkg: string): Promise<NativeProbe> {
  let p = probes.get(pkg);
  if (!p) {
    p = (async (): Promise<NativeProbe> => {
      if (!isInstalled(pkg)) return { installed: false, loaded: false, reason: 'not installed' };
      // tfjs-node-gpu and tfjs-node both register `tensorflow`: only one may load per process.
      const other = pkg === TFJS_NODE_GPU ? TFJS_NODE : TFJS_NODE_GPU;
      const otherProbe = probes.get(other);
      if (otherProbe && (await otherProbe).loaded) {
        return { installed: true, loaded: false, reason: `${other} is already loaded in this process` };
      }
      try {
        const spec: string = pkg;
        const mod: unknown = await import(spec);
        void mod;
      } catch (err) {
        return { installed: true, loaded: false, reason: explainLoadError(err) };
      }
      if (!tf.findBackend('tensorflow') && !tf.findBackendFactory('tensorflow')) {
        return {
          installed: true,
          loaded: false,
          reason: `it loaded but registered on another copy of @tensorflow/tfjs-core (zoo uses ${TFJS_VERSION}; install the same version)`,
        };
      }
      if (!(await tf.setBackend('tensorflow'))) {
        return { installed: true, loaded: false, reason: 'the tensorflow backend failed to initialise' };
      }
      const flags = tf.backend() as unknown as KernelBackendFlags;
      const usingGpu = flags.isUsingGpuDevice === true;
      return {
        installed: true,
        loaded: true,
        reason: usingGpu ? 'TensorFlow found a CUDA device' : 'TensorFlow runs on the CPU',
        usingGpu,
      };
    })();
    probes.set(pkg, p);
  }
  return p;
}

let wasmInit: Promise<{ ok: boolean; reason: string; threads: number }> | undefined;

/** The folder holding the .wasm binaries, resolved from the installed package so it works offline. */
export function wasmBinaryDir(): string {
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '/');
}

function initWasm(threads: number | undefined): Promise<{ ok: boolean; reason: string; threads: number }> {
  if (!wasmInit) {
    wasmInit = (async () => {
      try {
        setWasmPaths(wasmBinaryDir());
        // Threads need the threaded binary, which tfjs only uses where it detects support; under
        // Node it never does (tfjs issue #3830: no worker-based pthreads in Node), so this call
        // matters only if that changes.
        const mt = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) === true;
        if (mt && threads !== undefined) setThreadsCount(threads);
        if (!(await tf.setBackend('wasm'))) return { ok: false, reason: 'the wasm backend failed to initialise', threads: 1 };
        const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
        return {
          ok: true,
          reason: `WebAssembly${simd ? ' with SIMD' : ' without SIMD'}, ${mt ? 'multi-threaded' : 'single-threaded (tfjs has no wasm threads under Node)'}`,
          threads: mt ? (threads ?? availableParallelism()) : 1,
        };
      } catch (err) {
        return { ok: false, reason: explainLoadError(err), threads: 1 };
      }
    })();
  }
  return wasmInit;
}

const selections = new Map<Device, Promise<BackendChoice>>();

/**
 * Picks and activates the backend for `device`: cuda -> tfjs-node-gpu on a GPU or an EngineError;
 * cpu -> tfjs-node, else wasm, else the pure-JS cpu backend.
 */
export function selectBackend(device: Device, threads?: number): Promise<BackendChoice> {
  let p = selections.get(device);
  if (!p) {
    p = choose(device, threads);
    selections.set(device, p);
    p.catch(() => selections.delete(device));
  }
  return p.then(async (choice) => {
    await activate(choice.name);
    return choice;
  });
}

/**
 * Makes `name` the active backend. tfjs has one global engine: describeTfjsBackends (or another
 * model) may have switched it, so every load and batch re-asserts its own. Reads the engine's
 * field rather than tf.getBackend(), which would initialise a default backend as a side effect.
 */
export async function activate(name: BackendChoice['name']): Promise<void> {
  if (tf.engine().backendName !== name && !(await tf.setBackend(name))) {
    throw new EngineError(`the TensorFlow.js ${name} backend could not be activated`, {
      fix: 'use --engine onnxruntime',
    });
  }
}

async function choose(device: Device, threads: number | undefined): Promise<BackendChoice> {
  if (threads !== undefined && process.env['TF_NUM_INTRAOP_THREADS'] === undefined) {
    // Read by libtensorflow when tfjs-node's binding loads.
    process.env['TF_NUM_INTRAOP_THREADS'] = String(threads);
  }
  if (device === 'cuda') {
    const gpu = await probeNative(TFJS_NODE_GPU);
    if (gpu.loaded && gpu.usingGpu) return { name: 'tensorflow', device: 'cuda', label: 'tfjs tensorflow (cuda)', threads: null };
    const why = gpu.loaded
      ? `${TFJS_NODE_GPU} loaded but TensorFlow found no usable CUDA device (it needs the CUDA 11.2 and cuDNN 8.1 libraries on the library path and an NVIDIA driver)`
      : gpu.installed
        ? `${TFJS_NODE_GPU} could not load: ${gpu.reason}`
        : `${TFJS_NODE_GPU} is not installed`;
    throw new EngineError(`--device cuda: the tfjs engine has no CUDA backend: ${why}`, {
      expected: `${TFJS_NODE_GPU} with ${GPU_NEEDS}`,
      fix: gpu.installed
        ? 'install CUDA 11.2 and cuDNN 8.1, or use --engine onnxruntime --device cuda (CUDA 12), or --device cpu'
        : `${GPU_INSTALL}, or use --engine onnxruntime --device cuda (CUDA 12), or --device cpu`,
    });
  }
  const native = await probeNative(TFJS_NODE);
  // libtensorflow reads TF_NUM_INTRAOP_THREADS when it loads (set above from --threads); unset, it uses every core.
  if (native.loaded) return { name: 'tensorflow', device: 'cpu', label: 'tfjs tensorflow (cpu)', threads: Number(process.env['TF_NUM_INTRAOP_THREADS']) || availableParallelism() };
  const wasm = await initWasm(threads);
  // --device cpu never loads tfjs-node-gpu (it would take the GPU); point at it when it is there.
  const gpuHint = isInstalled(TFJS_NODE_GPU) ? ` (${TFJS_NODE_GPU} is installed: --device cuda uses it)` : '';
  const why = (native.installed ? `${TFJS_NODE} could not load: ${native.reason}` : `${TFJS_NODE} is not installed`) + gpuHint;
  if (wasm.ok) {
    return {
      name: 'wasm',
      device: 'cpu',
      label: 'tfjs wasm',
      threads: wasm.threads,
      note: `tfjs: ${why}; running on the WebAssembly backend (slower). For native speed: ${NODE_FIX}`,
    };
  }
  if (!(await tf.setBackend('cpu'))) {
    throw new EngineError('no TensorFlow.js backend could be initialised', {
      expected: 'the wasm or cpu backend of TensorFlow.js',
      fix: 'reinstall zoo (npm ci), or use --engine onnxruntime',
    });
  }
  return {
    name: 'cpu',
    device: 'cpu',
    label: 'tfjs cpu',
    threads: 1, // the pure-JavaScript backend runs on the main thread
    note: `tfjs: ${why} and the wasm backend failed (${wasm.reason}); running on the pure-JavaScript cpu backend (very slow)`,
  };
}

/** For `zoo info --engines`: every tfjs backend, whether it can run here, why (not), and the fix. */
export async function describeTfjsBackends(): Promise<BackendReport[]> {
  const out: BackendReport[] = [];
  const gpu = await probeNative(TFJS_NODE_GPU);
  if (gpu.loaded && gpu.usingGpu) {
    out.push({ name: `${TFJS_NODE_GPU} (cuda)`, available: true, reason: gpu.reason });
  } else if (gpu.loaded) {
    out.push({
      name: `${TFJS_NODE_GPU} (cuda)`,
      available: false,
      reason: 'installed, but TensorFlow found no usable CUDA device',
      fix: 'install CUDA 11.2 and cuDNN 8.1 and put their libraries on LD_LIBRARY_PATH',
    });
  } else {
    out.push({ name: `${TFJS_NODE_GPU} (cuda)`, available: false, reason: gpu.reason, fix: GPU_FIX });
  }
  const native = await probeNative(TFJS_NODE);
  if (native.loaded) out.push({ name: `${TFJS_NODE} (cpu)`, available: true, reason: native.reason });
  else if (gpu.loaded) {
    out.push({ name: `${TFJS_NODE} (cpu)`, available: false, reason: `not needed: ${TFJS_NODE_GPU} provides the same backend` });
  } else out.push({ name: `${TFJS_NODE} (cpu)`, available: false, reason: native.reason, fix: NODE_FIX });
  const wasm = await initWasm(undefined);
  out.push({
    name: '@tensorflow/tfjs-backend-wasm (cpu)',
    available: wasm.ok,
    reason: wasm.reason,
    ...(wasm.ok ? {} : { fix: 'reinstall zoo (npm ci)' }),
  });
  out.push({ name: '@tensorflow/tfjs-backend-cpu (cpu)', available: tf.findBackendFactory('cpu') !== null, reason: 'pure JavaScript, slow' });
  return out;
}
