import * as tf from '@tensorflow/tfjs';

/**
 * An exponential moving average of a model's weights, kept in a second model of the same
 * architecture: ema ← d·ema + (1 − d)·w for trainable weights; non-trainable ones (batch-norm
 * statistics) are copied. Sampling from the average gives smoother, better images.
 * The decay warms up as min(d, (1 + t) / (10 + t)) at update t, so early averages do not
 * cling to the random initial weights (as TF's ExponentialMovingAverage with num_updates).
 */
export class WeightEma {
  constructor(
    readonly source: tf.LayersModel,
    readonly target: tf.LayersModel,
    readonly decay: number,
  ) {
    if (source.weights.length !== target.weights.length) throw new Error('WeightEma: models differ');
    this.copy();
  }

  /** Sets the average to the current weights. */
  copy(): void {
    tf.tidy(() => this.source.weights.forEach((w, i) => this.target.weights[i]!.write(w.read().clone())));
  }

  /** @param t the number of optimiser updates so far (from 1) */
  update(t = Infinity): void {
    const decay = Number.isFinite(t) ? Math.min(this.decay, (1 + t) / (10 + t)) : this.decay;
    tf.tidy(() => {
      const d = tf.scalar(decay);
      const oneMinus = tf.scalar(1 - decay);
      this.source.weights.forEach((w, i) => {
        const t = this.target.weights[i]!;
        t.write(w.trainable ? tf.add(tf.mul(t.read(), d), tf.mul(w.read(), oneMinus)) : w.read().clone());
      });
    });
  }
}
