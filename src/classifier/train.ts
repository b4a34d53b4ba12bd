import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { FileModelIO } from '../backends/fileio';
import { batchPixels, loadDataset, type DatasetName, type Split } from '../data/dataset';
import { Rng } from '../util/rng';
import { writeFileAtomic } from '../util/atomic';
import { buildClassifier, classifierDir, FEATURE_DIM, FEATURE_LAYER } from './model';
import { readTidy } from '../util/tensors';

export interface ClassifierTrainOptions {
  dataset: DatasetName;
  dataDir?: string;
  epochs: number;
  batchSize: number;
  out?: string;
  seed: number;
  backend: string;
  command: string;
  log?: (line: string) => void;
}

/** Accuracy of `model` on a split, in batches (pixels scaled as for the GAN: [-1, 1]). */
export function accuracyOn(model: tf.LayersModel, split: Split, batchSize = 500): number {
  let correct = 0;
  for (let i = 0; i < split.count; i += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, split.count - i) }, (_, k) => i + k);
    const pred = readTidy(() => tf.argMax(model.predict(tf.tensor4d(batchPixels(split, idx), [idx.length, ...split.shape])) as tf.Tensor, 1));
    idx.forEach((j, k) => (correct += pred[k] === split.labels[j] ? 1 : 0));
  }
  return correct / split.count;
}

/** Peak learning rate of the cosine schedule (Adam). */
export const PEAK_LR = 1e-3;

/** Learning rate at `progress` ∈ [0, 1] of training: a short linear warm-up, then cosine decay to 1 % of the peak. */
export function learningRateAt(progress: number, peak = PEAK_LR): number {
  const warm = 0.02;
  if (progress < warm) return peak * (0.1 + (0.9 * progress) / warm);
  const t = (progress - warm) / (1 - warm);
  return peak * (0.01 + 0.99 * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, t))));
}

export interface ClassifierEpoch {
  epoch: number;
  trainAccuracy: number;
  testAccuracy: number;
  /** wall seconds since training started, at the end of this epoch */
  seconds: number;
}

/**
 * Trains the feature network for the metrics: Adam with a cosine learning-rate schedule (one
 * optimiser for the whole run, so its moments carry over), random ±1-pixel shifts (and, for
 * colour data, horizontal flips) as augmentation; writes model.json/weights.bin and training.json.
 */
export async function trainClassifier(o: ClassifierTrainOptions): Promise<{ dir: string; testAccuracy: number; seconds: number; epochs: ClassifierEpoch[] }> {
  const log = o.log ?? (() => {});
  const data = await loadDataset({ dataset: o.dataset, dataDir: o.dataDir });
  const { train, test } = data;
  const model = buildClassifier(train.shape, data.classNames.length, o.seed);
  const optimizer = tf.train.adam(learningRateAt(0));
  model.compile({ optimizer, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const rng = new Rng(o.seed);
  const started = Date.now();
  const epochs: ClassifierEpoch[] = [];
  const batchesPerEpoch = Math.ceil(train.count / o.batchSize);
  const totalBatches = batchesPerEpoch * o.epochs;
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const order = rng.shuffle(Uint32Array.from({ length: train.count }, (_, i) => i));
      let seen = 0;
      let correct = 0;
      for (let b = 0; b < batchesPerEpoch; b++) {
        // Adam reads its learning rate at every step.
        (optimizer as unknown as { learningRate: number }).learningRate = learningRateAt((epoch * batchesPerEpoch + b) / totalBatches);
        const idx = order.subarray(b * o.batchSize, Math.min((b + 1) * o.batchSize, train.count));
        const px = augment(batchPixels(train, idx), idx.length, train.shape, rng);
        const x = tf.tensor4d(px, [idx.length, ...train.shape]);
        const y = tf.tensor1d(Float32Array.from(idx, (i) => train.labels[i]!));
        const [, acc] = (await model.trainOnBatch(x, y)) as number[];
        tf.dispose([x, y]);
        seen += idx.length;
        correct += acc! * idx.length;
        if (b % 8 === 7) await new Promise((r) => setImmediate(r));
      }
      const testAccuracy = accuracyOn(model, test);
      const row = { epoch: epoch + 1, trainAccuracy: correct / seen, testAccuracy, seconds: (Date.now() - started) / 1000 };
      epochs.push(row);
      log(`epoch ${row.epoch}/${o.epochs}: train accuracy ${(row.trainAccuracy * 100).toFixed(2)} %, test accuracy ${(testAccuracy * 100).toFixed(2)} % (${row.seconds.toFixed(0)} s)`);
    }
    const dir = o.out ?? classifierDir(o.dataset);
    fs.mkdirSync(dir, { recursive: true });
    await model.save(new FileModelIO(dir));
    const testAccuracy = epochs[epochs.length - 1]!.testAccuracy;
    const record = {
      dataset: o.dataset,
      source: data.source,
      trainImages: train.count,
      testImages: test.count,
      testAccuracy,
      epochs,
      seconds: (Date.now() - started) / 1000,
      backend: o.backend,
      command: o.command,
      batchSize: o.batchSize,
      seed: o.seed,
      optimizer: `adam, cosine schedule from ${PEAK_LR} (2 % warm-up) to ${PEAK_LR / 100}`,
      augmentation: train.shape[2] === 3 ? 'random ±1-pixel shifts, horizontal flips' : 'random ±1-pixel shifts',
      architecture: 'conv3x3 32 → 32/s2 → 64 → 64/s2 (ReLU) → dropout 0.25 → dense 128 → BN → ReLU (features) → dropout 0.3 → softmax',
      featureLayer: `${FEATURE_LAYER} (${FEATURE_DIM}-d, ReLU)`,
      parameters: model.countParams(),
      trainedAt: new Date().toISOString(),
    };
    writeFileAtomic(path.join(dir, 'training.json'), `${JSON.stringify(record, null, 2)}\n`);
    return { dir, testAccuracy, seconds: record.seconds, epochs };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

/** Random shifts of up to ±1 pixel (edge pixels repeated) and, for colour data, horizontal flips. */
function augment(px: Float32Array, n: number, [h, w, c]: [number, number, number], rng: Rng): Float32Array {
  const out = new Float32Array(px.length);
  for (let b = 0; b < n; b++) {
    const dy = rng.nextInt(3) - 1;
    const dx = rng.nextInt(3) - 1;
    const flip = c === 3 && rng.nextFloat() < 0.5;
    for (let y = 0; y < h; y++) {
      const sy = Math.min(h - 1, Math.max(0, y - dy));
      for (let x = 0; x < w; x++) {
        let sx = Math.min(w - 1, Math.max(0, x - dx));
        if (flip) sx = w - 1 - sx;
        for (let k = 0; k < c; k++) out[((b * h + y) * w + x) * c + k] = px[((b * h + sy) * w + sx) * c + k]!;
      }
    }
  }
  return out;
}
