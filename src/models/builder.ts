import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';
import { batchNorm } from './batch-norm';
import { RunDropout } from './dropout';
import { AbsLeakyReLU, ProjectionLogit, SNConv2D, SNDense } from './layers';
import type { ConvBlock, ModelSpec } from './spec';

type Init = ReturnType<typeof tf.initializers.glorotUniform>;

function kernelInit(kind: ConvBlock['init'], rng: Rng): Init {
  const seed = rng.nextSeed();
  return kind === 'normal02' ? tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed }) : tf.initializers.glorotUniform({ seed });
}

function activation(x: tf.SymbolicTensor, kind: ConvBlock['activation'], slope: number, name: string): tf.SymbolicTensor {
  switch (kind) {
    case 'leaky':
      return tf.layers.leakyReLU({ alpha: slope, name }).apply(x) as tf.SymbolicTensor;
    case 'relu':
      return tf.layers.reLU({ name }).apply(x) as tf.SymbolicTensor;
    case 'tanh':
      return tf.layers.activation({ activation: 'tanh', name }).apply(x) as tf.SymbolicTensor;
    case 'linear':
      return x;
  }
}

/**
 * The generator: z [n, latentDim] → Dense → [BN] → act → Reshape [h, w, c] → transposed
 * convolutions → image [n, H, W, C] in [-1, 1]. Only stock TF.js layers, so the saved model
 * loads with a plain `tf.loadLayersModel`. Weights are initialised from `seed`.
 */
export function buildGenerator(spec: ModelSpec, seed: number, cond?: Conditioning): tf.LayersModel {
  const rng = new Rng(seed);
  const { project, blocks } = spec.generator;
  const z = tf.input({ shape: [spec.latentDim], name: 'z' });
  const inputs = [z];
  let zc: tf.SymbolicTensor = z;
  let label: tf.SymbolicTensor | null = null;
  if (cond) {
    // Class-conditional: z ⊕ embed(label). Embedding, Flatten and Concatenate are stock layers.
    label = tf.input({ shape: [1], name: 'label' });
    inputs.push(label);
    const emb = tf.layers.embedding({ inputDim: cond.numClasses, outputDim: cond.embedDim, embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: rng.nextSeed() }), name: 'label_embedding' }).apply(label) as tf.SymbolicTensor;
    const flat = tf.layers.flatten({ name: 'label_flat' }).apply(emb) as tf.SymbolicTensor;
    zc = tf.layers.concatenate({ name: 'z_label' }).apply([z, flat]) as tf.SymbolicTensor;
  }
  let x = tf.layers
    .dense({ units: project.shape[0] * project.shape[1] * project.shape[2], useBias: project.bias, kernelInitializer: kernelInit('glorot', rng), name: 'project' })
    .apply(zc) as tf.SymbolicTensor;
  if (project.batchNorm) x = batchNorm({ momentum: spec.bnMomentum, epsilon: spec.bnEpsilon, name: 'project_bn' }).apply(x) as tf.SymbolicTensor;
  x = activation(x, project.activation, spec.leakySlope, 'project_act');
  x = tf.layers.reshape({ targetShape: project.shape, name: 'reshape' }).apply(x) as tf.SymbolicTensor;
  blocks.forEach((b, i) => {
    x = tf.layers
      .conv2dTranspose({ filters: b.filters, kernelSize: b.kernel, strides: b.stride, padding: 'same', useBias: b.bias, kernelInitializer: kernelInit(b.init, rng), name: `deconv${i + 1}` })
      .apply(x) as tf.SymbolicTensor;
    if (b.batchNorm) {
      x = cond?.classBatchNorm && label
        ? classBatchNorm(x, label, b.filters, cond.numClasses, spec, `deconv${i + 1}`)
        : (batchNorm({ momentum: spec.bnMomentum, epsilon: spec.bnEpsilon, name: `deconv${i + 1}_bn` }).apply(x) as tf.SymbolicTensor);
    }
    x = activation(x, b.activation, spec.leakySlope, `deconv${i + 1}_act`);
    if (b.dropout > 0) x = new RunDropout({ rate: b.dropout, name: `deconv${i + 1}_dropout` }).apply(x) as tf.SymbolicTensor;
  });
  const model = tf.model({ inputs: inputs.length === 1 ? z : inputs, outputs: x, name: 'generator' });
  const [, h, w, c] = model.outputs[0]!.shape as number[];
  const [eh, ew, ec] = spec.imageShape;
  if (h !== eh || w !== ew || c !== ec) {
    model.dispose();
    throw new Error(`generator outputs ${h}×${w}×${c} but the spec's images are ${eh}×${ew}×${ec}`);
  }
  return model;
}

/**
 * Class-conditional batch norm from stock layers: x [n, h, w, c] is normalised without a scale
 * or shift of its own (a frozen batch norm: γ = 1, β = 0), then y = x̂ · γ[label] + β[label], with γ, β [numClasses, c] embeddings
 * (γ starts at 1, β at 0, so the block starts as plain batch norm). Multiply and Add broadcast
 * [n, 1, 1, c] over the image, so the exported generator still loads with tf.loadLayersModel.
 */
function classBatchNorm(x: tf.SymbolicTensor, label: tf.SymbolicTensor, channels: number, numClasses: number, spec: ModelSpec, name: string): tf.SymbolicTensor {
  // TF.js's batch norm cannot train without its own scale and shift (it reads them): keep them
  // at 1 and 0 by freezing the layer (its moving statistics still update in training mode).
  const normalised = batchNorm({ momentum: spec.bnMomentum, epsilon: spec.bnEpsilon, trainable: false, name: `${name}_bn` }).apply(x) as tf.SymbolicTensor;
  const perClass = (what: 'gamma' | 'beta') => {
    const e = tf.layers.embedding({ inputDim: numClasses, outputDim: channels, embeddingsInitializer: what === 'gamma' ? 'ones' : 'zeros', name: `${name}_${what}` }).apply(label) as tf.SymbolicTensor;
    return tf.layers.reshape({ targetShape: [1, 1, channels], name: `${name}_${what}_map` }).apply(e) as tf.SymbolicTensor;
  };
  const scaled = tf.layers.multiply({ name: `${name}_scale` }).apply([normalised, perClass('gamma')]) as tf.SymbolicTensor;
  return tf.layers.add({ name: `${name}_shift` }).apply([scaled, perClass('beta')]) as tf.SymbolicTensor;
}

/** Class conditioning: how many classes, the size of G's label embedding, and whether G's batch norms are per class. */
export interface Conditioning {
  numClasses: number;
  embedDim: number;
  classBatchNorm?: boolean;
}

export interface DiscriminatorOptions {
  spectralNorm?: boolean;
  /** Projection discriminator over this many classes (inputs become [image, label]). */
  numClasses?: number;
  /** Twice-differentiable activations (for WGAN-GP's gradient penalty). */
  doubleBackprop?: boolean;
  /** An auxiliary classifier on φ (needs numClasses): D's outputs become [logit, class logits [n, numClasses]]. */
  auxClassifier?: boolean;
}

/**
 * The discriminator: image [n, H, W, C] → convolutions → flatten φ → [dropout] → Dense(1) logit,
 * plus ⟨embed(y), φ⟩ when conditional, and Dense(numClasses) class logits of φ as a second
 * output with an auxiliary classifier. With spectral norm, every kernel is divided by its
 * largest singular value (the classifier's too: it is a head of the same D).
 */
export function buildDiscriminator(spec: ModelSpec, seed: number, opts: DiscriminatorOptions = {}): tf.LayersModel {
  const rng = new Rng(seed);
  const image = tf.input({ shape: spec.imageShape, name: 'image' });
  const inputs = [image];
  let x: tf.SymbolicTensor = image;
  spec.discriminator.blocks.forEach((b, i) => {
    const conv = opts.spectralNorm
      ? new SNConv2D({ filters: b.filters, kernelSize: b.kernel, strides: b.stride, useBias: b.bias, kernelInitializer: kernelInit(b.init, rng), uSeed: rng.nextSeed(), name: `conv${i + 1}` })
      : tf.layers.conv2d({ filters: b.filters, kernelSize: b.kernel, strides: b.stride, padding: 'same', useBias: b.bias, kernelInitializer: kernelInit(b.init, rng), name: `conv${i + 1}` });
    x = conv.apply(x) as tf.SymbolicTensor;
    if (b.batchNorm) x = batchNorm({ momentum: spec.bnMomentum, epsilon: spec.bnEpsilon, name: `conv${i + 1}_bn` }).apply(x) as tf.SymbolicTensor;
    x = opts.doubleBackprop && b.activation === 'leaky'
      ? (new AbsLeakyReLU({ alpha: spec.leakySlope, name: `conv${i + 1}_act` }).apply(x) as tf.SymbolicTensor)
      : activation(x, b.activation, spec.leakySlope, `conv${i + 1}_act`);
    if (b.dropout > 0) x = new RunDropout({ rate: b.dropout, name: `conv${i + 1}_dropout` }).apply(x) as tf.SymbolicTensor;
  });
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  if (spec.discriminator.dropoutBeforeDense > 0) {
    x = new RunDropout({ rate: spec.discriminator.dropoutBeforeDense, name: 'flatten_dropout' }).apply(x) as tf.SymbolicTensor;
  }
  const phi = x;
  const dense = opts.spectralNorm
    ? new SNDense({ units: 1, useBias: true, kernelInitializer: kernelInit('glorot', rng), uSeed: rng.nextSeed(), name: 'logit' })
    : tf.layers.dense({ units: 1, kernelInitializer: kernelInit('glorot', rng), name: 'logit' });
  let logit = dense.apply(phi) as tf.SymbolicTensor;
  if (opts.numClasses) {
    const label = tf.input({ shape: [1], name: 'label' });
    inputs.push(label);
    const proj = new ProjectionLogit({ numClasses: opts.numClasses, seed: rng.nextSeed(), name: 'projection' }).apply([phi, label]) as tf.SymbolicTensor;
    logit = tf.layers.add({ name: 'logit_sum' }).apply([logit, proj]) as tf.SymbolicTensor;
  }
  const outputs = [logit];
  if (opts.auxClassifier) {
    if (!opts.numClasses) throw new Error('an auxiliary classifier needs numClasses');
    const head = opts.spectralNorm
      ? new SNDense({ units: opts.numClasses, useBias: true, kernelInitializer: kernelInit('glorot', rng), uSeed: rng.nextSeed(), name: 'aux_class' })
      : tf.layers.dense({ units: opts.numClasses, kernelInitializer: kernelInit('glorot', rng), name: 'aux_class' });
    outputs.push(head.apply(phi) as tf.SymbolicTensor);
  }
  return tf.model({ inputs: inputs.length === 1 ? image : inputs, outputs: outputs.length === 1 ? logit : outputs, name: 'discriminator' });
}

/** Counts all weights (trainable and not), as Keras's summary does. */
export function countParams(model: tf.LayersModel): number {
  return model.weights.reduce((sum, w) => sum + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
}

/** A Keras-style layer table: name (type), output shape, parameters, with thousands separators. */
export function summaryTable(model: tf.LayersModel): string {
  const fmt = (n: number) => n.toLocaleString('en-US');
  const rows = model.layers.map((l) => {
    const shape = (l.outputShape as (number | null)[]).map((d) => (d === null ? 'None' : d));
    const params = l.weights.reduce((s, w) => s + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
    return [`${l.name} (${l.getClassName()})`, `(${shape.join(', ')})`, fmt(params)];
  });
  const widths = [34, 24, 12];
  const line = (cells: string[]) => cells.map((c, i) => (i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' ');
  const rule = (ch: string) => ch.repeat(widths.reduce((a, b) => a + b + 1, -1));
  const total = countParams(model);
  const trainable = model.trainableWeights.reduce((s, w) => s + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
  return [
    `Model: "${model.name}"`,
    rule('─'),
    line(['Layer (type)', 'Output Shape', 'Param #']),
    rule('═'),
    ...rows.map(line),
    rule('═'),
    `Total params: ${fmt(total)}`,
    `Trainable params: ${fmt(trainable)}`,
    `Non-trainable params: ${fmt(total - trainable)}`,
    rule('─'),
  ].join('\n');
}
