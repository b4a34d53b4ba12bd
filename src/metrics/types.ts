import type { Dataset, DatasetName } from '../data/dataset';
import type { FeatureNet } from '../classifier/model';
import type { Gaussian } from './gaussian';

/**
 * What `evaluate` reports and what a metric sees. Every number is measured in the feature space
 * of the project's own classifier (src/classifier, `models/classifier-DATASET`) against the real
 * test set; see registry.ts for the list of metrics.
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

/** FDs of real images measured exactly as the samples are (same count, same reference): what a number means. */
export interface Yardsticks {
  /** real training images (= fdFloor): what a perfect generator would score */
  real: number;
  /** real test images averaged over 2×2 blocks (resolution halved) */
  pixelated: number;
  /** real test images under a 3×3 box blur */
  blurred: number;
  /** real test images plus N(0, 0.2²) noise, clipped to [−1, 1] */
  noisy: number;
}

export interface Evaluation {
  samples: number;
  /** Fréchet distance between the samples' and the real test images' features */
  fd: number;
  /** FD between as many real train images as samples and the test set: what a perfect generator would score */
  fdFloor: number;
  /** FDs of real, pixelated, blurred and noisy real images, measured the same way */
  yardsticks?: Yardsticks;
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
  /** conditional generators: share of samples classified as the class they were asked for, overall and per class */
  classFidelity?: number;
  classFidelityPerClass?: number[];
  /** the same share for real test images (their labels as the request): the classifier's accuracy, overall and per class */
  classFidelityReal?: number;
  classFidelityRealPerClass?: number[];
  precision?: number;
  recall?: number;
  /** density and coverage (Naeem et al. 2020): robust to outliers of the real set, unlike precision */
  density?: number;
  manifoldCoverage?: number;
  /** share of samples closer (in pixels) to a training image than the closest 1 % of real test images are */
  memorisationRate?: number;
  /** that 1 % threshold (pixel distance, pixels in [-1, 1]) */
  memorisationThreshold?: number;
  /**
   * the data-copying test's C_T (Meehan et al. 2020): Mann–Whitney z of the samples'
   * nearest-training distances against the test images', per predicted class, averaged with the
   * test images' weights. ≈ 0 new like unseen images; ≪ 0 (below −3) copying; > 0 farther than them
   */
  dataCopying?: number;
  /** its z per predicted class (null in JSON where a class had fewer than 20 samples or test images) */
  dataCopyingPerClass?: number[];
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

/** Features and class probabilities of a batch of images. */
export interface FeatureBatch {
  /** [n, dim] row-major */
  features: Float32Array;
  /** [n, classes] row-major */
  probs: Float32Array;
  dim: number;
  classes: number;
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
  testNearestTrain(n: number, pool: number, progress?: (fraction: number) => void): Promise<Float32Array>;
  /** the yardstick FDs for `n` images (cached in memory and on disk) */
  yardsticks(n: number): Promise<Yardsticks>;
}

/** Reports how far a long computation has got (0 … 1), with a label for the display. */
export type ProgressFn = (label: string, fraction: number) => void;

/** Options every metric may read (defaults filled in by the evaluation driver). */
export interface MetricOptions {
  kidSubsets: number;
  kidSubsetSize: number;
  prSamples: number;
  noveltySamples: number;
  nearestExamples: number;
  trainPool: number;
}

/** What a metric sees: the real statistics, and the samples as pixels, features and probabilities. */
export interface MetricContext {
  real: RealStats;
  /** the samples; `labels` are the classes a conditional generator was asked for */
  fake: { pixels: Float32Array; n: number; features: Float32Array; probs: Float32Array; labels?: Int32Array };
  shape: [number, number, number];
  seed: number;
  options: MetricOptions;
  progress: ProgressFn;
}

export interface MetricSpec {
  name: string;
  /** one line for `evaluate --help` and the README */
  description: string;
  /** part of the cheap set every evaluation computes (training-time --eval-every uses only these) */
  cheap: boolean;
  compute(ctx: MetricContext): Partial<Evaluation> | Promise<Partial<Evaluation>>;
}
