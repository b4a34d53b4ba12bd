import type { DatasetName } from '../data/dataset';
import { UserError } from '../errors';
import { generateBatch, latentsForSeeds, type LoadedGenerator } from '../generate';
import type { TrainingEvaluator } from '../training/loop';
import { extractFeatures, yieldToEventLoop } from './features';
import { getMetric, resolveMetricNames } from './registry';
import { realStats } from './real-stats';
import type { Evaluation, MetricContext, ProgressFn } from './types';

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
  /** how far long metrics have got (novelty's searches take a minute on the full training set) */
  progress?: ProgressFn;
  /** generators: sample with latent coordinates redrawn outside ±truncation (latentsForSeeds) */
  truncation?: number;
}

/**
 * Computes the selected metrics for images (pixels in [-1, 1], [n, h, w, c] row-major) against
 * `dataset`'s test split. Leaves no tensors behind.
 */
export async function evaluateImages(pixels: Float32Array, n: number, o: EvaluateOptions & { dataset: DatasetName; classFilter?: number | null; labels?: Int32Array }): Promise<Evaluation> {
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
  const f = await extractFeatures(real.net, { pixels, n }, shape);
  timings.features = (performance.now() - t) / 1000;
  const ctx: MetricContext = {
    real,
    fake: { pixels, n, features: f.features, probs: f.probs, labels: o.labels },
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
    progress: o.progress ?? (() => {}),
  };
  const result = { samples: n, classifier: real.classifier, metrics: names, timings } as Evaluation;
  for (const name of names) {
    t = performance.now();
    Object.assign(result, await getMetric(name).compute(ctx));
    timings[name] = (performance.now() - t) / 1000;
    await yieldToEventLoop();
  }
  return result;
}

/** The classes `sampleGenerator` asks a conditional generator for: sample i gets class i mod classes (or the run's one class). */
export function sampleLabels(gen: LoadedGenerator, count: number): Int32Array | undefined {
  return gen.conditional ? Int32Array.from({ length: count }, (_, i) => gen.config.classFilter ?? i % gen.numClasses) : undefined;
}

/** Draws `count` samples (seeds seed … seed+count−1; conditional models cycle the classes) as pixels in [-1, 1]. */
export function sampleGenerator(gen: LoadedGenerator, count: number, seed: number, chunk = 250, truncation?: number): Float32Array {
  const px = gen.imageShape[0] * gen.imageShape[1] * gen.imageShape[2];
  const out = new Float32Array(count * px);
  const labels = sampleLabels(gen, count);
  for (let i = 0; i < count; i += chunk) {
    const m = Math.min(chunk, count - i);
    const images = generateBatch(gen, latentsForSeeds(seed + i, m, gen.latentDim, truncation), labels?.subarray(i, i + m));
    out.set(images.dataSync(), i * px);
    images.dispose();
  }
  return out;
}

/** Draws `o.samples` images from a generator and evaluates them (see `evaluateImages`). */
export async function evaluateGenerator(gen: LoadedGenerator, o: EvaluateOptions): Promise<Evaluation> {
  if (!Number.isInteger(o.samples) || o.samples < 2) throw new UserError(`--samples ${o.samples}: need a whole number ≥ 2`);
  const t = performance.now();
  const pixels = sampleGenerator(gen, o.samples, o.seed, 250, o.truncation);
  const sampling = (performance.now() - t) / 1000;
  const r = await evaluateImages(pixels, o.samples, { ...o, dataset: gen.config.dataset, classFilter: gen.config.classFilter, labels: sampleLabels(gen, o.samples) });
  r.timings = { sampling, ...r.timings };
  return r;
}


/**
 * The evaluation `train --eval-every` runs: the cheap metrics on `samples` samples (seeds
 * 1,000,000…, as `evaluate`), reduced to the numbers metrics.jsonl keeps.
 */
export function trainingEvaluator(o: { samples?: number; dataDir?: string; classifierDir?: string } = {}): TrainingEvaluator {
  return async (generator, config) => {
    const gen: LoadedGenerator = { model: generator, config, runDir: '', latentDim: config.latentDim, imageShape: config.imageShape, conditional: config.conditional, numClasses: config.numClasses, classNames: config.classNames };
    const r = await evaluateGenerator(gen, { samples: o.samples ?? 1000, seed: 1_000_000, full: false, dataDir: o.dataDir, classifierDir: o.classifierDir });
    return { fd: r.fd, kid: r.kid, recognisability: r.recognisability, classifierScore: r.classifierScore, ...(r.classFidelity !== undefined ? { classFidelity: r.classFidelity } : {}) };
  };
}
