import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { loadAddon, setNativeThreads } from './index';
import { compare, compareFallback, rand, runOn, suiteName, unavailable } from './test-helpers';

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
interface ConvCase {
  n: number; h: number; w: number; ci: number; co: number; kh: number; kw: number;
  stride: number | [number, number]; pad: Pad; dilation?: number | [number, number];
}

const convCases: ConvCase[] = [
  { n: 1, h: 7, w: 9, ci: 3, co: 4, kh: 3, kw: 2, stride: 1, pad: 'same' },
  { n: 2, h: 8, w: 8, ci: 5, co: 6, kh: 5, kw: 5, stride: 2, pad: 'same' },
  { n: 3, h: 9, w: 7, ci: 2, co: 3, kh: 3, kw: 3, stride: 2, pad: 'valid' },
  { n: 1, h: 11, w: 6, ci: 4, co: 5, kh: 2, kw: 4, stride: 1, pad: 'valid' },
  { n: 2, h: 6, w: 6, ci: 3, co: 2, kh: 1, kw: 1, stride: 1, pad: 'valid' },
  { n: 2, h: 5, w: 7, ci: 3, co: 4, kh: 1, kw: 1, stride: 2, pad: 'same' },
  { n: 1, h: 10, w: 10, ci: 2, co: 3, kh: 3, kw: 3, stride: 1, pad: 'same', dilation: 2 },
  { n: 2, h: 9, w: 8, ci: 3, co: 2, kh: 3, kw: 2, stride: [2, 1], pad: 'same' },
  { n: 1, h: 7, w: 7, ci: 2, co: 3, kh: 3, kw: 3, stride: 2, pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  { n: 4, h: 28, w: 28, ci: 1, co: 8, kh: 5, kw: 5, stride: 2, pad: 'same' },
  { n: 2, h: 14, w: 14, ci: 16, co: 8, kh: 5, kw: 5, stride: 2, pad: 'same' },
];
const label = (c: ConvCase) => `x[${c.n},${c.h},${c.w},${c.ci}] f[${c.kh},${c.kw},${c.ci},${c.co}] s=${c.stride} pad=${JSON.stringify(c.pad)}${c.dilation ? ` d=${c.dilation}` : ''}`;

function inputs(c: ConvCase, seed: number) {
  return {
    x: () => tf.tensor4d(rand(c.n * c.h * c.w * c.ci, seed), [c.n, c.h, c.w, c.ci]),
    f: () => tf.tensor4d(rand(c.kh * c.kw * c.ci * c.co, seed + 1), [c.kh, c.kw, c.ci, c.co]),
  };
}

describe.skipIf(!!unavailable)(suiteName('native convolutions vs cpu'), () => {
  for (const [i, c] of convCases.entries()) {
    it(`Conv2D ${label(c)}`, async () => {
      const { x, f } = inputs(c, 10 + i);
      const pad = c.pad as 'same';
      await compare(() => tf.conv2d(x(), f(), c.stride, pad, 'NHWC', c.dilation ?? 1), 'Conv2D');
    });
  }

  it('Conv2D with a numeric pad and dimRoundingMode', async () => {
    const c = convCases[2];
    const { x, f } = inputs(c, 3);
    await compare(() => tf.conv2d(x(), f(), 2, 1, 'NHWC', 1, 'ceil'), 'Conv2D');
    await compare(() => tf.conv2d(x(), f(), 2, 1, 'NHWC', 1, 'floor'), 'Conv2D');
  });

  for (const [i, c] of convCases.entries()) {
    if (c.dilation) continue;
    it(`Conv2DBackpropFilter and Conv2DBackpropInput ${label(c)}`, async () => {
      const { x, f } = inputs(c, 40 + i);
      const pad = c.pad as 'same';
      // dy has the forward output's shape; take it from a cpu forward pass.
      await tf.setBackend('cpu');
      const outShape = tf.tidy(() => tf.conv2d(x(), f(), c.stride, pad).shape);
      const dy = () => tf.tensor4d(rand(outShape.reduce((a, b) => a * b, 1), 77 + i), outShape as [number, number, number, number]);
      await compare(
        () => tf.engine().runKernel('Conv2DBackpropFilter', { x: x(), dy: dy() }, { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', filterShape: [c.kh, c.kw, c.ci, c.co] }) as tf.Tensor,
        'Conv2DBackpropFilter',
      );
      await compare(
        () => tf.engine().runKernel('Conv2DBackpropInput', { dy: dy(), filter: f() }, { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', inputShape: [c.n, c.h, c.w, c.ci] }) as tf.Tensor,
        'Conv2DBackpropInput',
      );
    });
  }

  const transposeCases: Array<{ n: number; h: number; w: number; ci: number; co: number; k: number; s: number; pad: 'same' | 'valid' }> = [
    { n: 1, h: 7, w: 7, ci: 6, co: 4, k: 5, s: 1, pad: 'same' },
    { n: 2, h: 7, w: 5, ci: 5, co: 3, k: 5, s: 2, pad: 'same' },
    { n: 3, h: 4, w: 6, ci: 3, co: 2, k: 3, s: 2, pad: 'valid' },
    { n: 1, h: 5, w: 5, ci: 2, co: 1, k: 4, s: 1, pad: 'valid' },
    { n: 2, h: 14, w: 14, ci: 8, co: 1, k: 5, s: 2, pad: 'same' },
  ];
  for (const [i, c] of transposeCases.entries()) {
    const outH = c.pad === 'same' ? c.h * c.s : (c.h - 1) * c.s + c.k;
    const outW = c.pad === 'same' ? c.w * c.s : (c.w - 1) * c.s + c.k;
    const x = () => tf.tensor4d(rand(c.n * c.h * c.w * c.ci, 90 + i), [c.n, c.h, c.w, c.ci]);
    const f = () => tf.tensor4d(rand(c.k * c.k * c.co * c.ci, 95 + i), [c.k, c.k, c.co, c.ci]);
    it(`conv2dTranspose x[${c.n},${c.h},${c.w},${c.ci}] k${c.k} s${c.s} ${c.pad} → ${outH}×${outW}×${c.co}`, async () => {
      await compare(() => tf.conv2dTranspose(x(), f(), [c.n, outH, outW, c.co], c.s, c.pad), 'Conv2DBackpropInput');
    });
    it(`gradients of conv2dTranspose through tf.grads, case ${i}`, async () => {
      const r = () => tf.tensor4d(rand(c.n * outH * outW * c.co, 99 + i), [c.n, outH, outW, c.co]);
      await compare(() => {
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, [c.n, outH, outW, c.co], c.s, c.pad), r())));
        return g([x(), f()]);
      }, ['Conv2D', 'Conv2DBackpropFilter']);
    });
  }

  for (const [i, c] of convCases.slice(0, 6).entries()) {
    it(`gradients of conv2d through tf.grads ${label(c)}`, async () => {
      const { x, f } = inputs(c, 120 + i);
      const pad = c.pad as 'same';
      await compare(() => {
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, pad))));
        return g([x(), f()]);
      }, ['Conv2DBackpropInput', 'Conv2DBackpropFilter']);
    });
  }

  for (const activation of ['linear', 'relu', 'relu6', 'leakyrelu', 'sigmoid', 'elu'] as const) {
    it(`FusedConv2D with bias and ${activation}`, async () => {
      const c = convCases[1];
      const { x, f } = inputs(c, 7);
      const bias = () => tf.tensor1d(rand(c.co, 8));
      await compare(
        () => tf.fused.conv2d({ x: x(), filter: f(), strides: 2, pad: 'same', bias: bias(), activation, leakyreluAlpha: 0.3 }),
        'FusedConv2D',
      );
    });
  }

  it('FusedConv2D without bias; gradients of a fused conv', async () => {
    const c = convCases[0];
    const { x, f } = inputs(c, 11);
    await compare(() => tf.fused.conv2d({ x: x(), filter: f(), strides: 1, pad: 'same' }), 'FusedConv2D');
    const bias = () => tf.tensor1d(rand(c.co, 12));
    await compare(() => {
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor, bb: tf.Tensor) =>
        tf.sum(tf.square(tf.fused.conv2d({ x: a as tf.Tensor4D, filter: b as tf.Tensor4D, strides: 1, pad: 'same', bias: bb }))));
      return g([x(), f(), bias()]);
    }, ['FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter']);
  });
});

describe.skipIf(!!unavailable)(suiteName('native matMul vs cpu'), () => {
  const cases: Array<{ a: number[]; b: number[]; tA: boolean; tB: boolean }> = [
    { a: [4, 5], b: [5, 6], tA: false, tB: false },
    { a: [5, 4], b: [5, 6], tA: true, tB: false },
    { a: [4, 5], b: [6, 5], tA: false, tB: true },
    { a: [5, 4], b: [6, 5], tA: true, tB: true },
    { a: [3, 4, 5], b: [3, 5, 2], tA: false, tB: false },
    { a: [3, 5, 4], b: [3, 2, 5], tA: true, tB: true },
    { a: [3, 4, 5], b: [5, 6], tA: false, tB: false },
    { a: [1, 4, 5], b: [3, 5, 6], tA: false, tB: false },
    { a: [2, 3, 4, 5], b: [2, 3, 5, 2], tA: false, tB: false },
    { a: [1, 7], b: [7, 1], tA: false, tB: false },
    { a: [33, 65], b: [65, 17], tA: false, tB: false },
    { a: [256, 100], b: [100, 257], tA: false, tB: false },
  ];
  for (const [i, c] of cases.entries()) {
    const a = () => tf.tensor(rand(c.a.reduce((p, q) => p * q, 1), 200 + i), c.a);
    const b = () => tf.tensor(rand(c.b.reduce((p, q) => p * q, 1), 300 + i), c.b);
    it(`BatchMatMul a[${c.a}] b[${c.b}] tA=${c.tA} tB=${c.tB}`, async () => {
      await compare(() => tf.matMul(a(), b(), c.tA, c.tB), 'BatchMatMul');
    });
  }
  for (const activation of ['linear', 'relu', 'leakyrelu', 'sigmoid', 'elu', 'relu6'] as const) {
    it(`_FusedMatMul with bias and ${activation}, transposes`, async () => {
      for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
        const a = () => tf.tensor2d(rand(6 * 7, 401), tA ? [7, 6] : [6, 7]);
        const b = () => tf.tensor2d(rand(7 * 5, 402), tB ? [5, 7] : [7, 5]);
        const bias = () => tf.tensor1d(rand(5, 403));
        await compare(() => tf.fused.matMul({ a: a(), b: b(), transposeA: tA, transposeB: tB, bias: bias(), activation, leakyreluAlpha: 0.3 }), '_FusedMatMul');
      }
    });
  }
  // tfjs only keeps matMul fused under a gradient tape when the activation is linear.
  it('_FusedMatMul gradients (dense layer)', async () => {
    const a = () => tf.tensor2d(rand(8 * 6, 501), [8, 6]);
    const b = () => tf.tensor2d(rand(6 * 4, 502), [6, 4]);
    const bias = () => tf.tensor1d(rand(4, 503));
    await compare(() => {
      const g = tf.grads((x: tf.Tensor, w: tf.Tensor, bb: tf.Tensor) =>
        tf.sum(tf.square(tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: bb }))));
      return g([a(), b(), bias()]);
    }, ['_FusedMatMul', 'BatchMatMul']);
  });
  it('falls back to the cpu kernel for int32', async () => {
    await compareFallback(() => tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), tf.tensor2d([5, 6, 7, 8], [2, 2], 'int32')), ['BatchMatMul']);
    const [r] = await runOn('native', () => tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), tf.tensor2d([5, 6, 7, 8], [2, 2], 'int32')));
    expect(r!.dtype).toBe('int32');
    expect([...r!.data]).toEqual([19, 22, 43, 50]);
  });
});

describe.skipIf(!!unavailable)(suiteName('native kernels with one thread and with three'), () => {
  for (const threads of [1, 3]) {
    it(`convolutions and matMul with ${threads} pool thread(s)`, async () => {
      const addon = loadAddon();
      const before = typeof addon === 'string' ? 2 : addon.info().threads;
      setNativeThreads(threads);
      try {
        for (const [i, c] of convCases.entries()) {
          const { x, f } = inputs(c, 600 + i);
          const pad = c.pad as 'same';
          await compare(() => {
            const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, pad, 'NHWC', c.dilation ?? 1))));
            return [tf.conv2d(x(), f(), c.stride, pad, 'NHWC', c.dilation ?? 1), ...(c.dilation ? [] : g([x(), f()]))];
          }, 'Conv2D');
        }
        await compare(() => tf.matMul(tf.tensor2d(rand(300 * 70, 1), [300, 70]), tf.tensor2d(rand(70 * 90, 2), [70, 90])), 'BatchMatMul');
        await compare(() => tf.matMul(tf.tensor2d(rand(20 * 70, 1), [70, 20]), tf.tensor2d(rand(70 * 900, 2), [900, 70]), true, true), 'BatchMatMul');
        await compare(() => tf.sum(tf.tensor2d(rand(3 * 100000, 3), [3, 100000]), 1), 'Sum');
      } finally {
        setNativeThreads(before);
      }
    });
  }
});
