import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { nativeKernelNames, registerNativeBackend } from './index';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, DROPOUT_MASK, FUSED_ADAM, LEAKY_RELU_GRAD } from '../kernel-names';
import { suiteName, unavailable } from './test-helpers';

describe.skipIf(!!unavailable)(suiteName('registerNativeBackend'), () => {
  it('registers without changing the default backend, and is idempotent', async () => {
    expect(registerNativeBackend()).toBeNull();
    expect(registerNativeBackend()).toBeNull();
    expect(tf.findBackendFactory('native')).toBeTruthy();
    await tf.ready();
    expect(tf.getBackend()).toBe('cpu');
  });

  it('copies every cpu kernel, overrides the hot ones and adds the fused Adam update, the LeakyRelu gradient, dropout masks and training-mode batch norm', () => {
    const cpu = tf.getKernelsForBackend('cpu').map((k) => k.kernelName);
    const native = tf.getKernelsForBackend('native').map((k) => k.kernelName).sort();
    expect(native).toEqual([...cpu, BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, DROPOUT_MASK, FUSED_ADAM, LEAKY_RELU_GRAD].sort());
    for (const name of nativeKernelNames()) {
      expect(tf.getKernel(name, 'native')!.kernelFunc).not.toBe(tf.getKernel(name, 'cpu')!.kernelFunc);
    }
    expect(nativeKernelNames()).toEqual(expect.arrayContaining(['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'BatchMatMul', '_FusedMatMul', 'FusedConv2D']));
  });
});
