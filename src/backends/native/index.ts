import { totalmem } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadAddon, type NativeAddon } from './addon';
import { FUSED_ADAM, fusedAdam, LEAKY_RELU_GRAD, leakyReluGrad, nativeOverrides, registerLeakyReluGradient, registerReductionGradients, type KernelArgs, type KernelImpl } from './kernels';
import { Recycler } from './recycler';
import { batchNormTrain, batchNormTrainGrad } from './batchnorm-kernels';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, DROPOUT_MASK } from '../kernel-names';

export { loadAddon, openblasInstalled, addonPath } from './addon';

/** Below wasm (2) and equal to cpu (1, registered first, so it keeps winning ties): registering never changes the default backend. */
const PRIORITY = 1;

let state: string | null | undefined;
const hits = new Map<string, number>();
const fallbacks = new Map<string, number>();

/** Recycled kernel outputs (see recycler.ts): at most a quarter of the machine's memory waits in it. */
export const recycler = new Recycler(Math.min(4 * 2 ** 30, totalmem() / 4));

type DataId = tf.TensorInfo['dataId'];
type Values = ReturnType<MathBackendCPU['readSync']>;

/** MathBackendCPU that tells the recycler when tensor data is written, read from outside a kernel, or deleted. */
class NativeBackend extends MathBackendCPU {
  override write(values: Parameters<MathBackendCPU['write']>[0], shape: number[], dtype: tf.DataType): DataId {
    const id = super.write(values, shape, dtype);
    recycler.hold(values, id);
    return id;
  }
  override readSync(dataId: DataId): Values {
    const v = super.readSync(dataId);
    recycler.read(this.data.get(dataId)?.values);
    return v;
  }
  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.get(dataId)?.values;
    const done = super.disposeData(dataId, force);
    if (values !== undefined && !this.data.has(dataId)) recycler.release(values, dataId);
    return done;
  }
}

/** Registers a TF.js backend named 'native' (a MathBackendCPU whose hot kernels run in the addon). Returns null on success, or a one-line reason it is unavailable (addon not built, library missing). Idempotent. */
export function registerNativeBackend(): string | null {
  if (state !== undefined) return state;
  const addon = loadAddon();
  if (typeof addon === 'string') {
    state = addon;
    return state;
  }
  if (process.env.FASHION_NATIVE_BLAS === 'openblas' && !addon.info().openblas) {
    state = 'FASHION_NATIVE_BLAS=openblas, but the native addon was built without OpenBLAS (install libopenblas-dev, then run node scripts/build-native.mjs)';
    return state;
  }
  if (tf.findBackendFactory('native') == null) {
    tf.registerBackend('native', () => new NativeBackend(), PRIORITY);
  }
  const overrides = nativeOverrides((n) => recycler.alloc(n));
  const already = new Set(tf.getKernelsForBackend('native').map((k) => k.kernelName));
  for (const k of tf.getKernelsForBackend('cpu')) {
    if (already.has(k.kernelName)) continue;
    const override = overrides[k.kernelName];
    const fallback = k.kernelFunc as unknown as KernelImpl;
    const name = k.kernelName;
    const run = override
      ? (args: KernelArgs) => {
          let fellBack = false;
          const result = override(addon as NativeAddon, args, (a) => {
            fellBack = true;
            return fallback(a);
          });
          const counts = fellBack ? fallbacks : hits;
          counts.set(name, (counts.get(name) ?? 0) + 1);
          return result;
        }
      : fallback;
    const kernelFunc = (args: KernelArgs) => {
      recycler.kernelDepth++;
      try {
        return run(args);
      } finally {
        recycler.kernelDepth--;
      }
    };
    tf.registerKernel({ ...k, backendName: 'native', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
  const own = {
    [FUSED_ADAM]: fusedAdam,
    [LEAKY_RELU_GRAD]: leakyReluGrad,
    [DROPOUT_MASK]: dropoutMask,
    [BATCH_NORM_TRAIN]: batchNormTrain,
    [BATCH_NORM_TRAIN_GRAD]: batchNormTrainGrad,
  };
  for (const [kernelName, impl] of Object.entries(own)) {
    const kernelFunc = (args: KernelArgs) => {
      hits.set(kernelName, (hits.get(kernelName) ?? 0) + 1);
      return impl(addon, args);
    };
    if (!already.has(kernelName)) tf.registerKernel({ kernelName, backendName: 'native', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
  registerLeakyReluGradient();
  registerReductionGradients();
  state = null;
  return state;
}

/**
 * Threads of the addon's pool (default: all cores, or FASHION_NATIVE_THREADS). GEMMs are split
 * across this pool with OpenBLAS itself single-threaded; `blasThreads` > 1 is for experiments only.
 */
export function setNativeThreads(threads: number, blasThreads = 1): void {
  const addon = loadAddon();
  if (typeof addon !== 'string') addon.setThreads(threads, blasThreads);
}

export type NativeGemm = 'openblas' | 'builtin';
export const GEMM_KERNELS = ['avx512', 'avx2', 'portable'] as const;

/**
 * Which GEMM the convolutions and matMuls use: OpenBLAS (when the addon was built with it) or the
 * builtin one; by default the builtin one on AVX-512 CPUs or without OpenBLAS, else OpenBLAS
 * (FASHION_NATIVE_BLAS=builtin|openblas overrides). `kernel`
 * picks the builtin's micro-kernels (default: the best this CPU runs). Returns a one-line reason
 * when the choice is unavailable, else null.
 */
export function setNativeGemm(gemm: NativeGemm | 'default', kernel: (typeof GEMM_KERNELS)[number] | 'default' = 'default'): string | null {
  const addon = loadAddon();
  if (typeof addon === 'string') return addon;
  if (addon.setGemm(gemm === 'default' ? '' : gemm, kernel === 'default' ? '' : kernel)) return null;
  if (gemm === 'openblas' && !addon.info().openblas) return 'the native addon was built without OpenBLAS (install libopenblas-dev, then run node scripts/build-native.mjs)';
  return `GEMM micro-kernels ${kernel} do not run on this CPU`;
}

/** The GEMM in use, for people: 'OpenBLAS 0.3.21 GEMM' or 'builtin GEMM (avx512)'. */
export function nativeGemmLabel(): string {
  const addon = loadAddon();
  if (typeof addon === 'string') return addon;
  const i = addon.info();
  return i.gemm === 'openblas' ? `${i.blasConfig.split(' ').slice(0, 2).join(' ')} GEMM` : `builtin GEMM (${i.gemmKernel})`;
}

/** The GEMM as far as it decides the bits: "openblas <its build's core>" or "builtin <micro-kernels>". */
export function nativeGemmIdentity(): string {
  const addon = loadAddon();
  if (typeof addon === 'string') return 'unavailable';
  const i = addon.info();
  // e.g. "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64" → "OpenBLAS 0.3.21 Haswell"
  return i.gemm === 'openblas' ? i.blasConfig.split(' ').filter((w) => w && !/^(NO_|USE_|DYNAMIC_ARCH|MAX_THREADS)/.test(w)).join(' ') : `builtin ${i.gemmKernel}`;
}

/** Names of the kernels that run in the addon (when their inputs are float32). */
export function nativeKernelNames(): string[] {
  return Object.keys(nativeOverrides()).sort();
}

/** How many calls of each kernel took the native path (not the JS fallback) since the last reset. */
export function nativeKernelHits(reset = false): Record<string, number> {
  const o = Object.fromEntries(hits);
  if (reset) hits.clear();
  return o;
}

/** How many calls of each overridden kernel fell back to the JS cpu kernel (e.g. int32 inputs) since the last reset. */
export function nativeKernelFallbacks(reset = false): Record<string, number> {
  const o = Object.fromEntries(fallbacks);
  if (reset) fallbacks.clear();
  return o;
}

/** The DROPOUT_MASK kernel: attrs {shape, rate, seed} → the mask of `nativeDropoutMask`. */
function dropoutMask(_addon: NativeAddon, args: KernelArgs): tf.TensorInfo {
  const { shape, rate, seed } = args.attrs as { shape: number[]; rate: number; seed: number };
  return args.backend.makeTensorInfo(shape, 'float32', nativeDropoutMask(tf.util.sizeFromShape(shape), rate, seed)!);
}

let seedCounter = 0x5eed;

/**
 * Fast uniform random numbers (a counter-based hash in the addon, all cores), deterministic per
 * seed. Returns null when the addon is unavailable.
 */
export function nativeUniform(n: number, lo = 0, hi = 1, seed?: number): Float32Array | null {
  const addon = loadAddon();
  if (typeof addon === 'string') return null;
  const y = new Float32Array(n);
  addon.fillUniform(y, lo, hi, seed ?? seedCounter++);
  return y;
}

/**
 * A dropout mask: 1/(1 − rate) with probability 1 − rate, else 0. The array comes from the
 * recycler: make one tensor of it and drop the array (it is reused after the tensor is disposed).
 */
export function nativeDropoutMask(n: number, rate: number, seed?: number): Float32Array | null {
  const addon = loadAddon();
  if (typeof addon === 'string') return null;
  const y = recycler.alloc(n);
  addon.fillUniform(y, 0, 1 / (1 - rate), seed ?? seedCounter++, 1 - rate);
  return y;
}
