/**
 * Kernels this project adds to TF.js backends. A backend that has a faster way registers the
 * kernel; callers ask `tf.getKernel(NAME, tf.getBackend())` and fall back to plain ops, so no
 * model or training code needs to know which backend runs.
 */

/** inputs {w, g, m, v}; attrs {beta1, beta2, lr, eps} → [w', m', v']: one Adam update in one pass. */
export const FUSED_ADAM = 'FashionFusedAdam';

/** inputs {dy, x}; attrs {alpha} → dx = x > 0 ? dy : dy·alpha (the LeakyReLU gradient in one pass). */
export const LEAKY_RELU_GRAD = 'FashionLeakyReluGrad';

/** no inputs; attrs {shape, rate, seed} → a dropout mask: 1/(1 − rate) with probability 1 − rate, else 0, a pure function of the seed. */
export const DROPOUT_MASK = 'FashionDropoutMask';

/**
 * inputs {x, scale, offset}; attrs {epsilon} → [y, mean, variance]: batch norm in training mode
 * over every axis but the last (the statistics of the batch), in one kernel.
 */
export const BATCH_NORM_TRAIN = 'FashionBatchNormTrain';

/** inputs {dy, x, mean, variance, scale}; attrs {epsilon} → [dx, dscale, doffset]: BATCH_NORM_TRAIN's gradient, through the statistics too. */
export const BATCH_NORM_TRAIN_GRAD = 'FashionBatchNormTrainGrad';
