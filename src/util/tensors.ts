import * as tf from '@tensorflow/tfjs';

/**
 * Runs `fn` in tf.tidy and returns the values of the tensor (or tensors) it makes; every tensor
 * is freed. Returning the typed arrays from tf.tidy itself would make TF.js walk every element
 * looking for tensors to keep (18 ms for one batch of 64 generated images).
 */
export function readTidy(fn: () => tf.Tensor): tf.TypedArray;
export function readTidy(fn: () => tf.Tensor[]): tf.TypedArray[];
export function readTidy(fn: () => tf.Tensor | tf.Tensor[]): tf.TypedArray | tf.TypedArray[] {
  const out = tf.tidy(fn);
  try {
    return Array.isArray(out) ? out.map((t) => t.dataSync() as tf.TypedArray) : (out.dataSync() as tf.TypedArray);
  } finally {
    tf.dispose(out);
  }
}

/** Images per forward pass when generating (predict's default of 32 splits every grid in two). */
export const PREDICT_BATCH = 256;
