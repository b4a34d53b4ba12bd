import * as tf from '@tensorflow/tfjs';
import { withDropoutRng } from '../models/dropout';
import { Rng } from '../util/rng';

/** A generator's inputs for one pass: latents [n, latentDim] (and labels [n, 1] when conditional). */
export interface GeneratorInputs {
  latentDim: number;
  /** classes to cycle through for a conditional generator (0 = unconditional) */
  numClasses: number;
  /** the class kept when the run trained on one class */
  classFilter?: number | null;
}

type BatchNormLayer = tf.layers.Layer & { momentum: number };

/** A batch norm's moving mean and variance (a frozen layer's γ and β are not trainable either). */
function movingStats(layer: tf.layers.Layer): tf.LayerVariable[] {
  return layer.weights.filter((w) => /moving_(mean|variance)/.test(w.originalName));
}

function batchNormLayers(model: tf.LayersModel): BatchNormLayer[] {
  return model.layers.filter((l) => l.getClassName() === 'BatchNormalization') as BatchNormLayer[];
}

/**
 * "Standing statistics" (Brock et al., 2019): replaces the moving mean and variance of every
 * batch norm in `model` by their average over `passes` training-mode passes of `batchSize`
 * latents drawn from `seed`. A moving average of G's weights (the EMA generator) otherwise
 * samples with the statistics of the live generator's last few batches, which belong to other
 * weights. Pass k uses momentum (k − 1)/k, so the result is the plain mean of the passes'
 * batch statistics. Deterministic for a seed; leaves no tensors behind.
 */
export function standingStats(model: tf.LayersModel, inputs: GeneratorInputs, seed: number, passes = 8, batchSize = 128): void {
  const layers = batchNormLayers(model);
  if (layers.length === 0) return;
  const saved = layers.map((l) => l.momentum);
  const rng = new Rng(seed);
  // From zero, the first pass (momentum 0) sets the statistics to its own exactly: the result
  // then does not depend on what the model held before.
  tf.tidy(() => {
    for (const l of layers) for (const w of movingStats(l)) w.write(tf.zerosLike(w.read()));
  });
  try {
    for (let k = 1; k <= passes; k++) {
      for (const l of layers) l.momentum = (k - 1) / k;
      const z = rng.normal(batchSize * inputs.latentDim);
      const labels = Float32Array.from({ length: batchSize }, (_, i) => inputs.classFilter ?? (i + k) % Math.max(1, inputs.numClasses));
      tf.tidy(() => {
        const zT = tf.tensor2d(z, [batchSize, inputs.latentDim]);
        const x = inputs.numClasses > 0 ? [zT, tf.tensor2d(labels, [batchSize, 1])] : zT;
        withDropoutRng(rng, () => model.apply(x, { training: true }));
      });
    }
  } finally {
    layers.forEach((l, i) => (l.momentum = saved[i]!));
  }
}
