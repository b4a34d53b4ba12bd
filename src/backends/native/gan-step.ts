import * as tf from '@tensorflow/tfjs';
import { nativeDropoutMask } from './index';

/**
 * The seed DCGAN (fmnist-lms / cifar-lms) and one train step, built with tf.layers — a stand-in
 * for the real train loop in src/training/, used to profile and benchmark backends.
 * Step: fake = G(z); D ← Adam(∇D [BCE(1, D(real)) + BCE(0, D(fake))]); G ← Adam(∇G BCE(1, D(G(z)))).
 */

export type Preset = 'fmnist-lms' | 'cifar-lms';
const LATENT = 100;

export function presetDims(preset: Preset) {
  return preset === 'cifar-lms' ? { base: 8, size: 32, channels: 3 } : { base: 7, size: 28, channels: 1 };
}

export function buildGenerator(preset: Preset): tf.Sequential {
  const { base, channels } = presetDims(preset);
  const g = tf.sequential();
  g.add(tf.layers.dense({ units: base * base * 256, useBias: false, inputShape: [LATENT] }));
  g.add(tf.layers.batchNormalization());
  g.add(tf.layers.leakyReLU({ alpha: 0.3 }));
  g.add(tf.layers.reshape({ targetShape: [base, base, 256] }));
  g.add(tf.layers.conv2dTranspose({ filters: 128, kernelSize: 5, strides: 1, padding: 'same', useBias: false }));
  g.add(tf.layers.batchNormalization());
  g.add(tf.layers.leakyReLU({ alpha: 0.3 }));
  g.add(tf.layers.conv2dTranspose({ filters: 64, kernelSize: 5, strides: 2, padding: 'same', useBias: false }));
  g.add(tf.layers.batchNormalization());
  g.add(tf.layers.leakyReLU({ alpha: 0.3 }));
  g.add(tf.layers.conv2dTranspose({ filters: channels, kernelSize: 5, strides: 2, padding: 'same', useBias: false, activation: 'tanh' }));
  return g;
}

export function buildDiscriminator(preset: Preset): tf.Sequential {
  const { size, channels } = presetDims(preset);
  const d = tf.sequential();
  d.add(tf.layers.conv2d({ filters: 64, kernelSize: 5, strides: 2, padding: 'same', inputShape: [size, size, channels] }));
  d.add(tf.layers.leakyReLU({ alpha: 0.3 }));
  d.add(tf.layers.dropout({ rate: 0.3 }));
  d.add(tf.layers.conv2d({ filters: 128, kernelSize: 5, strides: 2, padding: 'same' }));
  d.add(tf.layers.leakyReLU({ alpha: 0.3 }));
  d.add(tf.layers.dropout({ rate: 0.3 }));
  d.add(tf.layers.flatten());
  d.add(tf.layers.dense({ units: 1 }));
  return d;
}

export interface GanStep {
  g: tf.Sequential;
  d: tf.Sequential;
  /** One train step on a batch of `batchSize` (synthetic) real images; returns the two losses. */
  step(): { dLoss: number; gLoss: number };
  /** Generates `n` images (inference mode) and returns them as a typed array. */
  generate(n: number): Float32Array;
  dispose(): void;
}

/**
 * `dropout`: 'layers' uses tf.layers' Dropout (masks from tf.randomUniform, a JS loop);
 * 'mask' multiplies in masks made by the addon's RNG (as a train loop that builds its own masks would).
 */
export function createGanStep(preset: Preset, batchSize: number, seed = 1, dropout: 'layers' | 'mask' = 'layers'): GanStep {
  const g = buildGenerator(preset);
  const d = buildDiscriminator(preset);
  const { size, channels } = presetDims(preset);
  const real = tf.randomUniform([batchSize, size, size, channels], -1, 1, 'float32', seed);
  const ones = tf.ones([batchSize, 1]);
  const zeros = tf.zeros([batchSize, 1]);
  const gOpt = tf.train.adam(1e-4);
  const dOpt = tf.train.adam(1e-4);
  const gVars = g.trainableWeights.map((w) => w.read() as tf.Variable);
  const dVars = d.trainableWeights.map((w) => w.read() as tf.Variable);
  const bce = (labels: tf.Tensor, logits: tf.Tensor) => tf.losses.sigmoidCrossEntropy(labels, logits) as tf.Scalar;
  const applyD = (x: tf.Tensor): tf.Tensor => {
    if (dropout === 'layers') return d.apply(x, { training: true }) as tf.Tensor;
    let h = x;
    for (const layer of d.layers) {
      if (layer.getClassName() === 'Dropout') {
        const rate = (layer.getConfig() as { rate: number }).rate;
        const mask = nativeDropoutMask(h.size, rate);
        h = mask ? tf.mul(h, tf.tensor(mask, h.shape)) : tf.dropout(h, rate);
      } else {
        h = layer.apply(h, { training: true }) as tf.Tensor;
      }
    }
    return h;
  };

  return {
    g,
    d,
    step() {
      const noise = tf.randomNormal([batchSize, LATENT]);
      const dOut = tf.variableGrads(() => {
        const fake = g.apply(noise, { training: true }) as tf.Tensor;
        const realLogits = applyD(real);
        const fakeLogits = applyD(fake);
        return tf.add(bce(ones, realLogits), bce(zeros, fakeLogits)) as tf.Scalar;
      }, dVars);
      dOpt.applyGradients(dOut.grads as unknown as Parameters<typeof dOpt.applyGradients>[0]);
      const gOut = tf.variableGrads(() => {
        const fake = g.apply(noise, { training: true }) as tf.Tensor;
        return bce(ones, applyD(fake));
      }, gVars);
      gOpt.applyGradients(gOut.grads as unknown as Parameters<typeof gOpt.applyGradients>[0]);
      const losses = { dLoss: dOut.value.dataSync()[0], gLoss: gOut.value.dataSync()[0] };
      tf.dispose([noise, dOut.value, gOut.value, ...Object.values(dOut.grads), ...Object.values(gOut.grads)]);
      return losses;
    },
    generate(n: number) {
      return tf.tidy(() => (g.predict(tf.randomNormal([n, LATENT])) as tf.Tensor).dataSync() as Float32Array);
    },
    dispose() {
      tf.dispose([real, ones, zeros]);
      gOpt.dispose();
      dOpt.dispose();
      g.dispose();
      d.dispose();
    },
  };
}
