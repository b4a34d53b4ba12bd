import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { batchPixels, loadDataset, type Dataset, type DatasetName, type Split } from '../data/dataset';
import { UserError } from '../errors';
import { classifierDir, FEATURE_DIM, loadFeatureNet, type FeatureNet } from '../classifier/model';
import { generateBatch, latentsForSeeds, type LoadedGenerator } from '../generate';
import { classifierScore } from './classifier-score';
import { coverage } from './coverage';
import { fitGaussian, frechetDistance, type Gaussian } from './fd';
import { kernelDistance } from './kid';
import { nearestNeighbours, nearestNeighboursChunked } from './nearest';
import { memorisationRate, nearestOnBackend, yieldToEventLoop } from './novelty';
import { precisionRecall } from './precision-recall';
import { recognisability } from './recognisability';
import { readTidy } from '../util/tensors';

/**
 * The metric registry (after stylegan2-ada's metric_main): every number `evaluate` reports is a
 * named metric here, computed in the feature space of the project's own classifier
 * (src/classifier, `models/classifier-DATASET`) against the real test set. The math lives in one
 * file per metric (fd.ts, kid.ts, …) and knows nothing of generators: only arrays.
 *
 * `evaluateImages` measures any batch of images; `evaluateGenerator` draws samples from a
 * generator first. Both return an `Evaluation`.
 */

export interface NearestExample {
  /** index of the sample (design seed = evaluation seed + sample) */
  sample: number;
  /** the classifier's class for the sample */
  sampleClass: string;
  /** nearest training image in pixels (index into the run's, possibly class-filtered, training split) */
  trainIndex: number;
  trainClass: string;
  pixelDistance: number;
  /** nearest training image in classifier features */
  featureTrainIndex: number;
  featureTrainClass: string;
  featureDistance: number;
}

export interface Evaluation {
  samples: number;
  /** Fréchet distance between the samples' and the real test images' features */
  fd: number;
  /** FD between as many real train images as samples and the test set: what a perfect generator would score */
  fdFloor: number;
  /** Kernel distance (unbiased MMD², cubic kernel), mean over subsets … */
  kid: number;
  /** … and its standard deviation over subsets */
  kidStd: number;
  /** mean top-class probability */
  recognisability: number;
  /** exp(E KL(p(y|x) ‖ p(y))): 1 … number of classes */
  classifierScore: number;
  /** share of samples per predicted class */
  coverage: number[];
  precision?: number;
  recall?: number;
  /** share of samples closer (in pixels) to a training image than the closest 1 % of real test images are */
  memorisationRate?: number;
  /** that 1 % threshold (pixel distance, pixels in [-1, 1]) */
  memorisationThreshold?: number;
  /** median nearest-training-image pixel distance of the samples and of real test images */
  sampleNearestMedian?: number;
  testNearestMedian?: number;
  /** a few samples' nearest training images, in pixels and in features */
  nearest?: NearestExample[];
  /** which classifier measured it: numbers from different classifiers are not comparable */
  classifier: ClassifierIdentity;
  /** the metrics computed, in order */
  metrics: string[];
  /** seconds spent per metric (feature extraction counted under "features") */
  timings: Record<string, number>;
}

export interface ClassifierIdentity {
  /** folder, relative to the working directory */
  dir: string;
  /** first 16 hex digits of the SHA-256 of weights.bin */
  weights: string;
  /** from training.json, when present */
  testAccuracy?: number;
}

function identify(dir: string): ClassifierIdentity {
  const id: ClassifierIdentity = { dir: path.relative(process.cwd(), dir) || '.', weights: 'unknown' };
  try {
    id.weights = createHash('sha256').update(fs.readFileSync(path.join(dir, 'weights.bin'))).digest('hex').slice(0, 16);
  } catch {
    // the loader has already complained about a missing or unreadable model
  }
  try {
    const t = JSON.parse(fs.readFileSync(path.join(dir, 'training.json'), 'utf8')) as { testAccuracy?: unknown };
    if (typeof t.testAccuracy === 'number') id.testAccuracy = t.testAccuracy;
  } catch {
    // training.json is documentation; a model without one still measures
  }
  return id;
}

/** Real-image statistics of a data set, computed once per process and shared by all evaluations. */
export interface RealStats {
  dataset: DatasetName;
  data: Dataset;
  net: FeatureNet;
  classifier: ClassifierIdentity;
  /** features of the first `n` test images (all of them by default) */
  test: { features: Float32Array; probs: Float32Array; n: number; gaussian: Gaussian };
  dim: number;
  classes: number;
  /** features of `n` training images spread evenly over the split (cached per n) */
  trainFeatures(n: number): Promise<Float32Array>;
  /** features of the first `pool` training images (cached; all 60,000 take ~30 s the first time) */
  poolFeatures(pool: number): Promise<Float32Array>;
  /** nearest-training-image pixel distances of the first `n` test images, among the first `pool` training images (cached) */
  testNearestTrain(n: number, pool: number): Promise<Float32Array>;
}

/** What a metric sees: the real statistics, and the samples as pixels, features and probabilities. */
export interface MetricContext {
  real: RealStats;
  fake: { pixels: Float32Array; n: number; features: Float32Array; probs: Float32Array };
  shape: [number, number, number];
  seed: number;
  options: ResolvedOptions;
}

export interface MetricSpec {
  name: string;
  /** one line for `evaluate --help` and the README */
  description: string;
  /** part of the cheap set every evaluation computes (training-time --eval-every uses only these) */
  cheap: boolean;
  compute(ctx: MetricContext): Partial<Evaluation> | Promise<Partial<Evaluation>>;
}

const registry = new Map<string, MetricSpec>();

/** Adds a metric to the registry (names are unique). */
export function registerMetric(spec: MetricSpec): void {
  if (registry.has(spec.name)) throw new Error(`metric ${spec.name} registered twice`);
  registry.set(spec.name, spec);
}

/** All registered metrics, in registration order (the order they run and print in). */
export function listMetrics(): MetricSpec[] {
  return [...registry.values()];
}

export const CHEAP_METRICS = (): string[] => listMetrics().filter((m) => m.cheap).map((m) => m.name);
export const ALL_METRICS = (): string[] => listMetrics().map((m) => m.name);

/** Checks metric names (e.g. from `--metrics`); the cheap set is always added. */
export function resolveMetricNames(names?: string[], full = true): string[] {
  if (!names) return full ? ALL_METRICS() : CHEAP_METRICS();
  for (const n of names) {
    if (!registry.has(n)) throw new UserError(`--metrics ${names.join(',')}: unknown metric ${JSON.stringify(n)} (allowed: ${ALL_METRICS().join(', ')})`);
  }
  const want = new Set([...CHEAP_METRICS(), ...names]);
  return ALL_METRICS().filter((n) => want.has(n));
}

// ---------------------------------------------------------------------------------------------
// The metrics.

registerMetric({
  name: 'fd',
  description: 'Fréchet distance between Gaussians fitted to sample and test-set features (FID with our classifier); lower is better',
  cheap: true,
  compute: ({ real, fake }) => ({ fd: frechetDistance(fitGaussian(fake.features, fake.n, real.dim), real.test.gaussian) }),
});

registerMetric({
  name: 'fdFloor',
  description: 'FD between as many real training images as samples and the test set: the FD a perfect generator would get',
  cheap: true,
  compute: async ({ real, fake }) => {
    const n = Math.min(fake.n, real.data.train.count);
    return { fdFloor: frechetDistance(fitGaussian(await real.trainFeatures(n), n, real.dim), real.test.gaussian) };
  },
});

registerMetric({
  name: 'kid',
  description: 'kernel distance: unbiased MMD² with k(x,y) = (x·y/d + 1)³, mean ± std over 10 subsets of ≤ 1000; ≈ 0 for matching sets',
  cheap: true,
  compute: ({ real, fake, seed, options }) => {
    const r = kernelDistance(fake.features, fake.n, real.test.features, real.test.n, real.dim, options.kidSubsets, options.kidSubsetSize, seed);
    return { kid: r.kid, kidStd: r.kidStd };
  },
});

registerMetric({
  name: 'recognisability',
  description: 'mean top-class probability the classifier gives the samples (real test images: see `classifier evaluate`)',
  cheap: true,
  compute: ({ real, fake }) => ({ recognisability: recognisability(fake.probs, fake.n, real.classes) }),
});

registerMetric({
  name: 'classifierScore',
  description: 'Inception-Score formula with our classifier, exp(E KL(p(y|x) ‖ p(y))): 1 (alike or unsure) … 10 (sure and balanced)',
  cheap: true,
  compute: ({ real, fake }) => ({ classifierScore: classifierScore(fake.probs, fake.n, real.classes) }),
});

registerMetric({
  name: 'coverage',
  description: 'share of samples the classifier puts in each class (10 numbers; 0.1 each is even)',
  cheap: true,
  compute: ({ real, fake }) => ({ coverage: coverage(fake.probs, fake.n, real.classes) }),
});

registerMetric({
  name: 'precisionRecall',
  description: 'improved precision/recall (Kynkäänniemi et al. 2019, k = 3) in features on ≤ 2000 samples and as many test images',
  cheap: false,
  compute: ({ real, fake, options }) => {
    const n = Math.min(options.prSamples, fake.n, real.test.n);
    return precisionRecall(real.test.features.subarray(0, n * real.dim), n, fake.features.subarray(0, n * real.dim), n, real.dim, 3);
  },
});

registerMetric({
  name: 'novelty',
  description: 'nearest training image of each sample (pixels) against real test images\' nearest: memorisationRate, and a few examples',
  cheap: false,
  compute: async ({ real, fake, shape, options }) => {
    const px = shape[0] * shape[1] * shape[2];
    const train = real.data.train;
    const pool = Math.min(options.trainPool, train.count);
    const n = Math.min(options.noveltySamples, fake.n);
    const nTest = Math.min(options.noveltySamples, real.data.test.count);
    const sampleNn = await nearestOnBackend(fake.pixels, n, px, pool, (s, c) => batchPixels(train, range(s, c)));
    const testNn = await real.testNearestTrain(nTest, pool);
    const { rate, threshold } = memorisationRate(sampleNn.distance, testNn);
    // A few worked examples, with the project's plain search (./nearest): pixels and features.
    const show = Math.min(options.nearestExamples, n);
    const names = real.data.classNames;
    const byPixels = nearestNeighboursChunked(fake.pixels.subarray(0, show * px), px, pool, (s, c) => batchPixels(train, range(s, c)), 1).map((l) => l[0] ?? { index: -1, distance: Infinity });
    const trainFeat = show > 0 ? await real.poolFeatures(pool) : new Float32Array(0);
    const byFeatures = nearestNeighbours(fake.features.subarray(0, show * real.dim), trainFeat, real.dim, 1);
    const nearest: NearestExample[] = Array.from({ length: show }, (_, i) => ({
      sample: i,
      sampleClass: names[argmax(fake.probs, i, real.classes)]!,
      trainIndex: byPixels[i]!.index,
      trainClass: names[train.labels[byPixels[i]!.index]!]!,
      pixelDistance: byPixels[i]!.distance,
      featureTrainIndex: byFeatures[i]![0]!.index,
      featureTrainClass: names[train.labels[byFeatures[i]![0]!.index]!]!,
      featureDistance: byFeatures[i]![0]!.distance,
    }));
    return {
      memorisationRate: rate,
      memorisationThreshold: threshold,
      sampleNearestMedian: median(sampleNn.distance),
      testNearestMedian: median(testNn),
      nearest,
    };
  },
});

// ---------------------------------------------------------------------------------------------
// Real statistics, features, sampling.

/** The arrays end to end in one Float32Array. */
function concat(xs: Float32Array[]): Float32Array {
  const out = new Float32Array(xs.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of xs) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

function range(start: number, count: number): Int32Array {
  return Int32Array.from({ length: count }, (_, i) => start + i);
}

function argmax(p: Float32Array, row: number, classes: number): number {
  let best = 0;
  for (let c = 1; c < classes; c++) if (p[row * classes + c]! > p[row * classes + best]!) best = c;
  return best;
}

function median(v: ArrayLike<number>): number {
  const s = Float64Array.from(v as ArrayLike<number>).sort();
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
}

/** Features and probabilities of pixel batches, in chunks so memory stays bounded; no tensors are left behind. */
export function featuresOf(net: FeatureNet, pixelsMinus1To1: Float32Array, n: number, shape: [number, number, number], chunk = 500): { features: Float32Array; probs: Float32Array; dim: number; classes: number } {
  const px = shape[0] * shape[1] * shape[2];
  const parts: { f: Float32Array; p: Float32Array }[] = [];
  for (let i = 0; i < n; i += chunk) {
    const m = Math.min(chunk, n - i);
    parts.push(
      ((): { f: Float32Array; p: Float32Array } => {
        const [f, p] = readTidy(() => net.both(tf.tensor4d(pixelsMinus1To1.subarray(i * px, (i + m) * px), [m, ...shape])));
        return { f: f as Float32Array, p: p as Float32Array };
      })(),
    );
  }
  const dim = parts.length ? parts[0]!.f.length / Math.min(chunk, n) : 0;
  const classes = parts.length ? parts[0]!.p.length / Math.min(chunk, n) : 0;
  return { features: concat(parts.map((q) => q.f)), probs: concat(parts.map((q) => q.p)), dim, classes };
}

/** `featuresOf`, yielding to the event loop between chunks of 500 images. */
export async function featuresOfAsync(net: FeatureNet, pixelsMinus1To1: Float32Array, n: number, shape: [number, number, number], chunk = 500): Promise<{ features: Float32Array; probs: Float32Array; dim: number; classes: number }> {
  const px = shape[0] * shape[1] * shape[2];
  const f = new Float32Array(n * FEATURE_DIM);
  let probs = new Float32Array(0);
  let classes = 0;
  for (let i = 0; i < n; i += chunk) {
    const m = Math.min(chunk, n - i);
    const r = featuresOf(net, pixelsMinus1To1.subarray(i * px, (i + m) * px), m, shape, chunk);
    if (r.dim !== FEATURE_DIM) throw new Error(`the classifier's feature layer has ${r.dim} units, expected ${FEATURE_DIM}`);
    if (i === 0) {
      classes = r.classes;
      probs = new Float32Array(n * classes);
    }
    f.set(r.features, i * FEATURE_DIM);
    probs.set(r.probs, i * classes);
    await yieldToEventLoop();
  }
  return { features: f, probs, dim: FEATURE_DIM, classes };
}

/** Features of the images of `split` at `indices`, converted from uint8 chunk by chunk. */
async function splitFeatures(net: FeatureNet, split: Split, indices: ArrayLike<number>, chunk = 1000): Promise<{ features: Float32Array; probs: Float32Array; dim: number; classes: number }> {
  const f: Float32Array[] = [];
  const p: Float32Array[] = [];
  let dim = 0;
  let classes = 0;
  for (let i = 0; i < indices.length; i += chunk) {
    const idx = Array.prototype.slice.call(indices, i, Math.min(i + chunk, indices.length)) as number[];
    const r = await featuresOfAsync(net, batchPixels(split, idx), idx.length, split.shape);
    f.push(r.features);
    p.push(r.probs);
    dim = r.dim;
    classes = r.classes;
    await yieldToEventLoop();
  }
  return { features: concat(f), probs: concat(p), dim, classes };
}

const cache = new Map<string, Promise<RealStats>>();

/** Drops the cached real statistics (and disposes their classifiers). */
export async function clearRealStats(): Promise<void> {
  const all = [...cache.values()];
  cache.clear();
  for (const s of all) (await s.catch(() => null))?.net.dispose();
}

export interface RealStatsOptions {
  dataset: DatasetName;
  dataDir?: string;
  /** class index the run trained on (null/undefined: all classes) */
  classFilter?: number | null;
  /** test images used as the reference (default: all, up to 10,000) */
  realImages?: number;
  /** classifier folder (default: the shipped models/classifier-DATASET) */
  classifierDir?: string;
}

/** Loads the classifier and the real test statistics of a data set (cached per process). */
export function realStats(o: RealStatsOptions): Promise<RealStats> {
  const realImages = o.realImages ?? 10000;
  const key = JSON.stringify([o.dataset, o.dataDir ?? '', o.classFilter ?? null, realImages, o.classifierDir ?? '']);
  if (!cache.has(key)) {
    const p = (async (): Promise<RealStats> => {
      const data = await loadDataset({ dataset: o.dataset, dataDir: o.dataDir, classFilter: o.classFilter ?? undefined });
      const dir = o.classifierDir ?? classifierDir(o.dataset);
      const net = await loadFeatureNet(o.dataset, dir);
      const nTest = Math.min(realImages, data.test.count);
      const t = await splitFeatures(net, data.test, range(0, nTest));
      const trainCache = new Map<number, Float32Array>();
      const poolCache = new Map<number, Float32Array>();
      const nnCache = new Map<string, Float32Array>();
      const px = data.train.shape[0] * data.train.shape[1] * data.train.shape[2];
      return {
        dataset: o.dataset,
        data,
        net,
        classifier: identify(dir),
        test: { features: t.features, probs: t.probs, n: nTest, gaussian: fitGaussian(t.features, nTest, t.dim) },
        dim: t.dim,
        classes: t.classes,
        async trainFeatures(n) {
          if (!trainCache.has(n)) {
            const step = data.train.count / n;
            trainCache.set(n, (await splitFeatures(net, data.train, Int32Array.from({ length: n }, (_, i) => Math.floor(i * step)))).features);
          }
          return trainCache.get(n)!;
        },
        async poolFeatures(pool) {
          if (!poolCache.has(pool)) poolCache.set(pool, (await splitFeatures(net, data.train, range(0, pool))).features);
          return poolCache.get(pool)!;
        },
        async testNearestTrain(n, pool) {
          const key = `${n}/${pool}`;
          if (!nnCache.has(key)) {
            const q = batchPixels(data.test, range(0, n));
            nnCache.set(key, (await nearestOnBackend(q, n, px, pool, (s, c) => batchPixels(data.train, range(s, c)))).distance);
          }
          return nnCache.get(key)!;
        },
      };
    })();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return cache.get(key)!;
}

/** Draws `count` samples (seeds seed … seed+count−1; conditional models cycle the classes) as pixels in [-1, 1]. */
export function sampleGenerator(gen: LoadedGenerator, count: number, seed: number, chunk = 250): Float32Array {
  const px = gen.imageShape[0] * gen.imageShape[1] * gen.imageShape[2];
  const out = new Float32Array(count * px);
  for (let i = 0; i < count; i += chunk) {
    const m = Math.min(chunk, count - i);
    const labels = gen.conditional ? Int32Array.from({ length: m }, (_, k) => gen.config.classFilter ?? (i + k) % gen.numClasses) : undefined;
    const images = generateBatch(gen, latentsForSeeds(seed + i, m, gen.latentDim), labels);
    out.set(images.dataSync(), i * px);
    images.dispose();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Evaluation.

export interface EvaluateOptions {
  /** samples to draw (generators) */
  samples: number;
  /** sample i uses design seed seed + i; KID's subsets are drawn from it too */
  seed: number;
  /** false: only the cheap metrics (what training-time --eval-every uses) */
  full?: boolean;
  /** metrics to compute (the cheap ones are always included); default: all when full, else the cheap ones */
  metrics?: string[];
  dataDir?: string;
  /** real test images used as the reference (default all, up to 10,000) */
  realImages?: number;
  /** classifier folder (default: models/classifier-DATASET) */
  classifierDir?: string;
  kidSubsets?: number;
  kidSubsetSize?: number;
  /** samples and test images used by precision/recall (default 2,000) */
  prSamples?: number;
  /** samples and test images searched against the training set for memorisationRate (default 2,000) */
  noveltySamples?: number;
  /** worked nearest-neighbour examples in the result (default 8) */
  nearestExamples?: number;
  /** novelty searches the first this-many training images (default: all; tests use fewer) */
  trainPool?: number;
}

type ResolvedOptions = Required<Pick<EvaluateOptions, 'kidSubsets' | 'kidSubsetSize' | 'prSamples' | 'noveltySamples' | 'nearestExamples' | 'trainPool'>>;

/** The cheap evaluation training runs call every --eval-every steps: 500 samples, no precision/recall or novelty. */
export const CHEAP_EVALUATION: Pick<EvaluateOptions, 'samples' | 'full'> = { samples: 500, full: false };

/**
 * Computes the selected metrics for images (pixels in [-1, 1], [n, h, w, c] row-major) against
 * `dataset`'s test split. Leaves no tensors behind.
 */
export async function evaluateImages(
  pixels: Float32Array,
  n: number,
  o: EvaluateOptions & { dataset: DatasetName; classFilter?: number | null },
): Promise<Evaluation> {
  const names = resolveMetricNames(o.metrics, o.full ?? true);
  if (n < 2) throw new UserError(`--samples ${n}: need at least 2 samples`);
  const timings: Record<string, number> = {};
  let t = performance.now();
  const real = await realStats({ dataset: o.dataset, dataDir: o.dataDir, classFilter: o.classFilter, realImages: o.realImages, classifierDir: o.classifierDir });
  const shape = real.data.test.shape;
  if (pixels.length !== n * shape[0] * shape[1] * shape[2]) {
    throw new Error(`evaluateImages: ${pixels.length} values is not ${n} images of ${shape.join('×')}`);
  }
  timings.realStats = (performance.now() - t) / 1000;
  t = performance.now();
  const f = await featuresOfAsync(real.net, pixels, n, shape);
  timings.features = (performance.now() - t) / 1000;
  const ctx: MetricContext = {
    real,
    fake: { pixels, n, features: f.features, probs: f.probs },
    shape,
    seed: o.seed,
    options: {
      kidSubsets: o.kidSubsets ?? 10,
      kidSubsetSize: o.kidSubsetSize ?? 1000,
      prSamples: o.prSamples ?? 2000,
      noveltySamples: o.noveltySamples ?? 2000,
      nearestExamples: o.nearestExamples ?? 8,
      trainPool: o.trainPool ?? Infinity,
    },
  };
  const result = { samples: n, classifier: real.classifier, metrics: names, timings } as Evaluation;
  for (const name of names) {
    t = performance.now();
    Object.assign(result, await registry.get(name)!.compute(ctx));
    timings[name] = (performance.now() - t) / 1000;
    await yieldToEventLoop();
  }
  return result;
}

/** Draws `o.samples` images from a generator and evaluates them (see `evaluateImages`). */
export async function evaluateGenerator(gen: LoadedGenerator, o: EvaluateOptions): Promise<Evaluation> {
  if (!Number.isInteger(o.samples) || o.samples < 2) throw new UserError(`--samples ${o.samples}: need a whole number ≥ 2`);
  const t = performance.now();
  const pixels = sampleGenerator(gen, o.samples, o.seed);
  const sampling = (performance.now() - t) / 1000;
  const r = await evaluateImages(pixels, o.samples, { ...o, dataset: gen.config.dataset, classFilter: gen.config.classFilter });
  r.timings = { sampling, ...r.timings };
  return r;
}
