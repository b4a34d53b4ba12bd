import * as tf from '@tensorflow/tfjs';
import { readTidy } from '../util/tensors';

/**
 * Novelty: are the samples new designs, or copies of training images?
 *
 * The nearest training image of each sample is found by Euclidean distance (pixels in [-1, 1],
 * or classifier features). The same search for real *test* images calibrates it: those are
 * unseen by construction, and Fashion-MNIST's test set still has a few near-duplicates of
 * training images. memorisationRate = the share of samples nearer to their nearest training
 * image than the closest 1 % of test images are (≈ 0.01 for a generator that draws fresh
 * images from the data distribution; much more means copying).
 */

/** Lets timers and I/O run between chunks of long computations (progress output, test workers' RPC). */
export const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

/**
 * The nearest row of a pool for each query, by Euclidean distance, with the matrix products on
 * the active TF.js backend (‖q‖² − 2 q·p + ‖p‖²). The same answer as `nearestNeighbours(…, 1)`
 * of ./nearest (tested), and much faster for pixel-space searches over the training set (the
 * matrix product runs in the backend's BLAS or SIMD kernels).
 *
 * @param queries [nq, dim] row-major
 * @param poolRows rows in the pool
 * @param poolChunk returns pool rows [start, start + count) as a row-major Float32Array (lets
 *        callers convert uint8 images chunk by chunk instead of holding a float copy of the set)
 */
export async function nearestOnBackend(
  queries: Float32Array,
  nq: number,
  dim: number,
  poolRows: number,
  poolChunk: (start: number, count: number) => Float32Array,
  chunk = 4096,
): Promise<{ index: Int32Array; distance: Float32Array }> {
  const index = new Int32Array(nq);
  const best = new Float32Array(nq).fill(Infinity);
  if (nq === 0) return { index, distance: best };
  const q = tf.tensor2d(queries.subarray(0, nq * dim), [nq, dim]);
  const qn = tf.tidy(() => tf.sum(tf.square(q), 1, true));
  try {
    for (let j = 0; j < poolRows; j += chunk) {
      const m = Math.min(chunk, poolRows - j);
      const rows = poolChunk(j, m);
      const [d, i] = readTidy(() => {
        const p = tf.tensor2d(rows, [m, dim]);
        const d2 = tf.add(tf.sub(qn, tf.mul(2, tf.matMul(q, p, false, true))), tf.reshape(tf.sum(tf.square(p), 1), [1, m]));
        return [tf.min(d2, 1), tf.argMin(d2, 1)];
      });
      for (let k = 0; k < nq; k++) {
        if (d[k]! < best[k]!) {
          best[k] = d[k]!;
          index[k] = j + i[k]!;
        }
      }
      await yieldToEventLoop();
    }
  } finally {
    tf.dispose([q, qn]);
  }
  return { index, distance: best.map((v) => Math.sqrt(Math.max(0, v))) };
}

/** `nearestOnBackend` over an in-memory pool [np, dim]. */
export function nearestInPool(queries: Float32Array, nq: number, pool: Float32Array, np: number, dim: number, chunk = 4096): Promise<{ index: Int32Array; distance: Float32Array }> {
  return nearestOnBackend(queries, nq, dim, np, (s, c) => pool.subarray(s * dim, (s + c) * dim), chunk);
}

/** The value below which `fraction` of `values` lie (nearest-rank on the sorted values). */
export function percentile(values: ArrayLike<number>, fraction: number): number {
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(fraction * (sorted.length - 1))))]!;
}

/**
 * Share of samples whose nearest-training-image distance is below the 1st percentile of the
 * real test images' nearest-training-image distances.
 */
export function memorisationRate(sampleDistances: ArrayLike<number>, testDistances: ArrayLike<number>, fraction = 0.01): { rate: number; threshold: number } {
  const threshold = percentile(testDistances, fraction);
  let below = 0;
  for (let i = 0; i < sampleDistances.length; i++) if (sampleDistances[i]! < threshold) below++;
  return { rate: sampleDistances.length ? below / sampleDistances.length : NaN, threshold };
}
