import * as tf from '@tensorflow/tfjs';

/**
 * An exponential moving average of a model's weights, kept in a second model of the same
 * architecture: ema ← d·ema + (1 − d)·w for trainable weights; non-trainable ones (batch-norm
 * statistics) are copied. Sampling from the average gives smoother, better images.
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

  update(): void {
    tf.tidy(() => {
      const d = tf.scalar(this.decay);
      const oneMinus = tf.scalar(1 - this.decay);
      this.source.weights.forEach((w, i) => {
        const t = this.target.weights[i]!;
        t.write(w.trainable ? tf.add(tf.mul(t.read(), d), tf.mul(w.read(), oneMinus)) : w.read().clone());
      });
    });
  }
}
