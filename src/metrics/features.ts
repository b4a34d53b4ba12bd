import * as tf from '@tensorflow/tfjs';
import { batchPixels, type Split } from '../data/dataset';
import { FEATURE_DIM, type FeatureNet } from '../classifier/model';
import { readTidy } from '../util/tensors';
import type { FeatureBatch } from './types';

/** Lets timers and I/O run between chunks of long computations (progress output, test workers' RPC). */
export const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

/** Images per classifier pass: memory stays bounded and the event loop gets a turn between passes. */
const CHUNK = 500;

/**
 * The one feature extractor: the classifier's 128-d features and class probabilities of images
 * given as pixels in [-1, 1] ([n, h, w, c] row-major), or as indices into a data split (converted
 * from uint8 a chunk at a time, so no float copy of the split is ever held). Leaves no tensors.
 */
export async function extractFeatures(net: FeatureNet, images: { pixels: Float32Array; n: number } | { split: Split; indices: ArrayLike<number> }, shape: [number, number, number]): Promise<FeatureBatch> {
  const px = shape[0] * shape[1] * shape[2];
  const n = 'pixels' in images ? images.n : images.indices.length;
  if ('pixels' in images && images.pixels.length < n * px) throw new Error(`extractFeatures: ${images.pixels.length} values is fewer than ${n} images of ${shape.join('×')}`);
  const features = new Float32Array(n * FEATURE_DIM);
  let probs = new Float32Array(0);
  let classes = 0;
  for (let i = 0; i < n; i += CHUNK) {
    const m = Math.min(CHUNK, n - i);
    const chunk = 'pixels' in images ? images.pixels.subarray(i * px, (i + m) * px) : batchPixels(images.split, Array.prototype.slice.call(images.indices, i, i + m) as number[]);
    const [f, p] = readTidy(() => net.both(tf.tensor4d(chunk, [m, ...shape]))) as [Float32Array, Float32Array];
    if (f.length !== m * FEATURE_DIM) throw new Error(`the classifier's feature layer has ${f.length / m} units, expected ${FEATURE_DIM}`);
    if (i === 0) {
      classes = p.length / m;
      probs = new Float32Array(n * classes);
    }
    features.set(f, i * FEATURE_DIM);
    probs.set(p, i * classes);
    await yieldToEventLoop();
  }
  return { features, probs, dim: FEATURE_DIM, classes };
}
