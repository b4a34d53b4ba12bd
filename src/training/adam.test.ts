import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { rand, suiteName, unavailable } from '../backends/native/test-helpers';
import { FUSED_ADAM } from '../backends/native/kernels';
import { Adam } from './adam';

const spec = { name: 'adam' as const, learningRate: 2e-4, beta1: 0.5, beta2: 0.999, epsilon: 1e-7 };

/** Runs `steps` Adam updates of two variables on one backend; returns weights and moments. */
async function run(backend: string, steps: number): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const vars = [tf.variable(tf.tensor2d(rand(300 * 70, 1), [300, 70])), tf.variable(tf.tensor1d(rand(70, 2)))] as unknown as tf.LayerVariable[];
  // LayerVariable's read/write are what Adam uses; a plain Variable stands in for one here.
  for (const v of vars) Object.assign(v, { read: () => v, write: (x: tf.Tensor) => (v as unknown as tf.Variable).assign(x) });
  const adam = new Adam(spec, vars);
  for (let s = 0; s < steps; s++) {
    const grads = vars.map((v, i) => tf.tensor(rand(tf.util.sizeFromShape(v.shape as number[]), 10 * s + i + 3), v.shape as number[]));
    adam.apply(grads);
    tf.dispose(grads);
  }
  const out = [...vars, ...adam.slots()].map((t) => (t as unknown as tf.Tensor).dataSync().slice() as Float32Array);
  adam.dispose();
  tf.dispose(vars as unknown as tf.Tensor[]);
  return out;
}

describe.skipIf(!!unavailable)(suiteName('fused Adam'), () => {
  it('the native one-pass update equals the op-by-op update on the cpu backend, bit for bit', async () => {
    expect(tf.getKernel(FUSED_ADAM, 'native')).toBeDefined();
    expect(tf.getKernel(FUSED_ADAM, 'cpu')).toBeUndefined();
    const cpu = await run('cpu', 5);
    const native = await run('native', 5);
    expect(native.length).toBe(6);
    for (let i = 0; i < cpu.length; i++) expect(native[i]).toEqual(cpu[i]);
  });

  it('keeps tf.memory().numTensors flat across updates, and from construction to dispose', async () => {
    await tf.setBackend('native');
    const w = tf.variable(tf.tensor1d(rand(5000, 4)));
    Object.assign(w, { read: () => w, write: (x: tf.Tensor1D) => w.assign(x) });
    const g = tf.tensor1d(rand(5000, 5));
    const start = tf.memory().numTensors;
    const adam = new Adam(spec, [w as unknown as tf.LayerVariable]);
    expect(tf.memory().numTensors).toBe(start + 2); // m and v, nothing else
    adam.apply([g]);
    const before = tf.memory().numTensors;
    for (let s = 0; s < 5; s++) adam.apply([g]);
    expect(tf.memory().numTensors).toBe(before);
    adam.dispose();
    expect(tf.memory().numTensors).toBe(start); // building and disposing an optimiser leaves nothing
    tf.dispose([w, g]);
  });
});
