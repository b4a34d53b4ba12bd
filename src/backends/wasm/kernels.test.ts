import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../index';
import { Rng } from '../../util/rng';
import { maxRelErr, on } from '../../../test/wasm-helpers';

const rng = new Rng(7);
const rand = (shape: number[]) => ({ shape, values: rng.normal(shape.reduce((a, b) => a * b, 1)) });

// [n, h, w, ci], [kh, kw, ci, co], stride, padding
const convCases: [number[], number[], [number, number], 'same' | 'valid'][] = [
  [[2, 7, 7, 3], [5, 5, 3, 4], [2, 2], 'same'],
  [[1, 8, 8, 2], [4, 4, 2, 3], [2, 2], 'same'],
  [[3, 9, 6, 2], [3, 2, 2, 5], [1, 1], 'same'],
  [[2, 9, 9, 3], [3, 3, 3, 2], [2, 2], 'valid'],
  [[1, 10, 7, 1], [4, 3, 1, 2], [2, 1], 'valid'],
  [[2, 14, 14, 4], [5, 5, 4, 3], [2, 2], 'same'],
  [[1, 5, 5, 2], [5, 5, 2, 2], [1, 1], 'valid'],
  [[1, 11, 9, 3], [2, 5, 3, 2], [2, 2], 'same'],
  [[2, 8, 11, 2], [4, 1, 2, 3], [1, 2], 'same'],
  [[1, 12, 12, 2], [3, 3, 2, 2], [3, 3], 'valid'],
  [[1, 9, 9, 2], [2, 2, 2, 3], [3, 3], 'valid'], // kernel < stride: one input phase gets no taps
  // Enough images · output pixels that the filter gradient splits the batch into groups (one short).
  [[64, 14, 14, 2], [5, 5, 2, 3], [2, 2], 'same'],
  [[70, 12, 12, 2], [3, 3, 2, 2], [1, 1], 'same'],
  // fmnist-lms at batch 1 (the cpu reference takes seconds): G's deconv1-3 are the transposes of these, D's conv1-2 the last two.
  [[1, 7, 7, 256], [5, 5, 256, 128], [1, 1], 'same'],
  [[1, 14, 14, 64], [5, 5, 64, 128], [2, 2], 'same'],
  [[1, 28, 28, 1], [5, 5, 1, 64], [2, 2], 'same'],
];

describe('wasm kernel patches agree with the pure-JS cpu backend', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it.each(convCases)('conv2d gradients for x %j, filter %j, stride %j, %s', async (xShape, fShape, strides, pad) => {
    const x = rand(xShape);
    const f = rand(fShape);
    const grads = (xt: tf.Tensor, ft: tf.Tensor) => {
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad).square().sum());
      return g([xt, ft]);
    };
    const [dxCpu, dfCpu] = await on('cpu', grads, [x, f]);
    const [dxWasm, dfWasm] = await on('wasm', grads, [x, f]);
    expect(maxRelErr(dxWasm!, dxCpu!)).toBeLessThan(1e-5);
    expect(maxRelErr(dfWasm!, dfCpu!)).toBeLessThan(1e-5);
  });

  it.each(convCases)('conv2dTranspose and its gradients for y %j, filter %j, stride %j, %s', async (xShape, fShape, strides, pad) => {
    // conv2dTranspose maps the conv's output shape back to xShape.
    const outShape = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], fShape as [number, number, number, number], strides, 1, pad).outShape;
    const dy = rand(outShape);
    const f = rand(fShape);
    const fn = (dyt: tf.Tensor, ft: tf.Tensor) => {
      const y = tf.conv2dTranspose(dyt as tf.Tensor4D, ft as tf.Tensor4D, xShape as [number, number, number, number], strides, pad);
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, xShape as [number, number, number, number], strides, pad).square().sum());
      return [y, ...g([dyt, ft])];
    };
    const cpu = await on('cpu', fn, [dy, f]);
    const wasm = await on('wasm', fn, [dy, f]);
    for (let i = 0; i < 3; i++) expect(maxRelErr(wasm[i]!, cpu[i]!)).toBeLessThan(1e-5);
  });

  it.each([
    [[3, 5], [5, 4], false, false],
    [[5, 3], [5, 4], true, false],
    [[3, 5], [4, 5], false, true],
    [[2, 5, 3], [2, 4, 5], true, true],
  ] as const)('matMul %j × %j transposeA=%s transposeB=%s', async (aShape, bShape, ta, tb) => {
    const a = rand([...aShape]);
    const b = rand([...bShape]);
    const fn = (at: tf.Tensor, bt: tf.Tensor) => [tf.matMul(at, bt, ta, tb)];
    const [cpu] = await on('cpu', fn, [a, b]);
    const [wasm] = await on('wasm', fn, [a, b]);
    expect(maxRelErr(wasm!, cpu!)).toBeLessThan(1e-5);
  });

  it.each([
    ['tile', (x: tf.Tensor) => tf.tile(x, [2, 1, 3])],
    ['tile a row', (x: tf.Tensor) => tf.tile(tf.reshape(tf.sum(x, [0, 1]), [1, 1, -1]), [4, 3, 1])],
    ['sum over leading axes', (x: tf.Tensor) => tf.sum(x, [0, 1])],
    ['sum over axis 0, keepDims', (x: tf.Tensor) => tf.sum(x, 0, true)],
    ['sum over the last axis', (x: tf.Tensor) => tf.sum(x, -1)],
    ['sum over axes 0 and 2', (x: tf.Tensor) => tf.sum(x, [0, 2])],
    ['mean over leading axes', (x: tf.Tensor) => tf.mean(x, [1, 0])],
    ['leakyRelu', (x: tf.Tensor) => tf.leakyRelu(x, 0.3)],
    ['greater than a scalar', (x: tf.Tensor) => tf.cast(tf.greater(x, 0.1), 'float32')],
    ['greater, same shape', (x: tf.Tensor) => tf.cast(tf.greater(x, tf.reverse(x, 0)), 'float32')],
    ['where', (x: tf.Tensor) => tf.where(tf.greater(x, 0), x, tf.mul(x, -2))],
    ['leakyRelu gradient', (x: tf.Tensor) => tf.grad((a: tf.Tensor) => tf.leakyRelu(a, 0.2).square().sum())(x)],
    ['batch norm gradient', (x: tf.Tensor) => tf.grad((a: tf.Tensor) => tf.batchNorm(a, tf.mean(a, [0, 1]), tf.ones([5]), tf.zeros([5]), tf.fill([5], 2), 1e-3).square().sum())(x)],
  ] as const)('JS kernel: %s', async (_name, fn) => {
    const x = rand([3, 4, 5]);
    const [cpu] = await on('cpu', (t) => [fn(t)], [x]);
    const [wasm] = await on('wasm', (t) => [fn(t)], [x]);
    expect(wasm!.length).toBe(cpu!.length);
    expect(maxRelErr(wasm!, cpu!)).toBeLessThan(1e-5);
  });

  it('LeakyReLU gradient in one pass, bit for bit as the cpu backend', async () => {
    const values = rng.normal(4 * 6 * 5);
    values.set([0, -0, 1e-30, -1e-30, NaN, Infinity, -Infinity], 0);
    const x = { shape: [4, 6, 5], values };
    const fn = (t: tf.Tensor) => [tf.grad((a: tf.Tensor) => tf.leakyRelu(a, 0.2).mul(tf.range(0, 120).reshape([4, 6, 5]).sub(60)).sum())(t)];
    const profiled = await tf.profile(async () => on('wasm', fn, [x]));
    expect(profiled.kernelNames).toContain('FashionLeakyReluGrad');
    expect(profiled.kernelNames).not.toContain('Select');
    const [cpu] = await on('cpu', fn, [x]);
    const [wasm] = profiled.result as Float32Array[];
    expect(wasm).toEqual(cpu);
  });

  it('leaves no tensors behind', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([2, 8, 8, 3]);
    const f = tf.randomNormal([4, 4, 3, 5]);
    const fT = tf.randomNormal([5, 5, 2, 3]);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same').sum());
    const gT = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.leakyRelu(tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, [2, 15, 15, 2], 2, 'same'), 0.3).sum());
    const elementwise = () => tf.tidy(() => [tf.tile(x, [1, 2, 1, 1]), tf.mean(x, [0, 1, 2]), tf.where(tf.greater(x, 0), x, tf.clone(x))]);
    const run = () => {
      tf.dispose(g([x, f]));
      tf.dispose(gT([x, fT]));
      tf.dispose(elementwise());
    };
    run();
    const before = tf.memory().numTensors;
    // The conv gradients allocate heap buffers outside the engine's tensor count.
    const buffersBefore = tf.backend().numDataIds();
    for (let i = 0; i < 3; i++) run();
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.backend().numDataIds()).toBe(buffersBefore);
    tf.dispose([x, f, fT]);
  });
});
