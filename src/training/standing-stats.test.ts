import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backends/index';
import { Rng } from '../util/rng';
import { standingStats } from './standing-stats';

beforeAll(async () => {
  await initBackend('cpu');
});

/** z [n, 3] → batch norm → dense: the batch norm sees the latents themselves. */
function tinyGenerator(): tf.LayersModel {
  const z = tf.input({ shape: [3] });
  const bn = tf.layers.batchNormalization({ momentum: 0.9, name: 'bn' }).apply(z) as tf.SymbolicTensor;
  const y = tf.layers.dense({ units: 2, kernelInitializer: 'ones' }).apply(bn) as tf.SymbolicTensor;
  return tf.model({ inputs: z, outputs: y });
}

describe('standing statistics', () => {
  it('sets the moving mean and variance to the average of the passes\' batch statistics', () => {
    const model = tinyGenerator();
    const passes = 5;
    const batch = 64;
    standingStats(model, { latentDim: 3, numClasses: 0 }, 42, passes, batch);
    // The same latents, drawn as standingStats draws them.
    const rng = new Rng(42);
    const mean = [0, 0, 0];
    const variance = [0, 0, 0];
    for (let k = 0; k < passes; k++) {
      const z = rng.normal(batch * 3);
      for (let d = 0; d < 3; d++) {
        let m = 0;
        for (let i = 0; i < batch; i++) m += z[i * 3 + d]! / batch;
        let v = 0;
        for (let i = 0; i < batch; i++) v += (z[i * 3 + d]! - m) ** 2 / batch;
        mean[d]! += m / passes;
        variance[d]! += v / passes;
      }
    }
    const layer = model.getLayer('bn');
    const [movingMean, movingVariance] = layer.nonTrainableWeights.map((w) => Array.from(w.read().dataSync()));
    movingMean!.forEach((m, d) => expect(m).toBeCloseTo(mean[d]!, 5));
    movingVariance!.forEach((v, d) => expect(v).toBeCloseTo(variance[d]!, 5));
    expect((layer as unknown as { momentum: number }).momentum).toBe(0.9); // restored
    model.dispose();
  });

  it('gives the same bits whatever the model held before, and leaves no tensors', () => {
    const model = tinyGenerator();
    const stats = () => model.getLayer('bn').nonTrainableWeights.map((w) => Buffer.from(w.read().dataSync().buffer));
    const before = tf.memory().numTensors;
    standingStats(model, { latentDim: 3, numClasses: 0 }, 7, 3, 16);
    const first = stats();
    tf.tidy(() => model.getLayer('bn').nonTrainableWeights.forEach((w) => w.write(tf.fill(w.shape as number[], 123.456))));
    standingStats(model, { latentDim: 3, numClasses: 0 }, 7, 3, 16);
    stats().forEach((s, i) => expect(s.equals(first[i]!)).toBe(true));
    standingStats(model, { latentDim: 3, numClasses: 0 }, 8, 3, 16);
    expect(stats()[0]!.equals(first[0]!)).toBe(false); // another seed, other latents
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
