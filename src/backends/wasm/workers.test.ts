import * as tf from '@tensorflow/tfjs';
import { MessageChannel } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../index';
import { receiveNumbered } from './job';
import { batchParts, chunkCount, defaultWasmWorkers, nudgeWasmWorkers, splitKernel, startWasmWorkers, stopWasmWorkers, wasmWorkerStats } from './workers';
import { Rng } from '../../util/rng';
import { maxRelErr, on } from '../../../test/wasm-helpers';

const rng = new Rng(11);
const rand = (shape: number[]) => tf.tensor(rng.normal(shape.reduce((a, b) => a * b, 1)), shape);

/** `fn`'s outputs on 'cpu' and on 'wasm' for the same input values. */
async function both(fn: (...xs: tf.Tensor[]) => tf.Tensor[], inputs: tf.Tensor[]) {
  const values = inputs.map((t) => ({ shape: t.shape, values: (t.dataSync() as Float32Array).slice() }));
  return { cpu: await on('cpu', fn, values), wasm: await on('wasm', fn, values) };
}

describe('batchParts', () => {
  it('cuts a batch into nearly equal runs, longer ones first, covering every image once', () => {
    expect(batchParts(256, 2)).toEqual([[0, 128], [128, 256]]);
    expect(batchParts(5, 3)).toEqual([[0, 2], [2, 4], [4, 5]]);
    expect(batchParts(7, 4)).toEqual([[0, 2], [2, 4], [4, 6], [6, 7]]);
    expect(batchParts(3, 1)).toEqual([[0, 3]]);
  });
});

describe('chunkCount', () => {
  it('cuts only big kernels, into at most 8 chunks of at least one image and 2e6 multiply-adds', () => {
    expect(chunkCount(256, 3.9e6)).toBe(1);
    expect(chunkCount(256, 5e6)).toBe(2);
    expect(chunkCount(256, 1e9)).toBe(8);
    expect(chunkCount(3, 1e9)).toBe(3);
    expect(chunkCount(1, 1e9)).toBe(1);
  });
});

describe('FASHION_WASM_THREADS', () => {
  it('sets the worker count and rejects values that are not 1 to 16', () => {
    const saved = process.env.FASHION_WASM_THREADS;
    try {
      process.env.FASHION_WASM_THREADS = '3';
      expect(defaultWasmWorkers()).toBe(2);
      process.env.FASHION_WASM_THREADS = '1';
      expect(defaultWasmWorkers()).toBe(0);
      for (const bad of ['0', '17', '2.5', 'many']) {
        process.env.FASHION_WASM_THREADS = bad;
        expect(() => defaultWasmWorkers()).toThrow(/FASHION_WASM_THREADS=.*whole number from 1 to 16/);
      }
    } finally {
      if (saved === undefined) delete process.env.FASHION_WASM_THREADS;
      else process.env.FASHION_WASM_THREADS = saved;
    }
  });
});

describe('wasm kernels split across worker threads', () => {
  beforeAll(async () => {
    // Two workers, whatever the core count: three uneven parts for odd batches.
    expect(await startWasmWorkers(2)).toBeNull();
    const choice = await initBackend('wasm');
    expect(choice.threads).toBe(3);
  }, 60_000);
  afterAll(stopWasmWorkers);

  // [n, h, w, ci], [kh, kw, ci, co], stride, padding — each ≥ 4e6 multiply-adds, so it splits.
  const cases: [number[], number[], [number, number], 'same' | 'valid'][] = [
    [[5, 14, 14, 16], [5, 5, 16, 32], [1, 1], 'same'],
    [[7, 16, 16, 32], [4, 4, 32, 32], [2, 2], 'same'],
    [[4, 29, 13, 24], [3, 5, 24, 32], [2, 1], 'valid'],
  ];

  it.each(cases)('conv2d, its gradients and conv2dTranspose match the cpu backend for x %j, filter %j, stride %j, %s', async (xShape, fShape, strides, pad) => {
    const x = rand(xShape);
    const f = rand(fShape);
    const fn = (xt: tf.Tensor, ft: tf.Tensor) => {
      const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad);
      const y = conv(xt, ft);
      const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => conv(a, b).square().sum())([xt, ft]);
      // The transpose maps y's shape back to x's: dy is y itself.
      const t = tf.conv2dTranspose(y as tf.Tensor4D, ft as tf.Tensor4D, xShape as [number, number, number, number], strides, pad);
      return [y, dx!, df!, t];
    };
    const { cpu, wasm } = await both(fn, [x, f]);
    tf.dispose([x, f]);
    for (let i = 0; i < cpu.length; i++) expect(maxRelErr(wasm[i]!, cpu[i]!), `output ${i}`).toBeLessThan(1e-5);
  }, 120_000);

  it('fused conv2d with bias and LeakyReLU matches the cpu backend', async () => {
    const [x, f, b] = [rand([5, 14, 14, 16]), rand([5, 5, 16, 32]), rand([32])];
    const fn = (xt: tf.Tensor, ft: tf.Tensor, bt: tf.Tensor) => [
      tf.fused.conv2d({ x: xt as tf.Tensor4D, filter: ft as tf.Tensor4D, strides: 1, pad: 'same', bias: bt, activation: 'leakyrelu', leakyreluAlpha: 0.2 }),
    ];
    const { cpu, wasm } = await both(fn, [x, f, b]);
    tf.dispose([x, f, b]);
    expect(maxRelErr(wasm[0]!, cpu[0]!)).toBeLessThan(1e-5);
  });

  it('repeats bit for bit, leaves small or single-image kernels unsplit, and frees everything', async () => {
    await tf.setBackend('wasm');
    const x = rand([6, 14, 14, 16]);
    const dy = rand([6, 14, 14, 32]);
    const filterGrad = () => tf.tidy(() => {
      const [, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same').mul(dy).sum())([x, tf.zeros([5, 5, 16, 32])]);
      return df!.dataSync().slice();
    });
    const first = filterGrad();
    const tensors = tf.memory().numTensors;
    const buffers = tf.backend().numDataIds();
    for (let i = 0; i < 3; i++) expect(filterGrad()).toEqual(first);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.backend().numDataIds()).toBe(buffers);

    const before = wasmWorkerStats().chunks;
    const one = rand([1, 28, 28, 32]);
    const small = rand([6, 7, 7, 4]);
    tf.tidy(() => {
      tf.conv2d(one as tf.Tensor4D, tf.ones([5, 5, 32, 32]) as tf.Tensor4D, 1, 'same').dataSync();
      tf.conv2d(small as tf.Tensor4D, tf.ones([3, 3, 4, 4]) as tf.Tensor4D, 1, 'same').dataSync();
    });
    expect(wasmWorkerStats().chunks).toBe(before);
    tf.dispose([x, dy, one, small]);
  });

  it('a worker woken without a job goes back to waiting, and the next split kernels are right', async () => {
    await tf.setBackend('wasm');
    const f = rand([3, 3, 16, 32]);
    const xs = rand([6, 16, 16, 16]);
    // Both workers must be waiting to be woken; right after a kernel they may still be on their way.
    let woken = 0;
    for (const deadline = Date.now() + 10_000; woken < 2 && Date.now() < deadline; ) {
      woken = Math.max(woken, nudgeWasmWorkers());
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(woken).toBe(2);
    for (let round = 0; round < 3; round++) {
      const { cpu, wasm } = await both((a, b) => [tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')], [xs, f]);
      expect(maxRelErr(wasm[0]!, cpu[0]!)).toBeLessThan(1e-5);
      nudgeWasmWorkers();
    }
    tf.dispose([f, xs]);
  });

  it('reports a worker failure as an error and keeps working afterwards', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend();
    const local: tf.KernelFunc = ({ inputs, backend: b }) => {
      const { x } = inputs as { x: tf.TensorInfo };
      return (b as unknown as { makeOutput(s: number[], d: string): tf.TensorInfo }).makeOutput(x.shape, 'float32');
    };
    const broken = splitKernel('NoSuchKernel', local, { batched: ['x'], combine: 'concat', outShape: (args, n) => [n, ...(args.inputs.x as tf.TensorInfo).shape.slice(1)], macs: () => 1e9 });
    const x = rand([6, 8]);
    const buffers = backend.numDataIds();
    expect(() => broken({ inputs: { x }, attrs: {}, backend })).toThrow(/wasm worker: no wasm kernel NoSuchKernel/);
    expect(backend.numDataIds()).toBe(buffers);
    // The failed job's answers were all taken: the next split kernel gets its own.
    const f = rand([3, 3, 16, 32]);
    const xs = rand([6, 16, 16, 16]);
    const { cpu, wasm } = await both((a, b) => [tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')], [xs, f]);
    expect(maxRelErr(wasm[0]!, cpu[0]!)).toBeLessThan(1e-5);
    tf.dispose([x, f, xs]);
  });

  // Last: it stops the workers.
  it('gives bit-identical results with and without workers', async () => {
    await tf.setBackend('wasm');
    const x = rand([16, 14, 14, 32]);
    const f = rand([5, 5, 32, 64]);
    const compute = () => tf.tidy(() => {
      const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same');
      const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => conv(a, b).square().sum())([x, f]);
      return [conv(x, f), dx!, df!].map((t) => t.dataSync().slice());
    });
    // Which thread takes which chunk is up to timing: retry until the workers took some (on a
    // loaded machine a worker can lose every claim for a while; give it up to 30 s).
    let threaded: Float32Array[] = [];
    const deadline = Date.now() + 30_000;
    for (const before = wasmWorkerStats().chunks; wasmWorkerStats().chunks === before && Date.now() < deadline; ) threaded = compute() as Float32Array[];
    expect(wasmWorkerStats().chunks).toBeGreaterThan(0);
    await stopWasmWorkers();
    expect(wasmWorkerStats().workers).toBe(0);
    const alone = compute();
    for (let i = 0; i < alone.length; i++) expect(threaded[i], `output ${i}`).toEqual(alone[i]);
    tf.dispose([x, f]);
  });
});

describe('the numbered job protocol', () => {
  it('takes the message due, and names a wrong or missing one', () => {
    const { port1, port2 } = new MessageChannel();
    port2.postMessage({ seq: 1, ok: true });
    expect(receiveNumbered(port1, 1, 'reply')).toEqual({ seq: 1, ok: true });
    port2.postMessage({ seq: 5 });
    expect(() => receiveNumbered(port1, 2, 'job')).toThrow('job 5 arrived where 2 was due');
    expect(() => receiveNumbered(port1, 3, 'job')).toThrow('no job 3 on the port');
    port1.close();
  });
});
