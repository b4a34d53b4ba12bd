import { z } from 'zod';

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

export const Preset = z.strictObject({
  name: z.string(),
  description: z.string(),
  dataset: z.enum(['fashion-mnist', 'cifar10']),
  /** Class kept by default (the seed's car runs), or null for all. */
  classFilter: z.union([z.string(), z.null()]),
  batchSize: z.number().int().positive(),
  model: ModelSpec,
  optimizerG: OptimizerSpec,
  optimizerD: OptimizerSpec,
  /** Parameter counts of the seed's notebooks, checked by the tests. */
  seedParams: z.strictObject({ generator: z.number().int(), discriminator: z.number().int() }).optional(),
});
export type Preset = z.infer<typeof Preset>;
