import * as tf from '@tensorflow/tfjs';
import { loadAddon, nativeKernelFallbacks, nativeKernelHits, openblasInstalled, registerNativeBackend, setNativeGemm, type NativeGemm } from './index';

/**
 * Shared setup for the native-kernel tests: registers the backend, and decides whether to run.
 * In CI (process.env.CI set) a missing addon is an error, never a skip (it builds wherever g++
 * does), and so is an addon without OpenBLAS where libopenblas is installed (both GEMMs are tested).
 */
export const unavailable = registerNativeBackend();
if (unavailable && process.env.CI) {
  throw new Error(`native backend tests cannot run in CI: ${unavailable}`);
}
if (!unavailable && process.env.CI && openblasInstalled() && !(loadAddon() as { info(): { openblas: boolean } }).info().openblas) {
  throw new Error('native backend tests in CI: libopenblas is installed but the addon was built without it');
}
if (unavailable) console.warn(`[native tests] skipped: ${unavailable}`);
export const suiteName = (name: string) => (unavailable ? `${name} (skipped: ${unavailable})` : name);

/** The GEMMs every kernel test runs with: OpenBLAS (when the addon has it) and the builtin one. */
export const GEMMS: NativeGemm[] = (() => {
  const addon = loadAddon();
  return typeof addon !== 'string' && addon.info().openblas ? ['openblas', 'builtin'] : ['builtin'];
})();

/**
 * Runs `f` once per GEMM (restoring the default afterwards). With `narrowToo`, also on the builtin
 * GEMM with its 16-wide AVX2 micro-kernels where the default ones are 32 wide (AVX-512): the
 * convolutions pack differently for them.
 */
export async function withEachGemm(f: (gemm: string) => Promise<void>, narrowToo = false): Promise<void> {
  const addon = loadAddon();
  const wide = typeof addon !== 'string' && addon.info().gemmKernel === 'avx512';
  const runs: Array<[NativeGemm, 'default' | 'avx2']> = GEMMS.map((g) => [g, 'default']);
  if (narrowToo && wide && setNativeGemm('builtin', 'avx2') === null) runs.push(['builtin', 'avx2']);
  try {
    for (const [gemm, kernel] of runs) {
      const why = setNativeGemm(gemm, kernel);
      if (why) throw new Error(why);
      await f(kernel === 'default' ? gemm : `${gemm} (${kernel})`);
    }
  } finally {
    setNativeGemm('default');
  }
}

/** Deterministic uniform numbers in [lo, hi). */
export function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

export interface Result {
  shape: number[];
  dtype: string;
  data: Float32Array | Int32Array | Uint8Array;
}

/** Runs `f` on one backend and returns its output(s) as plain data; tensors are freed. */
export async function runOn(backend: string, f: () => tf.Tensor | tf.Tensor[]): Promise<Result[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(f);
  const list = Array.isArray(outs) ? outs : [outs];
  const res = list.map((t) => ({ shape: t.shape.slice(), dtype: t.dtype, data: (t.dataSync() as Float32Array).slice() }));
  tf.dispose(list);
  return res;
}

/** max |a − b| / max |b| (0 when both are all zeros). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    if (a[i] === b[i]) continue; // also equal infinities
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) {
      if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
      return Infinity;
    }
    if (d > num) num = d;
    if (Math.abs(b[i]) > den) den = Math.abs(b[i]);
  }
  return den === 0 ? num : num / den;
}

/**
 * Runs `f` on 'cpu' (reference) and on 'native' with each GEMM (and the builtin's narrow
 * micro-kernels, see withEachGemm); checks shapes, dtypes and a
 * relative error ≤ tol, and that `kernel` (if given) took the native path at least once.
 */
export async function compare(f: () => tf.Tensor | tf.Tensor[], kernel?: string | string[], tol = 1e-4): Promise<number> {
  const ref = await runOn('cpu', f);
  let worst = 0;
  await withEachGemm(async (gemm) => {
    nativeKernelHits(true);
    const got = await runOn('native', f);
    const hits = nativeKernelHits(true);
    if (got.length !== ref.length) throw new Error(`${gemm}: output count ${got.length} vs ${ref.length}`);
    for (let i = 0; i < ref.length; i++) {
      if (JSON.stringify(got[i].shape) !== JSON.stringify(ref[i].shape)) throw new Error(`${gemm}: shape [${got[i].shape}] vs [${ref[i].shape}]`);
      if (got[i].dtype !== ref[i].dtype) throw new Error(`${gemm}: dtype ${got[i].dtype} vs ${ref[i].dtype}`);
      const e = relErr(got[i].data, ref[i].data);
      if (!(e <= tol)) throw new Error(`${gemm}: output ${i}: relative error ${e} > ${tol}`);
      worst = Math.max(worst, e);
    }
    for (const k of kernel === undefined ? [] : Array.isArray(kernel) ? kernel : [kernel]) {
      if (!hits[k]) throw new Error(`${gemm}: kernel ${k} did not run natively (native hits: ${JSON.stringify(hits)})`);
    }
  }, true);
  return worst;
}

/**
 * Runs `f` on 'cpu' and 'native' and checks that every kernel in `kernels` ran on native through
 * its JS fallback (never the addon), with outputs equal to cpu's bit for bit.
 */
export async function compareFallback(f: () => tf.Tensor | tf.Tensor[], kernels: string[]): Promise<void> {
  const ref = await runOn('cpu', f);
  nativeKernelHits(true);
  nativeKernelFallbacks(true);
  const got = await runOn('native', f);
  const hits = nativeKernelHits(true);
  const fell = nativeKernelFallbacks(true);
  for (const k of kernels) {
    if (hits[k]) throw new Error(`kernel ${k} ran in the addon (${hits[k]} calls), expected the cpu fallback`);
    if (!fell[k]) throw new Error(`kernel ${k} did not fall back (fallbacks: ${JSON.stringify(fell)})`);
  }
  if (got.length !== ref.length) throw new Error(`output count ${got.length} vs ${ref.length}`);
  for (let i = 0; i < ref.length; i++) {
    if (got[i].dtype !== ref[i].dtype || JSON.stringify(got[i].shape) !== JSON.stringify(ref[i].shape)) throw new Error(`output ${i}: ${got[i].dtype}[${got[i].shape}] vs ${ref[i].dtype}[${ref[i].shape}]`);
    if (got[i].data.some((v, j) => !Object.is(v, ref[i].data[j]))) throw new Error(`output ${i} differs from cpu`);
  }
}
