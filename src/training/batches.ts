import * as tf from '@tensorflow/tfjs';
import { batchPixels, type Dataset } from '../data/dataset';
import type { RunConfig } from '../run/config';
import { deriveSeed, Rng, STREAM } from '../util/rng';
import type { Batch } from './step';

/**
 * The data order of a run: step k (from 0) takes batch k mod stepsPerEpoch of epoch e's seeded
 * shuffle, and its latents (and the step's other random numbers) from an RNG seeded by
 * (seed, k), so any step can be recomputed from the seed alone — which is what makes resume exact.
 */
export class BatchOrder {
  private perm: Uint32Array | null = null;
  private permEpoch = -1;

  constructor(
    private readonly data: Dataset,
    private readonly config: RunConfig,
  ) {}

  /** Step k's batch (tensors the caller disposes) and its RNG. */
  batch(k: number): { batch: Batch; rng: Rng } {
    const { stepsPerEpoch, batchSize, latentDim, seed, imageShape } = this.config;
    const train = this.data.train;
    const epoch = Math.floor(k / stepsPerEpoch);
    if (this.permEpoch !== epoch) {
      this.perm = new Rng(deriveSeed(seed, STREAM.SHUFFLE, epoch)).shuffle(Uint32Array.from({ length: train.count }, (_, i) => i));
      this.permEpoch = epoch;
    }
    const inEpoch = k % stepsPerEpoch;
    const indices = this.perm!.subarray(inEpoch * batchSize, Math.min((inEpoch + 1) * batchSize, train.count));
    const rng = new Rng(deriveSeed(seed, STREAM.STEP, k));
    const z = rng.normal(indices.length * latentDim);
    const batch: Batch = {
      real: tf.tensor4d(batchPixels(train, indices), [indices.length, ...imageShape]),
      z: tf.tensor2d(z, [indices.length, latentDim]),
      labels: this.config.recipe.conditional ? tf.tensor2d(Float32Array.from(indices, (i) => train.labels[i]!), [indices.length, 1]) : undefined,
    };
    return { batch, rng };
  }
}
