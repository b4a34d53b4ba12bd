import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { recycler } from './index';
import { Recycler } from './recycler';
import { rand, suiteName, unavailable } from './test-helpers';

const N = 64 * 1024; // large enough to be recycled
/** Tensor data ids are objects; any distinct objects do here. */
const ids = { a: {}, b: {}, c: {}, d: {}, e: {} };

describe('Recycler', () => {
  it('reuses an array only after the one tensor holding it is deleted', () => {
    const r = new Recycler(1 << 30);
    const a = r.alloc(N);
    const id = {};
    r.hold(a, id);
    expect(r.alloc(N)).not.toBe(a); // still held
    r.release(a, id);
    expect(r.alloc(N)).toBe(a);
  });

  it('never reuses an array that was read outside a kernel, shared, or viewed', () => {
    const r = new Recycler(1 << 30);
    const read = r.alloc(N);
    r.hold(read, ids.a);
    r.read(read);
    r.release(read, ids.a);
    const shared = r.alloc(N);
    r.hold(shared, ids.b);
    r.hold(shared, ids.c);
    r.release(shared, ids.b);
    r.release(shared, ids.c);
    const viewed = r.alloc(N);
    r.hold(viewed, ids.d);
    r.hold(viewed.subarray(10), ids.e);
    r.release(viewed, ids.d);
    const fresh = [r.alloc(N), r.alloc(N), r.alloc(N)];
    for (const x of [read, shared, viewed]) expect(fresh).not.toContain(x);
    expect(r.stats.escaped).toBe(3);
  });

  it('reads inside a kernel do not escape; small arrays and a full pool are left to the GC', () => {
    const r = new Recycler(N * 4);
    const a = r.alloc(N);
    r.hold(a, ids.a);
    r.kernelDepth = 1;
    r.read(a);
    r.kernelDepth = 0;
    r.release(a, ids.a);
    const b = r.alloc(N * 2);
    r.hold(b, ids.b);
    r.release(b, ids.b); // over the cap: dropped
    expect(r.bytes).toBe(N * 4);
    expect(r.alloc(N)).toBe(a);
    const small = r.alloc(16);
    expect(small.every((v) => v === 0)).toBe(true);
  });

  it('lets go of lengths nobody asks for any more', () => {
    const r = new Recycler(1 << 30);
    const once = r.alloc(N + 1);
    r.hold(once, ids.a);
    r.release(once, ids.a);
    expect(r.bytes).toBe((N + 1) * 4);
    for (let i = 0; i < 2 * Recycler.SWEEP_EVERY; i++) {
      const a = r.alloc(N);
      r.hold(a, ids.b);
      r.release(a, ids.b);
    }
    expect(r.bytes).toBe(N * 4); // the steady length stays pooled, the one-off left
    expect(r.alloc(N + 1)).not.toBe(once);
  });
});

describe.skipIf(!!unavailable)(suiteName('native backend recycling'), () => {
  it('values returned by dataSync stay intact while later kernels reuse memory', async () => {
    await tf.setBackend('native');
    const x = tf.tensor1d(rand(N, 1));
    const y = tf.mul(x, 2);
    const seen = y.dataSync();
    const copy = seen.slice();
    y.dispose();
    for (let i = 0; i < 5; i++) tf.tidy(() => tf.add(tf.mul(x, 3), 1).dataSync());
    expect(seen).toEqual(copy);
    x.dispose();
  });

  it('a slice view of a kernel output survives the output being disposed', async () => {
    await tf.setBackend('native');
    const x = tf.tensor2d(rand(N, 2), [64, 1024]);
    const y = tf.neg(x);
    const s = tf.slice(y, [0, 0], [8, 1024]); // contiguous: the cpu kernel returns a view
    const want = (await runCpu(() => tf.slice(tf.neg(tf.tensor2d(rand(N, 2), [64, 1024])), [0, 0], [8, 1024]))).slice();
    y.dispose();
    for (let i = 0; i < 5; i++) tf.tidy(() => tf.neg(tf.mul(x, 7)));
    expect(s.dataSync()).toEqual(want);
    tf.dispose([x, s]);
  });

  it('a train-like loop reuses arrays instead of allocating, and keeps tensors flat', async () => {
    await tf.setBackend('native');
    const w = tf.variable(tf.tensor2d(rand(256 * 256, 3), [256, 256]));
    const x = tf.tensor2d(rand(64 * 256, 4), [64, 256]);
    const opt = tf.train.sgd(0.01);
    const step = () => opt.minimize(() => tf.mean(tf.square(tf.leakyRelu(tf.matMul(x, w), 0.2))), true)!;
    step().dispose();
    const tensors = tf.memory().numTensors;
    const before = { ...recycler.stats };
    const losses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const l = step();
      losses.push(l.dataSync()[0]);
      l.dispose();
    }
    expect(tf.memory().numTensors).toBe(tensors);
    expect(recycler.stats.reused - before.reused).toBeGreaterThan(10 * (recycler.stats.allocated - before.allocated));
    expect(losses[9]).toBeLessThan(losses[0]);
    tf.dispose([w, x]);
    opt.dispose();
  });
});

async function runCpu(f: () => tf.Tensor): Promise<Float32Array> {
  const prev = tf.getBackend();
  await tf.setBackend('cpu');
  const out = tf.tidy(() => f().dataSync() as Float32Array).slice();
  await tf.setBackend(prev);
  return out;
}
