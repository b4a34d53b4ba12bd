import * as tf from '@tensorflow/tfjs';
import { batchPixels, loadDataset, type Dataset, type DatasetName, type Split } from '../data/dataset';
import { loadFeatureNet, type FeatureNet } from '../classifier/model';
import { generateBatch, latentsForSeeds, type LoadedGenerator } from '../generate';
import { classifierScores } from './classifier-score';
import { fitGaussian, frechetDistance, type Gaussian } from './fd';
import { kernelDistance } from './kid';
import { precisionRecall } from './precision-recall';

/**
 * The metric registry: every number `evaluate` reports, computed in the feature space of the
 * project's own classifier (src/classifier) against the real test set.
 */

export interface Evaluation {
  samples: number;
  /** Fréchet distance, generated vs test features */
  fd: number;
  /** FD between real train and real test features: the floor a perfect generator would reach */
  fdFloor: number;
  kid: number;
  kidStd: number;
  recognisability: number;
  classifierScore: number;
  /** share of samples per predicted class */
  coverage: number[];
  precision?: number;
  recall?: number;
  /** share of samples closer (in pixels) to a training image than the 1st percentile of real test images are */
  memorisationRate?: number;
  /** a few samples' nearest training images: index, pixel distance, feature distance */
  nearest?: { sample: number; trainIndex: number; pixelDistance: number; featureTrainIndex: number; featureDistance: number }[];
}

/** Features and probabilities of pixel batches, in chunks so memory stays bounded. */
export function featuresOf(net: FeatureNet, pixelsMinus1To1: Float32Array, n: number, shape: [number, number, number], chunk = 500): { features: Float32Array; probs: Float32Array; dim: number; classes: number } {
  const px = shape[0] * shape[1] * shape[2];
  let dim = 0;
  let classes = 0;
  const feats: Float32Array[] = [];
  const probs: Float32Array[] = [];
  for (let i = 0; i < n; i += chunk) {
    const m = Math.min(chunk, n - i);
    const [f, p] = tf.tidy(() => {
      const [ft, pt] = net.both(tf.tensor4d(pixelsMinus1To1.subarray(i * px, (i + m) * px), [m, ...shape]));
      return [ft.dataSync() as Float32Array, pt.dataSync() as Float32Array];
    });
    dim = f.length / m;
    classes = p.length / m;
    feats.push(f);
    probs.push(p);
  }
  const cat = (parts: Float32Array[]) => {
    const out = new Float32Array(parts.reduce((s, a) => s + a.length, 0));
    let at = 0;
    for (const a of parts) {
      out.set(a, at);
      at += a.length;
    }
    return out;
  };
  return { features: cat(feats), probs: cat(probs), dim, classes };
}

/** Reference statistics of a data set's real images, computed once per process. */
export interface RealStats {
  data: Dataset;
  net: FeatureNet;
  test: { features: Float32Array; n: number; gaussian: Gaussian };
  fdFloor: number;
  dim: number;
}

const cache = new Map<string, Promise<RealStats>>();

function allIndices(split: Split, max: number): number[] {
  return Array.from({ length: Math.min(max, split.count) }, (_, i) => i);
}

/** Loads the classifier and the real test (and train, for the floor) statistics of `dataset`. */
export function realStats(dataset: DatasetName, dataDir?: string, classFilter?: number | null): Promise<RealStats> {
  const key = `${dataset}|${dataDir ?? ''}|${classFilter ?? ''}`;
  if (!cache.has(key)) {
    cache.set(
      key,
      (async () => {
        const data = await loadDataset({ dataset, dataDir, classFilter: classFilter ?? undefined });
        const net = await loadFeatureNet(dataset);
        const testIdx = allIndices(data.test, 10000);
        const t = featuresOf(net, batchPixels(data.test, testIdx), testIdx.length, data.test.shape);
        // The floor: as many train images as test images, spread over the set.
        const step = Math.max(1, Math.floor(data.train.count / testIdx.length));
        const trainIdx = Array.from({ length: Math.min(testIdx.length, data.train.count) }, (_, i) => i * step);
        const tr = featuresOf(net, batchPixels(data.train, trainIdx), trainIdx.length, data.train.shape);
        const testGaussian = fitGaussian(t.features, testIdx.length, t.dim);
        return {
          data,
          net,
          test: { features: t.features, n: testIdx.length, gaussian: testGaussian },
          fdFloor: frechetDistance(fitGaussian(tr.features, trainIdx.length, tr.dim), testGaussian),
          dim: t.dim,
        };
      })(),
    );
  }
  return cache.get(key)!;
}

/** Draws `count` samples (seeds seed…seed+count−1; conditional models cycle the classes) as pixels in [-1, 1]. */
export function sampleGenerator(gen: LoadedGenerator, count: number, seed: number, chunk = 250): Float32Array {
  const px = gen.imageShape[0] * gen.imageShape[1] * gen.imageShape[2];
  const out = new Float32Array(count * px);
  for (let i = 0; i < count; i += chunk) {
    const m = Math.min(chunk, count - i);
    const labels = gen.conditional ? Int32Array.from({ length: m }, (_, k) => (gen.config.classFilter ?? (i + k) % gen.numClasses)) : undefined;
    const images = generateBatch(gen, latentsForSeeds(seed + i, m, gen.latentDim), labels);
    out.set(images.dataSync(), i * px);
    images.dispose();
  }
  return out;
}

/** Nearest training image of each query row by Euclidean distance, computed with matrix products on the backend. */
export function nearestTrain(queries: Float32Array, nq: number, pool: Float32Array, np: number, dim: number, chunk = 4096): { index: Int32Array; distance: Float32Array } {
  const index = new Int32Array(nq);
  const best = new Float32Array(nq).fill(Infinity);
  tf.tidy(() => {
    const q = tf.tensor2d(queries, [nq, dim]);
    const qn = tf.sum(tf.square(q), 1, true);
    for (let j = 0; j < np; j += chunk) {
      const m = Math.min(chunk, np - j);
      const [d, i] = tf.tidy(() => {
        const p = tf.tensor2d(pool.subarray(j * dim, (j + m) * dim), [m, dim]);
        const d2 = tf.add(tf.sub(qn, tf.mul(2, tf.matMul(q, p, false, true))), tf.reshape(tf.sum(tf.square(p), 1), [1, m]));
        return [tf.min(d2, 1).dataSync(), tf.argMin(d2, 1).dataSync()];
      });
      for (let k = 0; k < nq; k++) {
        if (d[k]! < best[k]!) {
          best[k] = d[k]!;
          index[k] = j + i[k]!;
        }
      }
    }
  });
  return { index, distance: best.map((v) => Math.sqrt(Math.max(0, v))) };
}

export interface EvaluateOptions {
  samples: number;
  seed: number;
  /** Precision/recall and novelty cost more; training-time evaluations skip them. */
  full: boolean;
  dataDir?: string;
}

/** Computes every metric for a generator against its data set's test split. */
export async function evaluateGenerator(gen: LoadedGenerator, o: EvaluateOptions): Promise<Evaluation> {
  const stats = await realStats(gen.config.dataset, o.dataDir, gen.config.classFilter);
  const shape = gen.imageShape;
  const fakePx = sampleGenerator(gen, o.samples, o.seed);
  const fake = featuresOf(stats.net, fakePx, o.samples, shape);
  const fd = frechetDistance(fitGaussian(fake.features, o.samples, fake.dim), stats.test.gaussian);
  const { kid, kidStd } = kernelDistance(fake.features, o.samples, stats.test.features, stats.test.n, fake.dim, 10, Math.min(1000, o.samples), o.seed);
  const scores = classifierScores(fake.probs, o.samples, fake.classes);
  const result: Evaluation = { samples: o.samples, fd, fdFloor: stats.fdFloor, kid, kidStd, ...scores };
  if (!o.full) return result;

  const nPr = Math.min(1000, o.samples, stats.test.n);
  Object.assign(result, precisionRecall(stats.test.features.subarray(0, nPr * fake.dim), nPr, fake.features.subarray(0, nPr * fake.dim), nPr, fake.dim, 3));

  // Novelty, in pixels: how close is each sample to its nearest training image, next to how
  // close real unseen (test) images come to the training set?
  const train = stats.data.train;
  const px = shape[0] * shape[1] * shape[2];
  const trainPx = batchPixels(train, allIndices(train, train.count));
  const nNovel = Math.min(o.samples, 1000);
  const sampleNn = nearestTrain(fakePx.subarray(0, nNovel * px), nNovel, trainPx, train.count, px);
  const nTest = Math.min(1000, stats.data.test.count);
  const testNn = nearestTrain(batchPixels(stats.data.test, allIndices(stats.data.test, nTest)), nTest, trainPx, train.count, px);
  const sortedTest = Float32Array.from(testNn.distance).sort();
  const p1 = sortedTest[Math.floor(0.01 * (sortedTest.length - 1))]!;
  result.memorisationRate = sampleNn.distance.filter((d) => d < p1).length / nNovel;
  const trainFeat = featuresOf(stats.net, trainPx, train.count, shape);
  const show = Math.min(8, nNovel);
  const featNn = nearestTrain(fake.features.subarray(0, show * fake.dim), show, trainFeat.features, train.count, fake.dim);
  result.nearest = Array.from({ length: show }, (_, i) => ({
    sample: i,
    trainIndex: sampleNn.index[i]!,
    pixelDistance: sampleNn.distance[i]!,
    featureTrainIndex: featNn.index[i]!,
    featureDistance: featNn.distance[i]!,
  }));
  (result as Evaluation & { testNearestPixelDistanceP1: number; sampleNearestPixelDistanceMedian: number }).testNearestPixelDistanceP1 = p1;
  (result as Evaluation & { sampleNearestPixelDistanceMedian: number }).sampleNearestPixelDistanceMedian = Float32Array.from(sampleNn.distance).sort()[Math.floor(nNovel / 2)]!;
  return result;
}
