import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { benchBackend } from '../../bench/bench';
import { getPreset } from '../../models/presets';
import { rand, suiteName, unavailable } from './test-helpers';

describe.skipIf(!!unavailable)(suiteName('native backend memory'), () => {
  it('tf.memory().numTensors stays flat across repeated kernel calls', async () => {
    await tf.setBackend('native');
    const x = tf.tensor4d(rand(2 * 9 * 9 * 3, 1), [2, 9, 9, 3]);
    const f = tf.tensor4d(rand(3 * 3 * 3 * 4, 2), [3, 3, 3, 4]);
    const b = tf.tensor1d(rand(4, 3));
    const once = () =>
      tf.tidy(() => {
        const y = tf.fused.conv2d({ x, filter: f, strides: 2, pad: 'same', bias: b, activation: 'relu' });
        const z = tf.conv2dTranspose(y, f, [2, 9, 9, 3], 2, 'same');
        const [gx, gf] = tf.grads((a: tf.Tensor, w: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid'))))([x, f]);
        const m = tf.matMul(tf.reshape(z, [2, -1]), tf.reshape(z, [2, -1]), false, true);
        const bn = tf.batchNorm(z, tf.mean(z, [0, 1, 2]), tf.moments(z, [0, 1, 2]).variance);
        const w = tf.where(tf.greater(bn, 0), tf.leakyRelu(bn, 0.3), tf.tanh(bn));
        const r = tf.addN([tf.sum(gx), tf.sum(gf), tf.sum(m), tf.max(w), tf.mean(tf.tile(b, [3])), tf.sum(tf.transpose(z, [3, 1, 2, 0]))]);
        const i = tf.sum(tf.add(tf.tensor([1, 2], [2], 'int32'), tf.scalar(3, 'int32'))); // cpu fallbacks
        return tf.add(r, tf.cast(i, 'float32'));
      });
    once().dispose();
    const before = tf.memory().numTensors;
    const bytesBefore = tf.memory().numBytes;
    for (let k = 0; k < 20; k++) once().dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.memory().numBytes).toBe(bytesBefore);
    tf.dispose([x, f, b]);
  });

  it('the real train step (fmnist-lms) leaks no tensors', async () => {
    const r = await benchBackend(getPreset('fmnist-lms'), 'native', 8, 3, 1);
    expect(r.numTensorsAfter).toBe(r.numTensorsBefore);
    expect(r.stepSeconds.length).toBe(3);
  });
});
