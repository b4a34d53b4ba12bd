import * as tf from '@tensorflow/tfjs';

/**
 * Binary cross-entropy from logits, averaged over the batch, in the numerically stable form
 * max(x, 0) − x·y + log(1 + e^−|x|).
 */
export function bceFromLogits(logits: tf.Tensor, target: 0 | 1): tf.Scalar {
  return tf.tidy(() => {
    const relu = tf.relu(logits);
    const softplusNegAbs = tf.log1p(tf.exp(tf.neg(tf.abs(logits))));
    const loss = target === 1 ? tf.add(tf.sub(relu, logits), softplusNegAbs) : tf.add(relu, softplusNegAbs);
    return tf.mean(loss) as tf.Scalar;
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
