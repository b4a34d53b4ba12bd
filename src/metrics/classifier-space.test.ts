/** The metrics measured in the shipped classifier's feature space (real data, real images, the yardsticks). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backends/index';
import { batchPixels, loadDataset } from '../data/dataset';
import { classifierDir, loadFeatureNet } from '../classifier/model';
import type { LoadedGenerator } from '../generate';
import type { RunConfig } from '../run/config';
import { Rng } from '../util/rng';
import { fitGaussian, frechetDistance } from './fd';
import { ALL_METRICS, CHEAP_METRICS, clearRealStats, evaluateGenerator, evaluateImages, extractFeatures, realStats } from './index';
import { cachedYardsticks } from './yardsticks';

describe('in the shipped classifier\'s feature space', () => {
  const shipped = fs.existsSync(`${classifierDir('fashion-mnist')}/model.json`);
  beforeAll(async () => {
    await initBackend('auto');
  });
  afterAll(async () => {
    await clearRealStats();
  });

  it.runIf(shipped)('FD orders real test vs train < blurred < noise, and leaves no tensors behind', async () => {
    const data = await loadDataset({ dataset: 'fashion-mnist' });
    const net = await loadFeatureNet('fashion-mnist');
    const n = 400;
    const idx = Array.from({ length: n }, (_, i) => i);
    const shape = data.test.shape;
    const test = batchPixels(data.test, idx);
    const train = batchPixels(data.train, idx.map((i) => i * 7));
    const blurred = tf.tidy(() => {
      const k = tf.fill([5, 5, 1, 1], 1 / 25) as tf.Tensor4D;
      return tf.conv2d(tf.tensor4d(train, [n, ...shape]), k, 1, 'same').dataSync() as Float32Array;
    });
    const noise = new Rng(6).normal(n * 784).map((v) => Math.max(-1, Math.min(1, v)));
    const before = tf.memory().numTensors;
    const g = async (px: Float32Array) => {
      const f = await extractFeatures(net, { pixels: px, n }, shape);
      expect(f.dim).toBe(128);
      expect(f.classes).toBe(10);
      return fitGaussian(f.features, n, f.dim);
    };
    const real = await g(test);
    const fdReal = frechetDistance(real, await g(train));
    const fdBlur = frechetDistance(real, await g(blurred));
    const fdNoise = frechetDistance(real, await g(noise));
    expect(tf.memory().numTensors).toBe(before);
    expect(fdReal).toBeLessThan(fdBlur);
    expect(fdBlur).toBeLessThan(fdNoise);
    net.dispose();
  });

  it.runIf(shipped)('the yardsticks order real < pixelated < blurred < noisy, and come back from the disk cache', async () => {
    const real = await realStats({ dataset: 'fashion-mnist', realImages: 2000 });
    const file = `${fs.mkdtempSync(`${os.tmpdir()}/yardsticks-`)}/cache.json`;
    const y = await cachedYardsticks(real, 500, null, file);
    expect(y.real).toBeLessThan(y.pixelated);
    expect(y.pixelated).toBeLessThan(y.blurred);
    expect(y.blurred).toBeLessThan(y.noisy);
    const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(Object.values(stored)).toEqual([y]);
    // A planted value proves the second call reads the cache instead of measuring again.
    const key = Object.keys(stored)[0]!;
    fs.writeFileSync(file, JSON.stringify({ [key]: { ...y, noisy: 1234 } }));
    expect((await cachedYardsticks(real, 500, null, file)).noisy).toBe(1234);
    fs.writeFileSync(file, '{ not json');
    expect((await cachedYardsticks(real, 500, null, file)).noisy).toBeCloseTo(y.noisy, 10);
  });

  it.runIf(shipped)('pure noise: precision can read high (noise lands by real bags), but recall and manifold coverage expose it', async () => {
    const n = 400;
    const rng = new Rng(3);
    const noise = Float32Array.from({ length: n * 784 }, () => rng.nextFloat() * 2 - 1);
    const r = await evaluateImages(noise, n, { dataset: 'fashion-mnist', samples: n, seed: 1, realImages: n, prSamples: n, metrics: ['precisionRecall'] });
    expect(r.recall).toBeLessThan(0.02);
    expect(r.manifoldCoverage).toBeLessThan(0.03);
    expect(r.fd).toBeGreaterThan(30);
    const data = await loadDataset({ dataset: 'fashion-mnist' });
    const real = await evaluateImages(batchPixels(data.train, Array.from({ length: n }, (_, i) => i * 97)), n, { dataset: 'fashion-mnist', samples: n, seed: 1, realImages: n, prSamples: n, metrics: ['precisionRecall'] });
    expect(real.recall).toBeGreaterThan(0.6);
    expect(real.manifoldCoverage).toBeGreaterThan(0.6);
    expect(real.density).toBeGreaterThan(0.7);
  });

  it.runIf(shipped)('evaluateImages of real images: small FD near its floor, recognisable, even coverage, precise; no memorisation', async () => {
    const data = await loadDataset({ dataset: 'fashion-mnist' });
    const n = 300;
    // Real training images, a different slice from the floor's, stand in for a perfect generator.
    const px = batchPixels(data.train, Array.from({ length: n }, (_, i) => 2999 - i * 7));
    const r = await evaluateImages(px, n, { dataset: 'fashion-mnist', samples: n, seed: 1, realImages: 300, prSamples: 300, noveltySamples: 300, nearestExamples: 2, trainPool: 3000 });
    expect(r.metrics).toEqual(ALL_METRICS());
    expect(r.classifier).toEqual({ dir: 'models/classifier-fashion-mnist', weights: expect.stringMatching(/^[0-9a-f]{16}$/), testAccuracy: expect.any(Number) });
    expect(r.fd).toBeLessThan(3 * r.fdFloor + 1);
    // (KID's scale here: a collapsed fmnist-lms run scores ≈ 9, an untrained generator far more.)
    expect(Math.abs(r.kid)).toBeLessThan(0.5);
    expect(r.recognisability).toBeGreaterThan(0.8);
    expect(r.classifierScore).toBeGreaterThan(6);
    expect(r.coverage.every((c) => c > 0.03 && c < 0.2)).toBe(true);
    expect(r.precision).toBeGreaterThan(0.6);
    expect(r.recall).toBeGreaterThan(0.6);
    // They ARE training images: every one is at distance 0 from itself.
    expect(r.memorisationRate).toBe(1);
    expect(r.dataCopying).toBeLessThan(-3);
    expect(r.nearest![0]).toMatchObject({ sample: 0, trainIndex: 2999, featureTrainIndex: 2999 });
    expect(r.nearest![0]!.pixelDistance).toBeLessThan(1e-3);
    expect(r.nearest![0]!.featureDistance).toBeLessThan(1e-3);
  });

  it.runIf(shipped)('the data-copying test reads ≈ 0 for unseen real images: test images 5000… against test images 0…', async () => {
    const data = await loadDataset({ dataset: 'fashion-mnist' });
    const n = 400;
    const px = batchPixels(data.test, Array.from({ length: n }, (_, i) => 5000 + i));
    const r = await evaluateImages(px, n, { dataset: 'fashion-mnist', samples: n, seed: 1, realImages: n, noveltySamples: n, nearestExamples: 0, trainPool: 6000, metrics: ['novelty'] });
    expect(r.dataCopyingPerClass).toHaveLength(10);
    expect(Math.abs(r.dataCopying!)).toBeLessThan(3);
    expect(r.memorisationRate).toBeLessThan(0.05);
  });

  it.runIf(shipped)('evaluateGenerator: repeatable for a seed, all keys, and tf.memory flat across calls (tiny untrained generator)', async () => {
    const z = tf.input({ shape: [16] });
    let x = tf.layers.dense({ units: 7 * 7 * 8, activation: 'relu', kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }) }).apply(z) as tf.SymbolicTensor;
    x = tf.layers.reshape({ targetShape: [7, 7, 8] }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.conv2dTranspose({ filters: 8, kernelSize: 4, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotNormal({ seed: 2 }) }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.conv2dTranspose({ filters: 1, kernelSize: 4, strides: 2, padding: 'same', activation: 'tanh', kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }) }).apply(x) as tf.SymbolicTensor;
    const model = tf.model({ inputs: z, outputs: x });
    const config = { dataset: 'fashion-mnist', classFilter: null, latentDim: 16, imageShape: [28, 28, 1], conditional: false, numClasses: 10, preset: 'test' } as unknown as RunConfig;
    const gen: LoadedGenerator = { model, config, runDir: '', latentDim: 16, imageShape: [28, 28, 1], conditional: false, numClasses: 10, classNames: [] };
    const o = { samples: 120, seed: 7, realImages: 300, prSamples: 120, noveltySamples: 60, nearestExamples: 1, trainPool: 2000 };
    const first = await evaluateGenerator(gen, o);
    const before = tf.memory().numTensors;
    const second = await evaluateGenerator(gen, o);
    const cheap = await evaluateGenerator(gen, { ...o, full: false });
    expect(tf.memory().numTensors).toBe(before);
    const { timings: _t1, ...a } = first;
    const { timings: _t2, ...b } = second;
    expect(b).toEqual(a);
    for (const key of ['fd', 'fdFloor', 'kid', 'kidStd', 'recognisability', 'classifierScore', 'precision', 'recall', 'memorisationRate']) {
      expect(Number.isFinite((first as unknown as Record<string, number>)[key]), key).toBe(true);
    }
    expect(first.coverage).toHaveLength(10);
    expect(first.samples).toBe(120);
    // An untrained generator is far from the data; real images sit near the floor.
    expect(first.fd).toBeGreaterThan(10 * first.fdFloor);
    expect(cheap.metrics).toEqual(CHEAP_METRICS());
    expect(cheap.precision).toBeUndefined();
    expect(cheap.fd).toBe(first.fd);
    model.dispose();
  });
});
