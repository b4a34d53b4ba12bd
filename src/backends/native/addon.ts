import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The C++ side (native/src/addon.cc registers the functions; one .cc per kind of kernel). All arrays are caller-allocated; shapes are checked here in TS. */
export interface NativeAddon {
  /** openblas: built with OpenBLAS; gemm: the GEMM in use; gemmKernel: the builtin GEMM's micro-kernels (avx512, avx2, portable). */
  info(): { threads: number; openblas: boolean; blasThreads: number; blasConfig: string; gemm: 'openblas' | 'builtin'; gemmKernel: string };
  /** Chooses the GEMM ('openblas' | 'builtin' | '' = default) and the builtin's micro-kernels ('avx512' | 'avx2' | 'portable' | ''); false (nothing changed) when unavailable. */
  setGemm(gemm: string, kernel: string): boolean;
  /** Pool threads, OpenBLAS threads (1: the pool splits GEMMs), optional im2col chunk size in floats. */
  setThreads(poolThreads: number, blasThreads: number, scratchFloats?: number): void;
  matMul(
    a: Float32Array, b: Float32Array, c: Float32Array,
    batchA: number, batchB: number, m: number, n: number, k: number,
    transA: boolean, transB: boolean,
    bias: Float32Array | null, act: number, alpha: number,
  ): void;
  /** C = op(A)·op(B) + beta·C (beta 0 or 1) with leading dimensions, row-major: the GEMM the kernels use (for tests). */
  gemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number,
    a: Float32Array, lda: number, b: Float32Array, ldb: number, beta: number, c: Float32Array, ldc: number,
  ): void;
  conv2d(x: Float32Array, w: Float32Array, y: Float32Array, params: Int32Array, bias: Float32Array | null, act: number, alpha: number): void;
  conv2dBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, params: Int32Array): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, params: Int32Array): void;
  unary(op: number, x: Float32Array, y: Float32Array, alpha: number): void;
  binary(op: number, a: Float32Array, b: Float32Array, y: Float32Array | Uint8Array, shape: Int32Array, aStrides: Int32Array, bStrides: Int32Array): void;
  reduce(op: number, x: Float32Array, y: Float32Array, outer: number, mid: number, inner: number, scale: number): void;
  transpose(x: Float32Array | Int32Array, y: Float32Array | Int32Array, shape: Int32Array, perm: Int32Array): void;
  tile(x: Float32Array | Int32Array, y: Float32Array | Int32Array, inShape: Int32Array, outShape: Int32Array): void;
  batchNorm(
    x: Float32Array, mean: Float32Array, variance: Float32Array,
    offset: Float32Array | null, scale: Float32Array | null, eps: number, y: Float32Array, channels: number,
  ): void;
  /** Training-mode batch norm over rows of `channels`: writes y, and the batch's mean and (biased) variance. */
  batchNormTrain(
    x: Float32Array, scale: Float32Array | null, offset: Float32Array | null, eps: number,
    y: Float32Array, mean: Float32Array, variance: Float32Array, channels: number,
  ): void;
  /** Its gradient: writes dx, dscale, doffset. */
  batchNormTrainGrad(
    dy: Float32Array, x: Float32Array, mean: Float32Array, variance: Float32Array, scale: Float32Array | null, eps: number,
    dx: Float32Array, dscale: Float32Array, doffset: Float32Array, channels: number,
  ): void;
  select(cond: Uint8Array, t: Float32Array, e: Float32Array, y: Float32Array): void;
  addN(xs: Float32Array[], y: Float32Array): void;
  /** Uniform numbers in [lo, hi), or with keepProb > 0 a mask of hi (kept) / lo. Deterministic per seed. */
  fillUniform(y: Float32Array, lo: number, hi: number, seed: number, keepProb?: number): void;
  /** dx = x > 0 ? dy : dy·alpha */
  leakyReluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array, alpha: number): void;
  /** One Adam step in one pass: writes wOut, mOut, vOut (float32 ops in the op-by-op order). */
  adam(
    w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array,
    wOut: Float32Array, mOut: Float32Array, vOut: Float32Array,
    beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, lr: number, eps: number,
  ): void;
}

/** Where `node scripts/build-native.mjs` puts the addon (override with FASHION_NATIVE_ADDON). */
export function addonPath(): string {
  return process.env.FASHION_NATIVE_ADDON ?? fileURLToPath(new URL('../../../native/build/Release/fashion_native.node', import.meta.url));
}

/** True when OpenBLAS headers and library are installed (so the addon can be built): native/find-blas.cjs, as the build uses. */
export function openblasInstalled(): boolean {
  const require = createRequire(import.meta.url);
  const { findOpenblas } = require(fileURLToPath(new URL('../../../native/find-blas.cjs', import.meta.url))) as { findOpenblas(): unknown };
  return findOpenblas() !== null;
}

let cached: NativeAddon | string | undefined;

/** Loads the addon once; returns it, or a one-line reason it is unavailable. */
export function loadAddon(): NativeAddon | string {
  if (cached !== undefined) return cached;
  const path = addonPath();
  if (!existsSync(path)) {
    cached = `native addon not built (${path} missing): run node scripts/build-native.mjs (needs g++ and make)`;
    return cached;
  }
  try {
    const require = createRequire(import.meta.url);
    cached = require(path) as NativeAddon;
  } catch (err) {
    cached = `native addon failed to load: ${(err as Error).message.split('\n')[0]}`;
  }
  return cached;
}
