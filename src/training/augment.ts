import * as tf from '@tensorflow/tfjs';
import type { Recipe } from '../models/spec';
import type { Rng } from '../util/rng';

/**
 * DiffAugment (Zhao et al., 2020): random, differentiable transformations applied to every
 * image D sees, real and generated alike, so D cannot memorise a small training set. Random
 * parameters come from the step's RNG; all ops are differentiable with respect to the images.
 *
 * @param images [n, H, W, C] in [-1, 1]
 */
export function diffAugment(images: tf.Tensor4D, policy: Recipe['diffAugment'], rng: Rng): tf.Tensor4D {
  if (policy.length === 0) return images;
  return tf.tidy(() => {
    let x = images;
    for (const p of policy) {
      if (p === 'color') x = color(x, rng);
      else if (p === 'translation') x = translation(x, rng, 0.125);
      else x = cutout(x, rng, 0.5);
    }
    return x;
  });
}

function perSample(n: number, rng: Rng, f: (u: number) => number): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from({ length: n }, () => f(rng.nextFloat())), [n, 1, 1, 1]);
}

/** Brightness ±0.5, saturation ×[0, 2] (colour images only), contrast ×[0.5, 1.5]. */
function color(x: tf.Tensor4D, rng: Rng): tf.Tensor4D {
  const n = x.shape[0];
  let y: tf.Tensor4D = tf.add(x, perSample(n, rng, (u) => u - 0.5));
  if (x.shape[3] > 1) {
    const mean = tf.mean(y, 3, true);
    y = tf.add(tf.mul(tf.sub(y, mean), perSample(n, rng, (u) => u * 2)), mean);
  }
  const mean = tf.mean(y, [1, 2, 3], true);
  return tf.add(tf.mul(tf.sub(y, mean), perSample(n, rng, (u) => u + 0.5)), mean);
}

/** Shifts each image by up to ±ratio·size pixels in each direction, filling with zeros. */
function translation(x: tf.Tensor4D, rng: Rng, ratio: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const maxY = Math.floor(h * ratio + 0.5);
  const maxX = Math.floor(w * ratio + 0.5);
  const zeroRow = n * h * w; // index of an appended row of zeros
  const idx = new Int32Array(n * h * w);
  for (let b = 0; b < n; b++) {
    const dy = rng.nextInt(2 * maxY + 1) - maxY;
    const dx = rng.nextInt(2 * maxX + 1) - maxX;
    for (let yy = 0; yy < h; yy++) {
      for (let xx = 0; xx < w; xx++) {
        const sy = yy - dy;
        const sx = xx - dx;
        idx[(b * h + yy) * w + xx] = sy >= 0 && sy < h && sx >= 0 && sx < w ? (b * h + sy) * w + sx : zeroRow;
      }
    }
  }
  const flat = tf.concat([tf.reshape(x, [n * h * w, c]), tf.zeros([1, c])]);
  return tf.reshape(tf.gather(flat, tf.tensor1d(idx, 'int32')), [n, h, w, c]);
}

/** Zeros one square of ratio·size per image at a random position. */
function cutout(x: tf.Tensor4D, rng: Rng, ratio: number): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const ch = Math.floor(h * ratio + 0.5);
  const cw = Math.floor(w * ratio + 0.5);
  const mask = new Float32Array(n * h * w).fill(1);
  for (let b = 0; b < n; b++) {
    const cy = rng.nextInt(h + (1 - (ch % 2)));
    const cx = rng.nextInt(w + (1 - (cw % 2)));
    for (let yy = Math.max(0, cy - (ch >> 1)); yy < Math.min(h, cy - (ch >> 1) + ch); yy++) {
      for (let xx = Math.max(0, cx - (cw >> 1)); xx < Math.min(w, cx - (cw >> 1) + cw); xx++) mask[(b * h + yy) * w + xx] = 0;
    }
  }
  return tf.mul(x, tf.tensor4d(mask, [n, h, w, 1]));
}
