import { UserError } from '../errors';
import { z } from 'zod';
import { Preset, type ConvBlock, type OptimizerSpec } from './spec';

const keras = (learningRate: number, beta1 = 0.9): OptimizerSpec => ({ learningRate, beta1, beta2: 0.999, epsilon: 1e-7 });

const g = (filters: number, kernel: number, stride: number, extra: Partial<ConvBlock> = {}): ConvBlock => ({
  filters, kernel, stride, batchNorm: true, activation: 'leaky', dropout: 0, bias: false, init: 'glorot', ...extra,
});
const d = (filters: number, kernel: number, stride: number, extra: Partial<ConvBlock> = {}): ConvBlock => ({
  filters, kernel, stride, batchNorm: false, activation: 'leaky', dropout: 0, bias: true, init: 'glorot', ...extra,
});
const out = (channels: number, kernel: number, stride: number): ConvBlock => g(channels, kernel, stride, { batchNorm: false, activation: 'tanh' });

/** The TensorFlow DCGAN tutorial's model, as the seed ran it (5×5 kernels, LeakyReLU 0.3). */
const lms = (size: 7 | 8, channels: 1 | 3) => ({
  latentDim: 100,
  imageShape: [size * 4, size * 4, channels] as [number, number, number],
  leakySlope: 0.3,
  bnMomentum: 0.99,
  bnEpsilon: 1e-3,
  generator: {
    project: { shape: [size, size, 256] as [number, number, number], batchNorm: true, activation: 'leaky' as const, bias: false },
    blocks: [g(128, 5, 1), g(64, 5, 2), out(channels, 5, 2)],
  },
  discriminator: { blocks: [d(64, 5, 2, { dropout: 0.3 }), d(128, 5, 2, { dropout: 0.3 })], dropoutBeforeDense: 0 },
});

const RAW: z.input<typeof Preset>[] = [
  {
    name: 'fmnist-lms',
    description: "The seed's Fashion-MNIST notebook: TF DCGAN tutorial model, 5×5 kernels, LeakyReLU 0.3, Adam 1e-4",
    dataset: 'fashion-mnist',
    classFilter: null,
    batchSize: 256,
    model: lms(7, 1),
    optimizerG: keras(1e-4),
    optimizerD: keras(1e-4),
    seedParams: { generator: 2_330_944, discriminator: 212_865 },
  },
  {
    name: 'cifar-lms',
    description: "The seed's CIFAR-10 car run, case 1: the same tutorial model at 32×32×3, 5×5 kernels",
    dataset: 'cifar10',
    classFilter: 'automobile',
    batchSize: 256,
    model: lms(8, 3),
    optimizerG: keras(1e-4),
    optimizerD: keras(1e-4),
    seedParams: { generator: 2_733_504, discriminator: 217_985 },
  },
  {
    name: 'cifar-chollet4x4',
    description: "The seed's CIFAR-10 car run, case 2: Chollet's model (Deep Learning with Python, ch. 12), 4×4 kernels",
    dataset: 'cifar10',
    classFilter: 'automobile',
    batchSize: 256,
    model: {
      latentDim: 100,
      imageShape: [32, 32, 3],
      leakySlope: 0.2,
      bnMomentum: 0.99,
      bnEpsilon: 1e-3,
      generator: {
        project: { shape: [8, 8, 128], batchNorm: false, activation: 'linear', bias: false },
        blocks: [g(128, 4, 2, { batchNorm: false }), g(256, 4, 2, { batchNorm: false }), out(3, 5, 1)],
      },
      discriminator: { blocks: [d(64, 4, 2), d(128, 4, 2)], dropoutBeforeDense: 0.2 },
    },
    optimizerG: keras(1e-4),
    optimizerD: keras(1e-4),
    seedParams: { generator: 1_624_832, discriminator: 142_529 },
  },
  {
    name: 'cifar-kje3x3',
    description: "The seed's all-class CIFAR-10 run: 3×3 kernels, LeakyReLU 0.2, N(0, 0.02) init, Adam 2e-4 β1 0.5",
    dataset: 'cifar10',
    classFilter: null,
    batchSize: 256,
    model: {
      latentDim: 100,
      imageShape: [32, 32, 3],
      leakySlope: 0.2,
      bnMomentum: 0.99,
      bnEpsilon: 1e-3,
      generator: {
        project: { shape: [8, 8, 256], batchNorm: true, activation: 'leaky', bias: false },
        blocks: [g(128, 3, 1, { init: 'normal02' }), g(64, 3, 2), out(3, 3, 2)],
      },
      discriminator: { blocks: [d(64, 4, 2), d(128, 4, 2)], dropoutBeforeDense: 0 },
    },
    optimizerG: keras(2e-4, 0.5),
    optimizerD: keras(2e-4, 0.5),
    seedParams: { generator: 2_075_072, discriminator: 142_529 },
  },
  {
    name: 'fmnist-dcgan',
    description: 'fmnist-lms with the DCGAN paper\'s settings: Adam 2e-4 β1 0.5, batch 128, LeakyReLU 0.2 (faster to good samples)',
    dataset: 'fashion-mnist',
    classFilter: null,
    batchSize: 128,
    model: { ...lms(7, 1), leakySlope: 0.2 },
    optimizerG: keras(2e-4, 0.5),
    optimizerD: keras(2e-4, 0.5),
  },
  {
    name: 'fashion',
    description: 'Class-conditional 4×4-kernel DCGAN: projection D with spectral norm, hinge loss, EMA generator, Adam 2e-4 β1 0.5, batch 64 (the best recipe per CPU-minute)',
    dataset: 'fashion-mnist',
    classFilter: null,
    batchSize: 64,
    model: {
      latentDim: 64,
      imageShape: [28, 28, 1],
      leakySlope: 0.2,
      bnMomentum: 0.9,
      bnEpsilon: 1e-3,
      generator: {
        project: { shape: [7, 7, 128], batchNorm: true, activation: 'leaky', bias: false },
        blocks: [g(64, 4, 2), g(32, 4, 2), out(1, 3, 1)],
      },
      discriminator: { blocks: [d(64, 4, 2), d(128, 4, 2)], dropoutBeforeDense: 0 },
    },
    optimizerG: keras(2e-4, 0.5),
    optimizerD: keras(2e-4, 0.5),
    recipe: { loss: 'hinge', ema: 0.999, spectralNorm: true, conditional: true, embedDim: 32 },
  },
];

export const PRESETS: ReadonlyMap<string, Preset> = new Map(RAW.map((p) => [p.name, Preset.parse(p)]));

export function getPreset(name: string): Preset {
  const p = PRESETS.get(name);
  if (!p) throw new UserError(`--preset ${name}: unknown preset (allowed: ${[...PRESETS.keys()].join(', ')})`);
  return structuredClone(p);
}
