/**
 * Same inputs, same bits: every native kernel gives identical output on every run and on 1, 2
 * and 3 pool threads, at the layer shapes and batch sizes training really uses (64 and 256
 * images, so a chunk of work holds several images), and agrees with the pure-JS cpu backend
 * there. Also a few real train steps (src/training/step.ts) twice on 1 and on 2 threads.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPreset } from '../../models/presets';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from '../kernel-names';
import { createGan } from '../../training/gan';
import { trainStep } from '../../training/step';
import { Rng } from '../../util/rng';
import { loadAddon, nativeKernelHits, setNativeThreads } from './index';
import { rand, relErr, runOn, suiteName, unavailable, withEachGemm } from './test-helpers';

const THREADS = [1, 2, 3];
const REPEATS = 10;

/** A forward convolution x[n, h, h, ci] * f[k, k, ci, co], stride s, 'same' (a G layer is its input gradient). */
interface ConvLayer { name: string; n: number; h: number; ci: number; co: number; k: number; s: number }

export const LAYERS: ConvLayer[] = [
  { name: 'fashion D conv1 28→14 1→64', n: 64, h: 28, ci: 1, co: 64, k: 4, s: 2 },
  { name: 'fashion D conv2 / G deconv1 14↔7 64↔128', n: 64, h: 14, ci: 64, co: 128, k: 4, s: 2 },
  { name: 'fashion G deconv2 14→28 64→32', n: 64, h: 28, ci: 32, co: 64, k: 4, s: 2 },
  { name: 'fashion G deconv3 3×3 32→1', n: 64, h: 28, ci: 1, co: 32, k: 3, s: 1 },
  { name: 'fmnist-lms D conv1 / G deconv3 28↔14 1↔64', n: 256, h: 28, ci: 1, co: 64, k: 5, s: 2 },
  { name: 'fmnist-lms D conv2 / G deconv2 14↔7 64↔128', n: 256, h: 14, ci: 64, co: 128, k: 5, s: 2 },
  { name: 'fmnist-lms G deconv1 7×7 256→128', n: 64, h: 7, ci: 128, co: 256, k: 5, s: 1 },
];

const out = (l: ConvLayer) => Math.ceil(l.h / l.s);
const attrs = (l: ConvLayer) => ({ strides: l.s, pad: 'same', dataFormat: 'NHWC' });

/** The three kernels of one layer: forward, filter gradient, input gradient (= conv2dTranspose). */
export function convKernels(l: ConvLayer, seed: number) {
  const o = out(l);
  const x = () => tf.tensor4d(rand(l.n * l.h * l.h * l.ci, seed), [l.n, l.h, l.h, l.ci]);
  const f = () => tf.tensor4d(rand(l.k * l.k * l.ci * l.co, seed + 1), [l.k, l.k, l.ci, l.co]);
  const dy = () => tf.tensor4d(rand(l.n * o * o * l.co, seed + 2), [l.n, o, o, l.co]);
  return {
    Conv2D: () => tf.conv2d(x(), f(), l.s, 'same'),
    Conv2DBackpropFilter: () => tf.engine().runKernel('Conv2DBackpropFilter', { x: x(), dy: dy() }, { ...attrs(l), filterShape: [l.k, l.k, l.ci, l.co] }) as tf.Tensor,
    Conv2DBackpropInput: () => tf.engine().runKernel('Conv2DBackpropInput', { dy: dy(), filter: f() }, { ...attrs(l), inputShape: [l.n, l.h, l.h, l.ci] }) as tf.Tensor,
    /**
     * The filter gradient computed by the cpu backend as a stride-1 convolution, dilated by the
     * stride: dw[kh, kw, ci, co] = Σ x[n, oh·s + kh − pad, ow·s + kw − pad, ci] · dy[n, oh, ow, co]
     * is conv2d(xᵀ [ci, h, h, n], dy as a filter [oh, ow, n, co], dilation s). The same sum the
     * cpu's own Conv2DBackpropFilter does, which takes about a minute at these sizes.
     */
    filterReference: () => {
      const total = Math.max((o - 1) * l.s + l.k - l.h, 0);
      const top = Math.floor(total / 2);
      const bottom = l.k + (o - 1) * l.s - l.h - top;
      const xT = tf.transpose(x(), [3, 1, 2, 0]);
      const dyF = tf.transpose(dy(), [1, 2, 0, 3]);
      const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [top, bottom], [top, bottom], [0, 0]];
      return tf.transpose(tf.conv2d(xT as tf.Tensor4D, dyF as tf.Tensor4D, 1, pad, 'NHWC', l.s), [1, 2, 0, 3]);
    },
  };
}

export const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** With each GEMM, runs `f` REPEATS times on each of THREADS pool sizes; every output must equal the first bit for bit. */
export async function expectSameBits(f: () => tf.Tensor | tf.Tensor[], kernel: string | string[]): Promise<void> {
  await withEachGemm((gemm) => sameBits(f, kernel, gemm));
}

async function sameBits(f: () => tf.Tensor | tf.Tensor[], kernel: string | string[], gemm: string): Promise<void> {
  let first: Buffer[] | undefined;
  for (const threads of THREADS) {
    setNativeThreads(threads);
    const addon = loadAddon();
    if (typeof addon !== 'string') expect(addon.info().threads).toBe(threads);
    for (let r = 0; r < REPEATS; r++) {
      nativeKernelHits(true);
      const got = (await runOn('native', f)).map((x) => bytes(x.data));
      const hits = nativeKernelHits(true);
      for (const k of Array.isArray(kernel) ? kernel : [kernel]) expect(hits[k], `${k} ran natively`).toBeGreaterThan(0);
      if (!first) {
        first = got;
        continue;
      }
      for (let i = 0; i < got.length; i++) {
        if (!got[i]!.equals(first[i]!)) {
          const a = new Float32Array(first[i]!.buffer, first[i]!.byteOffset, first[i]!.length / 4);
          const b = new Float32Array(got[i]!.buffer, got[i]!.byteOffset, got[i]!.length / 4);
          const diff = a.findIndex((v, j) => !Object.is(v, b[j]));
          throw new Error(`${gemm}: output ${i} differs on ${threads} thread(s), run ${r + 1}: element ${diff} ${a[diff]} vs ${b[diff]}`);
        }
      }
    }
  }
}

describe.skipIf(!!unavailable)(suiteName('native kernels: same bits on every run and thread count'), () => {
  let before = 2;
  beforeAll(() => {
    const addon = loadAddon();
    if (typeof addon !== 'string') before = addon.info().threads;
  });
  afterAll(() => setNativeThreads(before));

  for (const [i, l] of LAYERS.entries()) {
    it(`convolutions of ${l.name}, batch ${l.n}`, async () => {
      const k = convKernels(l, 1000 + 10 * i);
      for (const name of ['Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput'] as const) await expectSameBits(k[name], name);
    });
  }

  it('matMul at the dense layers\' shapes, with transposes (forward and both gradients)', async () => {
    const cases: Array<[number, number, number]> = [[256, 100, 12544], [64, 96, 6272], [256, 6272, 1], [64, 6272, 1]];
    for (const [j, [m, kk, n]] of cases.entries()) {
      const a = () => tf.tensor2d(rand(m * kk, 50 + j), [m, kk]);
      const b = () => tf.tensor2d(rand(kk * n, 60 + j), [kk, n]);
      const dy = () => tf.tensor2d(rand(m * n, 70 + j), [m, n]);
      await expectSameBits(() => [tf.matMul(a(), b()), tf.matMul(a(), dy(), true, false), tf.matMul(dy(), b(), false, true)], 'BatchMatMul');
    }
  });

  it('reductions, batch-norm statistics and the batch norm, addN, elementwise', async () => {
    const x = () => tf.tensor4d(rand(256 * 14 * 14 * 64, 80), [256, 14, 14, 64]);
    await expectSameBits(() => {
      const { mean, variance } = tf.moments(x(), [0, 1, 2]);
      return [mean, variance, tf.sum(x()), tf.max(x(), [0, 1, 2]), tf.mean(x(), 3), tf.batchNorm(x(), mean, variance, undefined, undefined, 1e-3)];
    }, ['Mean', 'Sum', 'Max', 'FusedBatchNorm']);
    // Training-mode batch norm (src/models/batch-norm.ts): forward, and its gradient through the statistics.
    const c = () => tf.tensor1d(rand(64, 84, 0.5, 1.5));
    await expectSameBits(() => {
      const [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAIN, { x: x(), scale: c(), offset: c() }, { epsilon: 1e-3 }) as tf.Tensor[];
      const grads = tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, { dy: tf.tanh(x()), x: x(), mean: mean!, variance: variance!, scale: c() }, { epsilon: 1e-3 }) as tf.Tensor[];
      return [y!, mean!, variance!, ...grads];
    }, [BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD]);
    await expectSameBits(() => [tf.sum(tf.tensor2d(rand(3 * 300000, 81), [3, 300000]), 1), tf.sum(tf.tensor2d(rand(300000 * 3, 82), [300000, 3]), 0)], 'Sum');
    const y = () => tf.tensor1d(rand(1 << 20, 83));
    await expectSameBits(() => [tf.addN([y(), tf.exp(y()), tf.tanh(y())]), tf.mul(tf.sigmoid(y()), y())], ['AddN', 'Exp', 'Tanh', 'Sigmoid', 'Multiply']);
  });
});

describe.skipIf(!!unavailable)(suiteName('native convolutions vs cpu at real batch sizes'), () => {
  // Layers the cpu backend computes in seconds (the big 256-image ones only run natively above).
  for (const [i, l] of LAYERS.entries()) {
    if (l.n * l.h * l.h * l.k * l.k * l.ci * l.co / (l.s * l.s) > 5e8) continue;
    it(`Conv2D, Conv2DBackpropFilter, Conv2DBackpropInput of ${l.name}, batch ${l.n}`, async () => {
      const k = convKernels(l, 2000 + 10 * i);
      const pairs: Array<[string, () => tf.Tensor, () => tf.Tensor]> = [
        ['Conv2D', k.Conv2D, k.Conv2D],
        ['Conv2DBackpropFilter', k.Conv2DBackpropFilter, k.filterReference],
        ['Conv2DBackpropInput', k.Conv2DBackpropInput, k.Conv2DBackpropInput],
      ];
      for (const [name, native, reference] of pairs) {
        const [ref] = await runOn('cpu', reference);
        await withEachGemm(async (gemm) => {
          const [got] = await runOn('native', native);
          expect(got!.shape).toEqual(ref!.shape);
          expect(relErr(got!.data, ref!.data), `${name}, ${gemm}`).toBeLessThanOrEqual(1e-4);
        }, true);
      }
    });
  }
});

describe.skipIf(!!unavailable)(suiteName('the real train step on native: same weights twice, on 1 and 2 threads'), () => {
  /** Three steps of `preset` from seed 5 at `batch`; returns every weight of G, D and the EMA generator, and the losses. */
  async function threeSteps(presetName: string, batch: number, threads: number): Promise<Buffer[]> {
    setNativeThreads(threads);
    await tf.setBackend('native');
    const preset = getPreset(presetName);
    const gan = createGan({ model: preset.model, recipe: preset.recipe, optimizerG: preset.optimizerG, optimizerD: preset.optimizerD, numClasses: 10, seed: 5 });
    const rng = new Rng(5);
    const numel = batch * preset.model.imageShape.reduce((a, b) => a * b, 1);
    const losses: number[] = [];
    const before = tf.memory().numTensors;
    try {
      for (let s = 0; s < 3; s++) {
        const real = tf.tensor4d(rand(numel, 900 + s), [batch, ...preset.model.imageShape]);
        const z = tf.tensor2d(rng.normal(batch * preset.model.latentDim), [batch, preset.model.latentDim]);
        const labels = preset.recipe.conditional ? tf.tensor2d(Float32Array.from({ length: batch }, (_, j) => (j * 7 + s) % 10), [batch, 1]) : undefined;
        const st = trainStep(gan, { real, z, labels }, rng, preset.recipe);
        losses.push(st.gen_loss, st.disc_loss);
        tf.dispose([real, z, ...(labels ? [labels] : [])]);
      }
      expect(tf.memory().numTensors).toBe(before);
      const models = [gan.generator, gan.discriminator, ...(gan.ema ? [gan.ema.target] : [])];
      return [bytes(Float64Array.from(losses)), ...models.flatMap((m) => m.getWeights().map((w) => bytes(w.dataSync() as Float32Array)))];
    } finally {
      gan.dispose();
    }
  }

  let before = 2;
  beforeAll(() => {
    const addon = loadAddon();
    if (typeof addon !== 'string') before = addon.info().threads;
  });
  afterAll(() => setNativeThreads(before));

  for (const [presetName, batch] of [['fashion', 64], ['fmnist-lms', 64]] as const) {
    it(`${presetName}, batch ${batch}: three steps twice on 1 thread and twice on 2 give the same bits, with each GEMM`, async () => {
      await withEachGemm(async (gemm) => {
        const runs = [await threeSteps(presetName, batch, 1), await threeSteps(presetName, batch, 1), await threeSteps(presetName, batch, 2), await threeSteps(presetName, batch, 2)];
        for (const r of runs.slice(1)) {
          expect(r.length).toBe(runs[0]!.length);
          r.forEach((w, j) => expect(w.equals(runs[0]![j]!), `${gemm}: tensor ${j}`).toBe(true));
        }
      });
    });
  }
});
