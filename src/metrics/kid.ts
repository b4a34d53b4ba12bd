import { Rng } from '../util/rng';
import type { MetricSpec } from './types';

/** Rows `idx` of `x` [·, dim], copied into one contiguous Float64Array. */
function gather(x: Float32Array, idx: ArrayLike<number>, dim: number): Float64Array {
  const out = new Float64Array(idx.length * dim);
  for (let i = 0; i < idx.length; i++) for (let d = 0; d < dim; d++) out[i * dim + d] = x[idx[i]! * dim + d]!;
  return out;
}

/** Σ k(a_i, b_j) with k(x, y) = (x·y / d + 1)³, over all pairs, or over i ≠ j when `a` is `b`. */
function kernelSum(a: Float64Array, b: Float64Array, m: number, dim: number): number {
  const same = a === b;
  let sum = 0;
  for (let i = 0; i < m; i++) {
    const ai = i * dim;
    for (let j = same ? i + 1 : 0; j < m; j++) {
      const bj = j * dim;
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += a[ai + d]! * b[bj + d]!;
      const t = dot / dim + 1;
      sum += t * t * t;
    }
  }
  return same ? 2 * sum : sum;
}

/**
 * Kernel Inception Distance (Bińkowski et al., 2018) in whatever feature space `x` and `y`
 * live in: the unbiased estimate of MMD² with the cubic polynomial kernel
 * k(x, y) = (x·y / d + 1)³, on `subsets` random subsets of `subsetSize` rows drawn (without
 * replacement within a subset) from each set. Returns the mean over subsets and its standard
 * deviation. Unbiased, so it can come out slightly negative when the sets match.
 *
 * @param x [nx, dim] row-major; y [ny, dim]
 */
export function kernelDistance(x: Float32Array, nx: number, y: Float32Array, ny: number, dim: number, subsets = 10, subsetSize = 1000, seed = 0): { kid: number; kidStd: number } {
  const m = Math.min(subsetSize, nx, ny);
  if (m < 2) return { kid: NaN, kidStd: NaN };
  const rng = new Rng(seed);
  const values: number[] = [];
  for (let s = 0; s < subsets; s++) {
    const xs = gather(x, rng.shuffle(Uint32Array.from({ length: nx }, (_, i) => i)).subarray(0, m), dim);
    const ys = gather(y, rng.shuffle(Uint32Array.from({ length: ny }, (_, i) => i)).subarray(0, m), dim);
    const kxx = kernelSum(xs, xs, m, dim);
    const kyy = kernelSum(ys, ys, m, dim);
    const kxy = kernelSum(xs, ys, m, dim);
    values.push((kxx + kyy) / (m * (m - 1)) - (2 * kxy) / (m * m));
  }
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  return { kid: mean, kidStd: std };
}

export const kidMetric: MetricSpec = {
  name: 'kid',
  description: 'kernel distance: unbiased MMD² with k(x,y) = (x·y/d + 1)³, mean ± std over 10 subsets of ≤ 1000; ≈ 0 for matching sets',
  cheap: true,
  compute: ({ real, fake, seed, options }) => kernelDistance(fake.features, fake.n, real.test.features, real.test.n, real.dim, options.kidSubsets, options.kidSubsetSize, seed),
};
