import * as tf from '@tensorflow/tfjs';
import type { Recipe } from '../models/spec';

/**
 * Binary cross-entropy from logits against a constant target y, averaged over the batch, in
 * the numerically stable form max(x, 0) − x·y + log(1 + e^−|x|).
 */
export function bceFromLogits(logits: tf.Tensor, target: number): tf.Scalar {
  return tf.tidy(() => {
    const softplusNegAbs = tf.log1p(tf.exp(tf.neg(tf.abs(logits))));
    const xy = target === 0 ? tf.zerosLike(logits) : target === 1 ? logits : tf.mul(logits, target);
    return tf.mean(tf.add(tf.sub(tf.relu(logits), xy), softplusNegAbs)) as tf.Scalar;
  });
}

/**
 * The share of logits on the correct side of the decision boundary: sigmoid(x) ≥ 0.5 ⇔ x ≥ 0.
 * (The seed's notebooks thresholded the raw logit at 0.5, i.e. sigmoid(x) ≥ 0.62: a bug.)
 */
export function accuracy(logits: tf.Tensor, target: 0 | 1): tf.Scalar {
  return tf.tidy(() => {
    const saysReal = tf.greaterEqual(logits, 0);
    return tf.mean(tf.cast(target === 1 ? saysReal : tf.logicalNot(saysReal), 'float32')) as tf.Scalar;
  });
}

/**
 * Softmax cross-entropy of class logits [n, k] against class indices [n, 1] (float32, as the
 * batches carry them), averaged over the batch: logsumexp(x) − x[label], stable at any scale.
 */
export function classCrossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const k = logits.shape[1]!;
    const oneHot = tf.oneHot(tf.reshape(tf.cast(labels, 'int32'), [-1]) as tf.Tensor1D, k);
    const picked = tf.sum(tf.mul(logits, oneHot), 1);
    return tf.mean(tf.sub(tf.logSumExp(logits, 1), picked)) as tf.Scalar;
  });
}

/** G's loss from D's outputs on generated images. */
export function generatorLoss(kind: Recipe['loss'], fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    switch (kind) {
      case 'bce':
        return bceFromLogits(fakeLogits, 1); // non-saturating: −log D(G(z))
      case 'lsgan':
        return tf.mul(0.5, tf.mean(tf.square(tf.sub(fakeLogits, 1)))) as tf.Scalar;
      case 'hinge':
      case 'wgan-gp':
        return tf.neg(tf.mean(fakeLogits)) as tf.Scalar;
    }
  });
}

/** D's loss from its outputs on real and generated images (without WGAN-GP's penalty). */
export function discriminatorLoss(kind: Recipe['loss'], realLogits: tf.Tensor, fakeLogits: tf.Tensor, labelSmoothing = 0): tf.Scalar {
  return tf.tidy(() => {
    const realTarget = 1 - labelSmoothing;
    switch (kind) {
      case 'bce':
        return tf.add(bceFromLogits(realLogits, realTarget), bceFromLogits(fakeLogits, 0)) as tf.Scalar;
      case 'lsgan':
        return tf.mul(0.5, tf.add(tf.mean(tf.square(tf.sub(realLogits, realTarget))), tf.mean(tf.square(fakeLogits)))) as tf.Scalar;
      case 'hinge':
        return tf.add(tf.mean(tf.relu(tf.sub(1, realLogits))), tf.mean(tf.relu(tf.add(1, fakeLogits)))) as tf.Scalar;
      case 'wgan-gp':
        return tf.sub(tf.mean(fakeLogits), tf.mean(realLogits)) as tf.Scalar;
    }
  });
}

/**
 * WGAN-GP's penalty E[(‖∇ₓ D(x̂)‖₂ − 1)²] at x̂ = εx + (1 − ε)G(z), ε ~ U(0, 1) per sample.
 * Differentiable with respect to D's weights (a gradient of a gradient).
 *
 * @param critic D as a function of its image input
 * @param eps    per-sample mixing weights [n]
 */
export function gradientPenalty(critic: (x: tf.Tensor) => tf.Tensor, real: tf.Tensor, fake: tf.Tensor, eps: Float32Array): tf.Scalar {
  return tf.tidy(() => {
    const e = tf.tensor(eps, [eps.length, 1, 1, 1]);
    const mixed = tf.add(tf.mul(e, real), tf.mul(tf.sub(1, e), fake));
    const grad = tf.grad((x: tf.Tensor) => tf.sum(critic(x)))(mixed);
    const norms = tf.sqrt(tf.add(tf.sum(tf.square(grad), [1, 2, 3]), 1e-12));
    return tf.mean(tf.square(tf.sub(norms, 1))) as tf.Scalar;
  });
}
