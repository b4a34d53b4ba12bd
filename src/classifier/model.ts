import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { loadModelArtifacts } from '../backends/fileio';
import { UserError } from '../errors';
import { batchNorm } from '../models/batch-norm';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where each data set's shipped classifier lives. */
export function classifierDir(dataset: string): string {
  return path.join(REPO_ROOT, 'models', `classifier-${dataset}`);
}

/** The name of the layer whose output is the feature space of FD, KID and precision/recall. */
export const FEATURE_LAYER = 'features';

/** Width of the feature layer. */
export const FEATURE_DIM = 128;

/**
 * A small CNN, cheap enough to train on a CPU in minutes and ≥ 92 % on Fashion-MNIST:
 * 3×3 ReLU convolutions 32 → 32 (stride 2) → 64 → 64 (stride 2) (strided convolutions rather
 * than max pooling: pooling's backward pass has no fast kernel on the CPU backends), dropout,
 * a 128-d feature layer (dense → batch norm → ReLU, named `features`), dropout, softmax.
 * Input pixels in [-1, 1], as the GANs produce them.
 */
export function buildClassifier(imageShape: [number, number, number], numClasses = 10, seed = 1): tf.LayersModel {
  let s = seed;
  const init = () => tf.initializers.heNormal({ seed: s++ });
  const x0 = tf.input({ shape: imageShape, name: 'image' });
  let x: tf.SymbolicTensor = x0;
  const apply = (layer: tf.layers.Layer) => (x = layer.apply(x) as tf.SymbolicTensor);
  const conv = (filters: number, strides: number, name: string) =>
    apply(tf.layers.conv2d({ filters, kernelSize: 3, strides, padding: 'same', activation: 'relu', kernelInitializer: init(), name }));
  conv(32, 1, 'conv1');
  conv(32, 2, 'conv2');
  conv(64, 1, 'conv3');
  conv(64, 2, 'conv4');
  apply(tf.layers.flatten({ name: 'flatten' }));
  apply(tf.layers.dropout({ rate: 0.25, name: 'flatten_dropout', seed: s++ }));
  apply(tf.layers.dense({ units: FEATURE_DIM, useBias: false, kernelInitializer: init(), name: 'dense' }));
  apply(batchNorm({ name: 'dense_bn' }));
  apply(tf.layers.activation({ activation: 'relu', name: FEATURE_LAYER }));
  apply(tf.layers.dropout({ rate: 0.3, name: 'features_dropout', seed: s++ }));
  const probs = tf.layers.dense({ units: numClasses, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: s++ }), name: 'probs' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: x0, outputs: probs, name: 'classifier' });
}

/** The classifier and its feature extractor, sharing weights. */
export interface FeatureNet {
  model: tf.LayersModel;
  /** pixels [-1, 1] NHWC → [n, 128] features */
  features(images: tf.Tensor4D): tf.Tensor2D;
  /** pixels [-1, 1] NHWC → [n, 10] class probabilities */
  probs(images: tf.Tensor4D): tf.Tensor2D;
  /** both at once */
  both(images: tf.Tensor4D): [tf.Tensor2D, tf.Tensor2D];
  dispose(): void;
}

export function featureNet(model: tf.LayersModel): FeatureNet {
  const both = tf.model({ inputs: model.inputs, outputs: [model.getLayer(FEATURE_LAYER).output as tf.SymbolicTensor, model.outputs[0]!] });
  return {
    model,
    features: (x) => {
      const [f, p] = both.predict(x) as tf.Tensor2D[];
      p!.dispose();
      return f!;
    },
    probs: (x) => {
      const [f, p] = both.predict(x) as tf.Tensor2D[];
      f!.dispose();
      return p!;
    },
    both: (x) => both.predict(x) as [tf.Tensor2D, tf.Tensor2D],
    dispose: () => model.dispose(),
  };
}

/** Loads the shipped (or a given) classifier; a missing one is a one-line error saying how to make it. */
export async function loadFeatureNet(dataset: string, dir = classifierDir(dataset)): Promise<FeatureNet> {
  if (!fs.existsSync(path.join(dir, 'model.json'))) {
    throw new UserError(`no classifier for ${dataset} at ${dir}; train one with \`fashion-gan classifier train --dataset ${dataset}\``);
  }
  const model = await tf.loadLayersModel(tf.io.fromMemory(loadModelArtifacts(dir)));
  return featureNet(model);
}
