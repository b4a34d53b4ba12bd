import { describe, expect, it } from 'vitest';
import type * as tf from '@tensorflow/tfjs';
import { formatProfile, kernelFlops } from './profile';

const t = (shape: number[]) => ({ shape, dtype: 'float32' }) as unknown as tf.TensorInfo;

describe('bench --profile arithmetic', () => {
  it('counts 2 FLOPs per multiply-add of convolutions and matrix products, by hand for small shapes', () => {
    // 2 images 8×8×3, 4×4×3→5 filter, stride 2, same: 4×4 outputs each, 4·4·3·5 MACs per output.
    expect(kernelFlops('Conv2D', { x: t([2, 8, 8, 3]), filter: t([4, 4, 3, 5]) }, { strides: [2, 2], pad: 'same' })).toBe(2 * 2 * 16 * 240);
    // valid padding: (8 − 4 + 1)/1 = 5 outputs per side.
    expect(kernelFlops('Conv2D', { x: t([1, 8, 8, 3]), filter: t([4, 4, 3, 5]) }, { strides: 1, pad: 'valid' })).toBe(2 * 25 * 240);
    expect(kernelFlops('Conv2DBackpropInput', { dy: t([2, 4, 4, 5]), filter: t([4, 4, 3, 5]) }, {})).toBe(2 * 32 * 240);
    expect(kernelFlops('Conv2DBackpropFilter', { x: t([2, 8, 8, 3]), dy: t([2, 4, 4, 5]) }, { filterShape: [4, 4, 3, 5] })).toBe(2 * 32 * 240);
    // [3, 7] × [7, 2] (b transposed as [2, 7]), batch 4 broadcast from b.
    expect(kernelFlops('BatchMatMul', { a: t([1, 3, 7]), b: t([4, 2, 7]) }, { transposeB: true })).toBe(2 * 4 * 3 * 2 * 7);
    expect(kernelFlops('Add', { a: t([3]), b: t([3]) }, {})).toBeUndefined();
  });

  it('sums the kernels\' work into GFLOP per step and per image, and the rate of the whole step', () => {
    const rows = [
      { kernel: 'Conv2D', calls: 2, ms: 30, flops: 3e9, top: [] },
      { kernel: 'Add', calls: 10, ms: 10, top: [] },
    ];
    const lines = formatProfile(rows, 50, 100).split('\n');
    expect(lines[0]).toBe('  50 ms/step: kernels 40 ms, outside kernels (JS, tape, GC) 10 ms');
    expect(lines[1]).toBe('  convolutions and matrix products: 3.00 GFLOP/step, 0.030 per image; the whole step runs at 60.0 GFLOP/s of them');
    expect(lines[3]).toContain('100.0'); // Conv2D's own rate: 3 GFLOP in 30 ms
    expect(lines[3]).toContain('Conv2D');
  });
});
