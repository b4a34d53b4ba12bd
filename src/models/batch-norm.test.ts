/**
 * The batch norm layer: on native, training mode runs two kernels (forward with the batch's
 * statistics, and the whole gradient) that must agree with TF.js's op-by-op layer on the pure-JS
 * cpu backend at the shapes the presets train at; everywhere else, and at inference, it is the
 * stock layer bit for bit; it saves as the stock layer and leaks no tensors.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from '../backends/kernel-names';
import { compare, rand, runOn, suiteName, unavailable } from '../backends/native/test-helpers';
import { BatchNorm, batchNorm } from './batch-norm';

const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** A model of one batch norm layer with γ, β and moving statistics set from `seed` (not 1, 0, 0, 1). */
function model(shape: number[], stock: boolean, seed: number): tf.LayersModel {
  const input = tf.input({ shape: shape.slice(1) });
  const args = { momentum: 0.9, epsilon: 1e-3, name: 'bn' };
  const layer = stock ? tf.layers.batchNormalization(args) : batchNorm(args);
  const m = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
  const c = shape.at(-1)!;
  tf.tidy(() => layer.setWeights([tf.tensor1d(rand(c, seed, 0.5, 1.5)), tf.tensor1d(rand(c, seed + 1)), tf.tensor1d(rand(c, seed + 2)), tf.tensor1d(rand(c, seed + 3, 0.5, 2))]));
  return m;
}

/**
 * One training-mode pass and its gradients for loss = Σ y·w: [y, dx, dγ, dβ, moving mean,
 * moving variance] (the moving statistics after the pass). The model is disposed.
 */
function trainPass(shape: number[], stock: boolean, seed: number, offset = 0): tf.Tensor[] {
  const m = model(shape, stock, seed);
  try {
    const x = tf.add(tf.tensor(rand(numel(shape), seed + 4, -2, 3), shape), offset);
    const w = tf.tensor(rand(numel(shape), seed + 5), shape);
    // The layer reads γ and β as these very tensors, so tf.grads differentiates through them.
    const [gamma, beta] = m.getLayer('bn').getWeights().slice(0, 2);
    let y: tf.Tensor | null = null;
    const grads = tf.grads((xi: tf.Tensor) => {
      y = tf.keep(m.apply(xi, { training: true }) as tf.Tensor);
      return tf.sum(tf.mul(y, w));
    })([x, gamma!, beta!]);
    const stats = m.getLayer('bn').getWeights().slice(2).map((t) => t.clone());
    return [y!, ...grads, ...stats];
  } finally {
    m.dispose();
  }
}

// The presets' batch norms (fashion G: dense projection, 14×14×64, 28×28×32) and odd small shapes.
const SHAPES = [[64, 6272], [64, 14, 14, 64], [64, 28, 28, 32], [3, 5, 7], [2, 1], [5, 2, 3, 300]];

describe.skipIf(!!unavailable)(suiteName('batch norm in training mode on native vs the stock layer on cpu'), () => {
  for (const shape of SHAPES) {
    it(`[${shape}]: output, gradients and moving statistics`, async () => {
      const err = await compare(() => trainPass(shape, tf.getBackend() === 'cpu', 7), [BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD], 2e-5);
      expect(err).toBeLessThanOrEqual(2e-5);
    }, 60_000);
  }

  it('stays accurate when the mean is large against the spread (x + 300)', async () => {
    await compare(() => trainPass([64, 7, 7, 16], tf.getBackend() === 'cpu', 9, 300), [BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD], 2e-3);
  });

  it('leaves tf.memory().numTensors flat, with and without a gradient tape', async () => {
    await tf.setBackend('native');
    const m = model([8, 4, 4, 6], false, 3);
    const x = tf.tensor(rand(8 * 4 * 4 * 6, 4), [8, 4, 4, 6]);
    // Training mode with no tape (G's forward pass in D's step): the statistics must survive the
    // kernel's own scope for the moving averages, then be freed.
    const forward = () => tf.tidy(() => tf.sum(m.apply(x, { training: true }) as tf.Tensor).dataSync());
    const once = () => tf.dispose(tf.tidy(() => trainPass([8, 4, 4, 6], false, 3)));
    forward();
    once();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      forward();
      once();
    }
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
    x.dispose();
  });
});

describe('batch norm elsewhere: the stock layer', () => {
  it('on cpu, training mode gives the stock layer\'s bits, and so does inference on native', async () => {
    const shape = [6, 5, 5, 8];
    const same = (a: { data: ArrayLike<number> }[], b: { data: ArrayLike<number> }[]) => a.every((r, i) => Array.from(r.data).every((v, j) => Object.is(v, b[i]!.data[j])));
    expect(same(await runOn('cpu', () => trainPass(shape, false, 1)), await runOn('cpu', () => trainPass(shape, true, 1)))).toBe(true);
    const infer = (stock: boolean) => () => model(shape, stock, 2).predict(tf.tensor(rand(numel(shape), 3), shape)) as tf.Tensor;
    for (const backend of unavailable ? ['cpu'] : ['cpu', 'native']) {
      expect(same(await runOn(backend, infer(false)), await runOn(backend, infer(true))), backend).toBe(true);
    }
  });

  it('saves as Keras\'s BatchNormalization, with the same config', () => {
    const a = model([2, 3], false, 1).getLayer('bn');
    const b = model([2, 3], true, 1).getLayer('bn');
    expect(a).toBeInstanceOf(BatchNorm);
    expect(a.getClassName()).toBe('BatchNormalization');
    expect(a.getConfig()).toEqual(b.getConfig());
  });
});
