import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backends/index';
import { batchPixels, loadDataset } from '../data/dataset';
import { loadFeatureNet } from '../classifier/model';
import { Rng } from '../util/rng';
import { classifierScores } from './classifier-score';
import { fitGaussian, frechetDistance, type Gaussian } from './fd';
import { featuresOf, nearestTrain } from './index';
import { kernelDistance } from './kid';
import { matmul, sqrtPsd, symmetricEigen } from './linalg';
import { nearestNeighbours } from './nearest';
import { precisionRecall } from './precision-recall';

const gaussian = (mean: number[], cov: number[][]): Gaussian => ({ mean: Float64Array.from(mean), cov: Float64Array.from(cov.flat()), dim: mean.length });

describe('metrics against known answers', () => {
  it('FD of two diagonal Gaussians is ‖μ1 − μ2‖² + Σ(σ1 − σ2)²', () => {
    const a = gaussian([0, 1, 2], [[4, 0, 0], [0, 1, 0], [0, 0, 9]]);
    const b = gaussian([1, 1, 0], [[1, 0, 0], [0, 1, 0], [0, 0, 4]]);
    expect(frechetDistance(a, b)).toBeCloseTo(1 + 0 + 4 + (2 - 1) ** 2 + 0 + (3 - 2) ** 2, 8);
  });

  it('FD of a set with itself is 0, and FD is symmetric for full covariances', () => {
    const rng = new Rng(1);
    const x = rng.normal(500 * 6).map((v, i) => v * (1 + (i % 6)) + (i % 3));
    const y = rng.normal(500 * 6).map((v, i) => v + (i % 2));
    const gx = fitGaussian(x, 500, 6);
    const gy = fitGaussian(y, 500, 6);
    expect(frechetDistance(gx, gx)).toBeLessThan(1e-8);
    expect(frechetDistance(gx, gy)).toBeCloseTo(frechetDistance(gy, gx), 6);
  });

  it('the matrix square root squares back, and the eigen-decomposition reconstructs', () => {
    const rng = new Rng(2);
    const a = Float64Array.from(rng.normal(25));
    const m = matmul(a, Float64Array.from({ length: 25 }, (_, i) => a[(i % 5) * 5 + Math.floor(i / 5)]!), 5); // A·Aᵀ
    const r = sqrtPsd(m, 5);
    const rr = matmul(r, r, 5);
    for (let i = 0; i < 25; i++) expect(rr[i]).toBeCloseTo(m[i]!, 8);
    const { values } = symmetricEigen(m, 5);
    expect(values.reduce((s, v) => s + v, 0)).toBeCloseTo([0, 6, 12, 18, 24].reduce((s, i) => s + m[i]!, 0), 8);
  });

  it('KID is about 0 for one distribution and clearly positive for a shifted one', () => {
    const rng = new Rng(3);
    const x = rng.normal(400 * 8);
    const y = rng.normal(400 * 8);
    const shifted = rng.normal(400 * 8).map((v) => v + 1);
    const same = kernelDistance(x, 400, y, 400, 8, 5, 200, 1);
    const diff = kernelDistance(x, 400, shifted, 400, 8, 5, 200, 1);
    expect(Math.abs(same.kid)).toBeLessThan(3 * same.kidStd + 0.02);
    expect(diff.kid).toBeGreaterThan(0.2);
  });

  it('precision and recall of a set against itself are 1, and 0 against a far-away set', () => {
    const x = new Rng(4).normal(200 * 4);
    expect(precisionRecall(x, 200, x, 200, 4)).toEqual({ precision: 1, recall: 1 });
    const far = x.map((v) => v + 100);
    expect(precisionRecall(x, 200, far, 200, 4)).toEqual({ precision: 0, recall: 0 });
  });

  it('the classifier score is 1 for unsure predictions and 10 for sure, balanced ones', () => {
    const unsure = new Float32Array(100 * 10).fill(0.1);
    expect(classifierScores(unsure, 100, 10).classifierScore).toBeCloseTo(1, 6);
    const sure = new Float32Array(100 * 10);
    for (let i = 0; i < 100; i++) sure[i * 10 + (i % 10)] = 1;
    const s = classifierScores(sure, 100, 10);
    expect(s.classifierScore).toBeCloseTo(10, 6);
    expect(s.recognisability).toBe(1);
    expect(s.coverage.every((c) => Math.abs(c - 0.1) < 1e-9)).toBe(true);
  });

  it('the backend nearest-neighbour search agrees with the plain one', async () => {
    await initBackend('cpu');
    const rng = new Rng(5);
    const q = rng.normal(7 * 5);
    const p = rng.normal(50 * 5);
    const fast = nearestTrain(q, 7, p, 50, 5, 16);
    const plain = nearestNeighbours(q, p, 5, 1);
    for (let i = 0; i < 7; i++) {
      expect(fast.index[i]).toBe(plain[i]![0]!.index);
      expect(fast.distance[i]).toBeCloseTo(plain[i]![0]!.distance, 4);
    }
  });
});

describe('FD in the shipped classifier\'s feature space', () => {
  beforeAll(async () => {
    await initBackend('auto');
  });

  it('orders real < blurred < noise, and leaves no tensors behind', async () => {
    const data = await loadDataset({ dataset: 'fashion-mnist' });
    const net = await loadFeatureNet('fashion-mnist');
    const n = 400;
    const idx = Array.from({ length: n }, (_, i) => i);
    const shape = data.test.shape;
    const test = batchPixels(data.test, idx);
    const train = batchPixels(data.train, idx.map((i) => i * 7));
    const blurred = tf.tidy(() => {
      const k = tf.fill([3, 3, 1, 1], 1 / 9) as tf.Tensor4D;
      return tf.conv2d(tf.tensor4d(train, [n, ...shape]), k, 1, 'same').dataSync() as Float32Array;
    });
    const noise = new Rng(6).normal(n * 784).map((v) => Math.max(-1, Math.min(1, v)));
    const before = tf.memory().numTensors;
    const g = (px: Float32Array) => {
      const f = featuresOf(net, px, n, shape);
      return fitGaussian(f.features, n, f.dim);
    };
    const real = g(test);
    const fdReal = frechetDistance(real, g(train));
    const fdBlur = frechetDistance(real, g(blurred));
    const fdNoise = frechetDistance(real, g(noise));
    expect(tf.memory().numTensors).toBe(before);
    expect(fdReal).toBeLessThan(fdBlur);
    expect(fdBlur).toBeLessThan(fdNoise);
    net.dispose();
  });
});
