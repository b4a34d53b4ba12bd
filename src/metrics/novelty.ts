import * as tf from '@tensorflow/tfjs';
import { batchPixels } from '../data/dataset';
import { readTidy } from '../util/tensors';
import { dataCopying } from './data-copying';
import { yieldToEventLoop } from './features';
import { nearestNeighbours, nearestNeighboursChunked } from './nearest';
import type { MetricSpec, NearestExample } from './types';

/**
 * Novelty: are the samples new designs, or copies of training images?
 *
 * The nearest training image of each sample is found by Euclidean distance (pixels in [-1, 1],
 * or classifier features). The same search for real *test* images calibrates it: those are
 * unseen by construction, and Fashion-MNIST's test set still has a few near-duplicates of
 * training images. memorisationRate = the share of samples nearer to their nearest training
 * image than the closest 1 % of test images are (≈ 0.01 for a generator that draws fresh
 * images from the data distribution; much more means copying). The same distances feed the
 * data-copying test (./data-copying): do samples sit nearer the training set than unseen images?
 */

export { yieldToEventLoop } from './features';

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
 * @param progress called after each chunk of the pool with the share searched so far
 */
export async function nearestOnBackend(
  queries: Float32Array,
  nq: number,
  dim: number,
  poolRows: number,
  poolChunk: (start: number, count: number) => Float32Array,
  chunk = 4096,
  progress?: (fraction: number) => void,
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
      progress?.((j + m) / poolRows);
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

const range = (start: number, count: number) => Int32Array.from({ length: count }, (_, i) => start + i);

function argmax(p: Float32Array, row: number, classes: number): number {
  let best = 0;
  for (let c = 1; c < classes; c++) if (p[row * classes + c]! > p[row * classes + best]!) best = c;
  return best;
}

function median(v: ArrayLike<number>): number {
  const s = Float64Array.from(v as ArrayLike<number>).sort();
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
}

export const noveltyMetric: MetricSpec = {
  name: 'novelty',
  description: "nearest training image of each sample (pixels) against real test images' nearest: memorisationRate, the data-copying test, and a few examples",
  cheap: false,
  compute: async ({ real, fake, shape, options, progress }) => {
    const px = shape[0] * shape[1] * shape[2];
    const train = real.data.train;
    const pool = Math.min(options.trainPool, train.count);
    const n = Math.min(options.noveltySamples, fake.n);
    const nTest = Math.min(options.noveltySamples, real.data.test.count);
    const trainChunk = (s: number, c: number) => batchPixels(train, range(s, c));
    const sampleNn = await nearestOnBackend(fake.pixels, n, px, pool, trainChunk, undefined, (f) => progress('novelty: samples', f));
    const testNn = await real.testNearestTrain(nTest, pool, (f) => progress('novelty: test images', f));
    const { rate, threshold } = memorisationRate(sampleNn.distance, testNn);
    // Cells: the classifier's class, for samples and test images alike (−1, left out, for test
    // images beyond those the real statistics classified).
    const cellOf = (probs: Float32Array, rows: number, count: number) => Int32Array.from({ length: count }, (_, i) => (i < rows ? argmax(probs, i, real.classes) : -1));
    const copying = dataCopying(sampleNn.distance, cellOf(fake.probs, n, n), testNn, cellOf(real.test.probs, real.test.n, nTest), real.classes);
    // A few worked examples, with exact distances: the project's one k-NN scan (shared with the
    // app's "never existed" look-ups) in pixels and in features.
    const show = Math.min(options.nearestExamples, n);
    const byPixels = nearestNeighboursChunked(fake.pixels.subarray(0, show * px), px, pool, trainChunk, 1);
    const trainFeat = show > 0 ? await real.poolFeatures(pool) : new Float32Array(0);
    const byFeatures = nearestNeighbours(fake.features.subarray(0, show * real.dim), trainFeat, real.dim, 1);
    const names = real.data.classNames;
    const nearest: NearestExample[] = Array.from({ length: show }, (_, i) => ({
      sample: i,
      sampleClass: names[argmax(fake.probs, i, real.classes)]!,
      trainIndex: byPixels[i]![0]!.index,
      trainClass: names[train.labels[byPixels[i]![0]!.index]!]!,
      pixelDistance: byPixels[i]![0]!.distance,
      featureTrainIndex: byFeatures[i]![0]!.index,
      featureTrainClass: names[train.labels[byFeatures[i]![0]!.index]!]!,
      featureDistance: byFeatures[i]![0]!.distance,
    }));
    return {
      memorisationRate: rate,
      memorisationThreshold: threshold,
      dataCopying: copying.statistic,
      dataCopyingPerClass: copying.cellZ,
      sampleNearestMedian: median(sampleNn.distance),
      testNearestMedian: median(testNn),
      nearest,
    };
  },
};
