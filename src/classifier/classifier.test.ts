import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backends/index';
import { loadDataset } from '../data/dataset';
import { UserError } from '../errors';
import { Rng } from '../util/rng';
import { buildClassifier, classifierDir, FEATURE_DIM, featureNet, loadFeatureNet } from './model';
import { accuracyOn, learningRateAt, PEAK_LR, trainClassifier } from './train';

let tmp: string;

beforeAll(async () => {
  // Not 'cpu': TF.js's pure-JS convolution gradients take ~90 s for one batch of 25 CIFAR images.
  await initBackend('auto');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fashion-gan-classifier-'));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/**
 * A tiny synthetic CIFAR-10 folder (binary format: label byte, then 1024 R, 1024 G, 1024 B):
 * class c is a noisy image whose colour and a bright square depend on c, so it is learnable.
 */
function writeSyntheticCifar(dir: string, perBatch: number): void {
  fs.mkdirSync(dir, { recursive: true });
  const rng = new Rng(42);
  const batch = (n: number) => {
    const out = new Uint8Array(n * 3073);
    for (let r = 0; r < n; r++) {
      const label = r % 10;
      const o = r * 3073;
      out[o] = label;
      for (let ch = 0; ch < 3; ch++) {
        for (let p = 0; p < 1024; p++) {
          const y = Math.floor(p / 32);
          const x = p % 32;
          const inSquare = Math.floor(y / 8) === label % 4 && Math.floor(x / 8) === Math.floor(label / 4);
          const base = ((label * 37 + ch * 91) % 200) + (inSquare ? 55 : 0);
          out[o + 1 + ch * 1024 + p] = Math.max(0, Math.min(255, base + rng.nextInt(21) - 10));
        }
      }
    }
    return out;
  };
  for (let i = 1; i <= 5; i++) fs.writeFileSync(path.join(dir, `data_batch_${i}.bin`), batch(perBatch));
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), batch(perBatch));
}

describe('the classifier', () => {
  it('maps [-1, 1] images to 128-d features and class probabilities, for both data sets\' shapes, without leaking tensors', () => {
    for (const shape of [[28, 28, 1], [32, 32, 3]] as [number, number, number][]) {
      const net = featureNet(buildClassifier(shape, 10, 3));
      const x = tf.randomUniform([5, ...shape], -1, 1) as tf.Tensor4D;
      const before = tf.memory().numTensors;
      const f = net.features(x);
      const p = net.probs(x);
      expect(f.shape).toEqual([5, FEATURE_DIM]);
      expect(p.shape).toEqual([5, 10]);
      const sums = tf.tidy(() => tf.sum(p, 1).dataSync());
      for (const s of sums) expect(s).toBeCloseTo(1, 5);
      expect(Math.min(...f.dataSync())).toBeGreaterThanOrEqual(0); // ReLU features
      tf.dispose([f, p]);
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
      net.dispose();
    }
  });

  it('learning rate: warm-up to the peak, then cosine decay to 1 % of it', () => {
    expect(learningRateAt(0)).toBeCloseTo(0.1 * PEAK_LR, 12);
    expect(learningRateAt(0.02)).toBeCloseTo(PEAK_LR, 12);
    expect(learningRateAt(1)).toBeCloseTo(0.01 * PEAK_LR, 12);
    for (let t = 0.03; t < 1; t += 0.05) expect(learningRateAt(t)).toBeLessThan(learningRateAt(t - 0.01));
  });

  it('trains on a (tiny, synthetic) CIFAR-10 folder, saves a loadable model and training.json', async () => {
    const data = path.join(tmp, 'cifar');
    const out = path.join(tmp, 'classifier-cifar10');
    writeSyntheticCifar(data, 20);
    const lines: string[] = [];
    const r = await trainClassifier({ dataset: 'cifar10', dataDir: data, epochs: 2, batchSize: 25, out, seed: 1, backend: tf.getBackend(), command: 'test', log: (l) => lines.push(l) });
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^epoch 2\/2: train accuracy [\d.]+ %, test accuracy [\d.]+ % \(\d+ s\)$/);
    for (const f of ['model.json', 'weights.bin', 'training.json']) expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    const record = JSON.parse(fs.readFileSync(path.join(out, 'training.json'), 'utf8'));
    expect(record).toMatchObject({ dataset: 'cifar10', trainImages: 100, testImages: 20, backend: tf.getBackend(), command: 'test', batchSize: 25, seed: 1 });
    expect(record.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([1, 2]);
    expect(record.testAccuracy).toBe(r.testAccuracy);

    const net = await loadFeatureNet('cifar10', out);
    const { test } = await loadDataset({ dataset: 'cifar10', dataDir: data });
    expect(accuracyOn(net.model, test)).toBeCloseTo(r.testAccuracy, 10);
    const [f, p] = net.both(tf.zeros([3, 32, 32, 3]) as tf.Tensor4D);
    expect(f.shape).toEqual([3, FEATURE_DIM]);
    expect(p.shape).toEqual([3, 10]);
    tf.dispose([f, p]);
    net.dispose();
  });

  it('a missing classifier is a one-line UserError naming the folder and the command that makes one', async () => {
    const missing = path.join(tmp, 'nothing-here');
    await expect(loadFeatureNet('cifar10', missing)).rejects.toThrow(UserError);
    await expect(loadFeatureNet('cifar10', missing)).rejects.toThrow(/^no classifier for cifar10 at .*nothing-here; train one with `fashion-gan classifier train --dataset cifar10`$/);
  });
});

describe('the shipped Fashion-MNIST classifier', () => {
  const dir = classifierDir('fashion-mnist');
  const shipped = fs.existsSync(path.join(dir, 'model.json'));

  it.runIf(shipped)('records ≥ 92 % test accuracy in training.json, with how it was made', () => {
    const record = JSON.parse(fs.readFileSync(path.join(dir, 'training.json'), 'utf8'));
    expect(record.testAccuracy).toBeGreaterThanOrEqual(0.92);
    expect(record.command).toMatch(/^fashion-gan classifier train/);
    expect(record.epochs.length).toBeGreaterThan(0);
    expect(record.epochs.at(-1).testAccuracy).toBe(record.testAccuracy);
    expect(typeof record.backend).toBe('string');
    expect(record.seconds).toBeGreaterThan(0);
  });

  it.runIf(shipped)('the weights on disk are the ones that scored it (first 1,000 test images)', async () => {
    const net = await loadFeatureNet('fashion-mnist');
    const { test } = await loadDataset({ dataset: 'fashion-mnist' });
    const n = 1000;
    const part = { ...test, count: n, images: test.images.subarray(0, n * 784), labels: test.labels.subarray(0, n) };
    expect(accuracyOn(net.model, part)).toBeGreaterThan(0.9);
    net.dispose();
  });
});
