import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { broadcastPlan } from './kernels';
import { nativeDropoutMask, nativeUniform } from './index';
import { LEAKY_RELU_GRAD } from './kernels';
import { compare, compareFallback, rand, suiteName, unavailable } from './test-helpers';

const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
const T = (shape: number[], seed: number, lo = -2, hi = 2) => () => tf.tensor(rand(numel(shape), seed, lo, hi), shape);

describe('broadcastPlan', () => {
  it('collapses contiguous and broadcast dimensions', () => {
    const p = broadcastPlan([2, 3, 4], [4]);
    expect([...p.shape]).toEqual([6, 4]);
    expect([...p.aStrides]).toEqual([4, 1]);
    expect([...p.bStrides]).toEqual([0, 1]);
    const q = broadcastPlan([2, 3, 4], [2, 3, 4]);
    expect([...q.shape]).toEqual([24]);
    const r = broadcastPlan([], []);
    expect(r.outShape).toEqual([]);
    expect([...r.shape]).toEqual([1]);
  });
});

describe.skipIf(!!unavailable)(suiteName('native elementwise ops vs cpu'), () => {
  const unary: Array<[string, string, (x: tf.Tensor) => tf.Tensor, number, number]> = [
    ['Relu', 'relu', (x) => tf.relu(x), -3, 3],
    ['Relu6', 'relu6', (x) => tf.relu6(x), -3, 9],
    ['LeakyRelu', 'leakyRelu', (x) => tf.leakyRelu(x, 0.3), -3, 3],
    ['Sigmoid', 'sigmoid', (x) => tf.sigmoid(x), -8, 8],
    ['Elu', 'elu', (x) => tf.elu(x), -3, 3],
    ['Tanh', 'tanh', (x) => tf.tanh(x), -4, 4],
    ['Neg', 'neg', (x) => tf.neg(x), -3, 3],
    ['Exp', 'exp', (x) => tf.exp(x), -5, 5],
    ['Log', 'log', (x) => tf.log(x), 0.01, 10],
    ['Sqrt', 'sqrt', (x) => tf.sqrt(x), 0, 10],
    ['Rsqrt', 'rsqrt', (x) => tf.rsqrt(x), 0.01, 10],
    ['Square', 'square', (x) => tf.square(x), -3, 3],
    ['Abs', 'abs', (x) => tf.abs(x), -3, 3],
    ['Reciprocal', 'reciprocal', (x) => tf.reciprocal(x), 0.1, 3],
    ['Softplus', 'softplus', (x) => tf.softplus(x), -20, 20],
    ['Log1p', 'log1p', (x) => tf.log1p(x), -0.9, 5],
    ['Expm1', 'expm1', (x) => tf.expm1(x), -3, 3],
    ['Step', 'step', (x) => tf.step(x, 0.1), -3, 3],
    ['Sign', 'sign', (x) => tf.sign(x), -3, 3],
    ['Floor', 'floor', (x) => tf.floor(x), -3, 3],
    ['Ceil', 'ceil', (x) => tf.ceil(x), -3, 3],
    ['Sin', 'sin', (x) => tf.sin(x), -3, 3],
    ['Cos', 'cos', (x) => tf.cos(x), -3, 3],
  ];
  for (const [kernel, name, f, lo, hi] of unary) {
    it(`${kernel} (${name})`, async () => {
      for (const [i, shape] of [[7], [3, 5, 11], [2, 300, 129], []].entries()) {
        await compare(() => f(T(shape as number[], 10 + i, lo, hi)()), kernel);
      }
    });
  }

  const shapes: Array<[number[], number[]]> = [
    [[2, 3, 4], [2, 3, 4]],
    [[2, 3, 4], [4]],
    [[4], [2, 3, 4]],
    [[2, 3, 4], [3, 1]],
    [[1], [5, 2]],
    [[], [3, 3]],
    [[3, 3], []],
    [[2, 1, 4], [1, 3, 1]],
    [[5, 1], [1, 7]],
    [[2, 3, 1, 5], [3, 4, 1]],
    [[256, 14, 14, 8], [1, 1, 1, 8]],
    [[64, 1000], [64, 1000]],
    [[1, 1, 64, 300], [300]],
  ];
  const binary: Array<[string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, number, number, number, number]> = [
    ['Add', tf.add, -2, 2, -2, 2],
    ['Sub', tf.sub, -2, 2, -2, 2],
    ['Multiply', tf.mul, -2, 2, -2, 2],
    ['RealDiv', tf.div, -2, 2, 0.5, 2],
    ['Maximum', tf.maximum, -2, 2, -2, 2],
    ['Minimum', tf.minimum, -2, 2, -2, 2],
    ['SquaredDifference', tf.squaredDifference, -2, 2, -2, 2],
    ['Pow', tf.pow, 0.1, 2, -2, 2],
    ['Greater', tf.greater, -2, 2, -2, 2],
    ['GreaterEqual', tf.greaterEqual, -2, 2, -2, 2],
    ['Less', tf.less, -2, 2, -2, 2],
    ['LessEqual', tf.lessEqual, -2, 2, -2, 2],
    ['Equal', tf.equal, -2, 2, -2, 2],
    ['NotEqual', tf.notEqual, -2, 2, -2, 2],
  ];
  for (const [kernel, f, alo, ahi, blo, bhi] of binary) {
    it(`${kernel} with broadcasting`, async () => {
      for (const [i, [sa, sb]] of shapes.entries()) {
        await compare(() => f(T(sa, 100 + i, alo, ahi)(), T(sb, 200 + i, blo, bhi)()), kernel);
      }
      // Ties matter for comparisons: integers stored as floats.
      await compare(() => f(tf.round(T([6, 5], 7, -2, 2)()), tf.round(T([5], 8, -2, 2)())), kernel);
    });
  }

  it('Sum, Mean, Max, Min, Prod over every axis subset, with and without keepDims', async () => {
    const shape = [3, 4, 5, 6];
    const ops: Array<[string, (x: tf.Tensor, axes: number[], keep: boolean) => tf.Tensor, number, number]> = [
      ['Sum', (x, a, k) => tf.sum(x, a, k), -2, 2],
      ['Mean', (x, a, k) => tf.mean(x, a, k), -2, 2],
      ['Max', (x, a, k) => tf.max(x, a, k), -2, 2],
      ['Min', (x, a, k) => tf.min(x, a, k), -2, 2],
      ['Prod', (x, a, k) => tf.prod(x, a, k), 0.8, 1.2],
    ];
    for (const [kernel, f, lo, hi] of ops) {
      for (let mask = 1; mask < 16; mask++) {
        const axes = [0, 1, 2, 3].filter((d) => mask & (1 << d));
        for (const keep of [false, true]) {
          await compare(() => f(T(shape, mask, lo, hi)(), axes, keep), kernel);
        }
      }
      await compare(() => f(T([7], 1, lo, hi)(), [0], false), kernel);
      await compare(() => f(T([2, 3], 2, lo, hi)(), [-1], false), kernel);
    }
  });

  it('large reductions (batch statistics, whole-tensor sums)', async () => {
    await compare(() => tf.moments(T([256, 14, 14, 16], 5)(), [0, 1, 2]).variance, ['Mean']);
    await compare(() => tf.sum(T([256, 3000], 6)()), 'Sum');
    await compare(() => tf.sum(T([3, 300000], 6)(), 1), 'Sum');
    await compare(() => tf.max(T([256, 3000], 6)(), 0), 'Max');
  });

  it('Transpose (float32 and int32), random permutations', async () => {
    const perms: number[][] = [[1, 0], [0, 2, 1], [2, 0, 1], [3, 1, 0, 2], [0, 1, 2, 3], [4, 2, 0, 3, 1]];
    for (const [i, perm] of perms.entries()) {
      const shape = perm.map((_, d) => 2 + ((d * 3 + i) % 4));
      await compare(() => tf.transpose(T(shape, i)(), perm), 'Transpose');
      await compare(() => tf.transpose(tf.cast(tf.mul(T(shape, i)(), 100), 'int32'), perm), 'Transpose');
    }
  });

  it('Tile (float32 and int32)', async () => {
    const cases: Array<[number[], number[]]> = [[[3], [4]], [[2, 3], [2, 1]], [[1, 1, 1, 5], [4, 3, 2, 1]], [[2, 1, 3], [1, 5, 2]]];
    for (const [i, [shape, reps]] of cases.entries()) {
      await compare(() => tf.tile(T(shape, i)(), reps), 'Tile');
      await compare(() => tf.tile(tf.cast(tf.mul(T(shape, i)(), 100), 'int32'), reps), 'Tile');
    }
  });

  it('FusedBatchNorm with per-channel, scalar and missing parameters', async () => {
    const C = 6;
    const x = T([4, 3, 5, C], 1);
    const p = (seed: number, lo = -1, hi = 1) => T([C], seed, lo, hi)();
    await compare(() => tf.batchNorm(x(), p(2), p(3, 0.1, 2), p(4), p(5), 1e-3), 'FusedBatchNorm');
    await compare(() => tf.batchNorm(x(), p(2), p(3, 0.1, 2)), 'FusedBatchNorm');
    await compare(() => tf.batchNorm(x(), tf.tensor1d([0.2]), tf.tensor1d([1.5]), undefined, p(5), 0.01), 'FusedBatchNorm');
    await compare(() => tf.batchNorm(T([10, 3 * C], 9)(), T([3 * C], 2)(), T([3 * C], 3, 0.1, 2)(), T([3 * C], 4)(), T([3 * C], 5)()), 'FusedBatchNorm');
  });

  it('Select (tf.where) and AddN', async () => {
    const c = () => tf.greater(T([5, 7], 1)(), 0);
    await compare(() => tf.where(c(), T([5, 7], 2)(), T([5, 7], 3)()), 'Select');
    await compare(() => tf.addN([T([5, 7], 4)(), T([5, 7], 5)(), T([5, 7], 6)()]), 'AddN');
  });

  it('falls back to the cpu kernels for int32 inputs', async () => {
    const i = () => tf.tensor([1, -2, 3, 4], [2, 2], 'int32');
    await compareFallback(
      () => [tf.add(i(), i()), tf.mul(i(), i()), tf.sum(i()), tf.neg(i()), tf.abs(i()), tf.maximum(i(), tf.scalar(0, 'int32'))],
      ['Add', 'Multiply', 'Sum', 'Neg', 'Abs', 'Maximum'],
    );
  });

  it('gradients of batchNorm, leakyRelu, sigmoid cross-entropy', async () => {
    const C = 8;
    await compare(() => {
      const g = tf.grads((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => {
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        const y = tf.leakyRelu(tf.batchNorm(x, mean, variance, beta, gamma, 1e-3), 0.3);
        return tf.losses.sigmoidCrossEntropy(tf.onesLike(y), y);
      });
      return g([T([4, 5, 5, C], 1)(), T([C], 2, 0.5, 1.5)(), T([C], 3)()]);
    }, ['FusedBatchNorm', 'LeakyRelu', LEAKY_RELU_GRAD, 'Sum', 'Mean']);
  });

  it('Sum and Mean gradients broadcast without a ones tensor and equal TF.js\'s exactly', async () => {
    const x = T([4, 3, 5, 6], 11);
    for (const axis of [undefined, 0, 3, [1, 2], [0, 1, 2], [0, 3]]) {
      // Weights that do not depend on v, so the gradient is exactly a broadcast of them (/n for Mean).
      const f = (v: tf.Tensor) => {
        const m = tf.mean(v, axis);
        const c = tf.reshape(T([m.size], 12)(), m.shape);
        return tf.add(tf.sum(tf.mul(m, c)), tf.sum(tf.mul(tf.sum(v, axis), tf.square(c))));
      };
      await compare(() => tf.grad(f)(x()), 'Tile', 0);
    }
    await compare(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mean(v, [1], true)))(x()), undefined, 0);
  });

  it('the one-pass LeakyRelu gradient matches where(x > 0, dy, dy·alpha) at 0, ±0, NaN and both signs', async () => {
    const x = () => tf.tensor1d([0, -0, NaN, 2, -2, 1e-30, -1e-30, 5e3, -5e3, Infinity, -Infinity]);
    await compare(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(v, 0.25), tf.range(1, 12))))(x()), LEAKY_RELU_GRAD, 0);
    await compare(() => tf.grad((v: tf.Tensor) => tf.sum(tf.leakyRelu(v, 0.3)))(T([3, 7, 5], 8)()), LEAKY_RELU_GRAD, 0);
  });
});

describe.skipIf(!!unavailable)(suiteName('native random numbers'), () => {
  it('nativeUniform is uniform in [lo, hi) and deterministic per seed', () => {
    const a = nativeUniform(200_000, -1, 3, 42)!;
    const b = nativeUniform(200_000, -1, 3, 42)!;
    const c = nativeUniform(200_000, -1, 3, 43)!;
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const v of a) {
      sum += v;
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBeGreaterThanOrEqual(-1);
    expect(max).toBeLessThan(3);
    expect(Math.abs(sum / a.length - 1)).toBeLessThan(0.02);
    // Neighbours and the same index under the next seed are uncorrelated; the 16 bins are even.
    const corr = (x: Float32Array, y: Float32Array, lag: number) => {
      let sxy = 0;
      for (let i = 0; i + lag < x.length; i++) sxy += (x[i] - 1) * (y[i + lag] - 1);
      return sxy / (x.length - lag) / (16 / 12); // variance of U(-1, 3) is 16/12
    };
    expect(Math.abs(corr(a, a, 1))).toBeLessThan(0.01);
    expect(Math.abs(corr(a, c, 0))).toBeLessThan(0.01);
    const bins = new Array<number>(16).fill(0);
    for (const v of a) bins[Math.floor((v + 1) * 4)]++;
    const chi2 = bins.reduce((s, k) => s + (k - a.length / 16) ** 2 / (a.length / 16), 0);
    expect(chi2).toBeLessThan(37.7); // χ² with 15 degrees of freedom, p = 0.001
  });
  it('nativeDropoutMask keeps 1 − rate of the entries, scaled by 1/(1 − rate)', () => {
    const m = nativeDropoutMask(100_000, 0.3, 7)!;
    const kept = m.filter((v) => v !== 0);
    expect(Math.abs(kept.length / m.length - 0.7)).toBeLessThan(0.01);
    expect(kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-6)).toBe(true);
  });
});
