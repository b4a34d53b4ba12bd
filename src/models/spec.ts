import { z } from 'zod';
import { DATASETS } from '../data/dataset';

/** One (transposed) convolution block: conv → [batch norm] → activation → [dropout]. */
export const ConvBlock = z.strictObject({
  filters: z.number().int().positive(),
  kernel: z.number().int().positive(),
  stride: z.number().int().positive(),
  batchNorm: z.boolean().default(false),
  activation: z.enum(['leaky', 'relu', 'tanh', 'linear']),
  dropout: z.number().min(0).lt(1).default(0),
  bias: z.boolean(),
  /** Kernel initialiser; Keras's default is glorot (uniform). */
  init: z.enum(['glorot', 'normal02']).default('glorot'),
});
export type ConvBlock = z.infer<typeof ConvBlock>;

export const GeneratorSpec = z.strictObject({
  /** Dense projection of the latent vector, reshaped to [h, w, c]. */
  project: z.strictObject({
    shape: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
    batchNorm: z.boolean(),
    activation: z.enum(['leaky', 'relu', 'linear']),
    bias: z.boolean(),
  }),
  /** Transposed convolutions; the last one outputs the image. */
  blocks: z.array(ConvBlock).min(1),
});

export const DiscriminatorSpec = z.strictObject({
  blocks: z.array(ConvBlock).min(1),
  /** Dropout between flatten and the final Dense(1). */
  dropoutBeforeDense: z.number().min(0).lt(1).default(0),
});

export const ModelSpec = z.strictObject({
  latentDim: z.number().int().positive(),
  imageShape: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
  /** Slope of every LeakyReLU (Keras's default is 0.3). */
  leakySlope: z.number().min(0).max(1),
  /** Batch-norm momentum and epsilon (Keras's defaults 0.99 and 1e-3). */
  bnMomentum: z.number().gt(0).lt(1).default(0.99),
  bnEpsilon: z.number().positive().default(1e-3),
  generator: GeneratorSpec,
  discriminator: DiscriminatorSpec,
});
export type ModelSpec = z.infer<typeof ModelSpec>;

export const OptimizerSpec = z.strictObject({
  learningRate: z.number().positive(),
  beta1: z.number().min(0).lt(1),
  beta2: z.number().min(0).lt(1),
  epsilon: z.number().positive(),
});
export type OptimizerSpec = z.infer<typeof OptimizerSpec>;

/** How to train beyond the seed's recipe; every field defaults to the seed's behaviour. */
export const Recipe = z.strictObject({
  /** bce = the seed's non-saturating loss; hinge; lsgan = least squares; wgan-gp = Wasserstein + gradient penalty. */
  loss: z.enum(['bce', 'hinge', 'lsgan', 'wgan-gp']).default('bce'),
  /** λ of the WGAN-GP gradient penalty. */
  gpWeight: z.number().nonnegative().default(10),
  /** One-sided label smoothing: real targets become 1 − s (bce and lsgan). */
  labelSmoothing: z.number().min(0).lt(0.5).default(0),
  /** Decay of an exponential moving average of G's weights (0 = off); samples and exports use it. */
  ema: z.number().min(0).lt(1).default(0),
  /** Spectral normalisation of every discriminator weight. */
  spectralNorm: z.boolean().default(false),
  /** Differentiable augmentation of D's inputs, real and fake alike. */
  diffAugment: z.array(z.enum(['translation', 'cutout', 'color'])).default([]),
  /** Class-conditional: G gets a label embedding, D a projection head. */
  conditional: z.boolean().default(false),
  /** Size of G's label embedding. */
  embedDim: z.number().int().positive().default(50),
  /**
   * Class-conditional batch norm in G (conditional models): every hidden block's batch norm
   * takes its scale and shift from the class (per-class embeddings, as in BigGAN and the
   * projection-discriminator paper) instead of one learned pair.
   */
  classBatchNorm: z.boolean().default(false),
  /**
   * Weight of an auxiliary classifier (AC-GAN, Odena et al. 2017) on D's features (conditional
   * models; 0 = off): D also learns the class of real images, and G is asked for images D's
   * classifier puts in the requested class. D learns it from real images only, so the classes
   * it teaches G are the data's (AC-GAN's fake-image term lets G and D agree on easy,
   * collapsed designs).
   */
  auxClassifier: z.number().min(0).max(10).default(0),
});
export type Recipe = z.infer<typeof Recipe>;
export const DEFAULT_RECIPE: Recipe = Recipe.parse({});

export const Preset = z.strictObject({
  name: z.string(),
  description: z.string(),
  dataset: z.enum(DATASETS),
  /** Class kept by default (the seed's car runs), or null for all. */
  classFilter: z.union([z.string(), z.null()]),
  batchSize: z.number().int().positive(),
  model: ModelSpec,
  optimizerG: OptimizerSpec,
  optimizerD: OptimizerSpec,
  recipe: Recipe.prefault({}),
  /** Parameter counts of the seed's notebooks, checked by the tests. */
  seedParams: z.strictObject({ generator: z.number().int(), discriminator: z.number().int() }).optional(),
});
export type Preset = z.infer<typeof Preset>;
