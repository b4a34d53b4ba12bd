import * as fs from 'node:fs';
import * as path from 'node:path';
import { batchPixels, CACHE_DIR } from '../data/dataset';
import { writeFileAtomic } from '../util/atomic';
import { Rng } from '../util/rng';
import { extractFeatures } from './features';
import { fdTo } from './fd';
import type { MetricSpec, RealStats, Yardsticks } from './types';

/**
 * Yardsticks: what an FD means. The same measurement (same number of images, same reference,
 * same classifier) applied to real images that are real, pixelated, blurred or noisy, so a
 * generator's FD reads as "worse than blurred real clothes" or "close to the real thing".
 * Images: the first n test images (for `real`, n training images, which is `fdFloor`).
 * All images are [n, h, w, c] row-major with pixels in [-1, 1].
 */

/** Each 2×2 block replaced by its mean: half the resolution at the same size. */
export function pixelate2x2(pixels: Float32Array, n: number, [h, w, c]: [number, number, number]): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let b = 0; b < n; b++) {
    const base = b * h * w * c;
    for (let y = 0; y < h; y += 2) {
      for (let x = 0; x < w; x += 2) {
        const ys = [y, y + 1].filter((v) => v < h);
        const xs = [x, x + 1].filter((v) => v < w);
        for (let ch = 0; ch < c; ch++) {
          let sum = 0;
          for (const yy of ys) for (const xx of xs) sum += pixels[base + (yy * w + xx) * c + ch]!;
          const mean = sum / (ys.length * xs.length);
          for (const yy of ys) for (const xx of xs) out[base + (yy * w + xx) * c + ch] = mean;
        }
      }
    }
  }
  return out;
}

/** 3×3 box blur: each pixel the mean of its neighbourhood (the pixels inside the image). */
export function boxBlur3x3(pixels: Float32Array, n: number, [h, w, c]: [number, number, number]): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let b = 0; b < n; b++) {
    const base = b * h * w * c;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let ch = 0; ch < c; ch++) {
          let sum = 0;
          let count = 0;
          for (let yy = Math.max(0, y - 1); yy <= Math.min(h - 1, y + 1); yy++) {
            for (let xx = Math.max(0, x - 1); xx <= Math.min(w - 1, x + 1); xx++) {
              sum += pixels[base + (yy * w + xx) * c + ch]!;
              count++;
            }
          }
          out[base + (y * w + x) * c + ch] = sum / count;
        }
      }
    }
  }
  return out;
}

/** Gaussian noise of standard deviation sigma added to every pixel, clipped to [−1, 1]. */
export function addNoise(pixels: Float32Array, sigma: number, seed: number): Float32Array {
  const noise = new Rng(seed).normal(pixels.length);
  return pixels.map((v, i) => Math.min(1, Math.max(-1, v + sigma * noise[i]!)));
}

export const NOISE_SIGMA = 0.2;
const NOISE_SEED = 20_260_001;

/** Measures the yardsticks for n images (no cache). */
export async function measureYardsticks(real: RealStats, n: number): Promise<Yardsticks> {
  const test = real.data.test;
  const count = Math.min(n, test.count);
  const shape = test.shape;
  const clean = batchPixels(test, Array.from({ length: count }, (_, i) => i));
  const fd = async (pixels: Float32Array) => fdTo(real.test.gaussian, (await extractFeatures(real.net, { pixels, n: count }, shape)).features, count);
  const nTrain = Math.min(n, real.data.train.count);
  return {
    real: fdTo(real.test.gaussian, await real.trainFeatures(nTrain), nTrain),
    pixelated: await fd(pixelate2x2(clean, count, shape)),
    blurred: await fd(boxBlur3x3(clean, count, shape)),
    noisy: await fd(addNoise(clean, NOISE_SIGMA, NOISE_SEED)),
  };
}

const CACHE_FILE = path.join(CACHE_DIR, 'yardsticks.json');
const isYardsticks = (v: unknown): v is Yardsticks =>
  typeof v === 'object' && v !== null && ['real', 'pixelated', 'blurred', 'noisy'].every((k) => typeof (v as Record<string, unknown>)[k] === 'number');

function readCache(file: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {}; // no cache yet, or a damaged one: it is only a cache
  }
}

/**
 * The yardsticks for n images, from the on-disk cache (keyed by data set, class filter, the
 * classifier's weights and the reference size) when present; measured and stored otherwise.
 * A cache that cannot be written is skipped silently: the numbers are still returned.
 */
export async function cachedYardsticks(real: RealStats, n: number, classFilter: number | null, file = CACHE_FILE): Promise<Yardsticks> {
  const key = [real.dataset, classFilter ?? 'all', real.classifier.weights, real.test.n, n, NOISE_SIGMA].join('/');
  const cache = readCache(file);
  const hit = cache[key];
  if (real.classifier.weights !== 'unknown' && isYardsticks(hit)) return hit;
  const measured = await measureYardsticks(real, n);
  if (real.classifier.weights !== 'unknown') {
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      writeFileAtomic(file, `${JSON.stringify({ ...readCache(file), [key]: measured }, null, 1)}\n`);
    } catch {
      // a read-only or full cache folder costs time next run, nothing else
    }
  }
  return measured;
}

export const yardsticksMetric: MetricSpec = {
  name: 'yardsticks',
  description: 'FD of real images measured the same way: real (the floor), 2×2-pixelated, 3×3-blurred and noisy (σ 0.2) test images',
  cheap: true,
  compute: async ({ real, fake }) => ({ yardsticks: await real.yardsticks(fake.n) }),
};
