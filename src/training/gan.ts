import * as tf from '@tensorflow/tfjs';
import { buildDiscriminator, buildGenerator } from '../models/builder';
import type { ModelSpec, OptimizerSpec, Recipe } from '../models/spec';
import { STREAM, deriveSeed } from '../util/rng';
import { Adam } from './adam';
import { WeightEma } from './ema';
import { standingStats } from './standing-stats';
import type { Gan } from './step';

export interface GanConfig {
  model: ModelSpec;
  recipe: Recipe;
  optimizerG: OptimizerSpec;
  optimizerD: OptimizerSpec;
  numClasses: number;
  seed: number;
}

/** Builds G, D (and G's moving average) with their optimisers, initialised from the run seed. */
export function createGan(c: GanConfig): Gan & { dispose(): void } {
  const cond = c.recipe.conditional ? { numClasses: c.numClasses, embedDim: c.recipe.embedDim, classBatchNorm: c.recipe.classBatchNorm } : undefined;
  const gSeed = deriveSeed(c.seed, STREAM.INIT_G, 0);
  const generator = buildGenerator(c.model, gSeed, cond);
  const discriminator = buildDiscriminator(c.model, deriveSeed(c.seed, STREAM.INIT_D, 0), {
    spectralNorm: c.recipe.spectralNorm,
    numClasses: cond?.numClasses,
    doubleBackprop: c.recipe.loss === 'wgan-gp',
    auxClassifier: c.recipe.auxClassifier > 0,
  });
  const ema = c.recipe.ema > 0 ? new WeightEma(generator, buildGenerator(c.model, gSeed, cond), c.recipe.ema) : undefined;
  const optG = new Adam(c.optimizerG, generator.trainableWeights);
  const optD = new Adam(c.optimizerD, discriminator.trainableWeights);
  return {
    generator,
    discriminator,
    optG,
    optD,
    ema,
    dispose() {
      optG.dispose();
      optD.dispose();
      generator.dispose();
      discriminator.dispose();
      ema?.target.dispose();
    },
  };
}

/** Tensors saved in a checkpoint, by stable names. */
export function checkpointTensors(gan: Gan): { name: string; variable: tf.Variable }[] {
  const named = (prefix: string, vars: tf.Variable[]) => vars.map((variable, i) => ({ name: `${prefix}/${i}:${variable.shape.join('x')}`, variable }));
  const weights = (m: tf.LayersModel) => m.weights.map((w) => w.read() as tf.Variable);
  return [
    ...named('generator', weights(gan.generator)),
    ...named('discriminator', weights(gan.discriminator)),
    ...named('optG', gan.optG.slots()),
    ...named('optD', gan.optD.slots()),
    ...(gan.ema ? named('emaG', weights(gan.ema.target)) : []),
  ];
}

/** The generator to sample and export: the moving average when there is one. */
export function samplingGenerator(gan: Gan): tf.LayersModel {
  return gan.ema?.target ?? gan.generator;
}

/**
 * Readies the sampling generator at `step`: a moving average of G's weights gets standing
 * batch-norm statistics of its own (see standing-stats.ts) instead of the live generator's,
 * drawn from (seed, step) so a resumed run samples exactly as a straight one. The next EMA
 * update copies the live statistics back, so training itself is unchanged.
 */
export function prepareSampler(gan: Gan, c: Pick<GanConfig, 'model' | 'recipe' | 'numClasses' | 'seed'> & { classFilter?: number | null }, step: number): tf.LayersModel {
  if (gan.ema) {
    standingStats(gan.ema.target, { latentDim: c.model.latentDim, numClasses: c.recipe.conditional ? c.numClasses : 0, classFilter: c.classFilter }, deriveSeed(c.seed, STREAM.STANDING_STATS, step));
  }
  return samplingGenerator(gan);
}
