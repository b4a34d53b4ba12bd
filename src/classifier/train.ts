import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { FileModelIO } from '../backends/fileio';
import { batchPixels, loadDataset, type DatasetName, type Split } from '../data/dataset';
import { Rng } from '../util/rng';
import { writeFileAtomic } from '../util/atomic';
import { buildClassifier, classifierDir } from './model';

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
    const pred = tf.tidy(() => tf.argMax(model.predict(tf.tensor4d(batchPixels(split, idx), [idx.length, ...split.shape])) as tf.Tensor, 1).dataSync());
    idx.forEach((j, k) => (correct += pred[k] === split.labels[j] ? 1 : 0));
  }
  return correct / split.count;
}

/**
 * Trains the feature network for the metrics: Adam 1e-3 with a step decay, random ±2-pixel
 * shifts and horizontal flips as augmentation; writes model.json/weights.bin and training.json.
 */
export async function trainClassifier(o: ClassifierTrainOptions): Promise<{ dir: string; testAccuracy: number; seconds: number }> {
  const log = o.log ?? (() => {});
  const data = await loadDataset({ dataset: o.dataset, dataDir: o.dataDir });
  const { train, test } = data;
  const model = buildClassifier(train.shape, data.classNames.length, o.seed);
  const rng = new Rng(o.seed);
  const started = Date.now();
  const epochs: { epoch: number; trainAccuracy: number; testAccuracy: number; seconds: number }[] = [];
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const lr = 1e-3 * (epoch >= Math.ceil(o.epochs * 0.6) ? 0.2 : 1);
      model.compile({ optimizer: tf.train.adam(lr), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
      const order = rng.shuffle(Uint32Array.from({ length: train.count }, (_, i) => i));
      let seen = 0;
      let correct = 0;
      for (let b = 0; b < train.count; b += o.batchSize) {
        const idx = order.subarray(b, Math.min(b + o.batchSize, train.count));
        const px = augment(batchPixels(train, idx), idx.length, train.shape, rng);
        const x = tf.tensor4d(px, [idx.length, ...train.shape]);
        const y = tf.tensor1d(Float32Array.from(idx, (i) => train.labels[i]!));
        const [, acc] = (await model.trainOnBatch(x, y)) as number[];
        tf.dispose([x, y]);
        seen += idx.length;
        correct += acc! * idx.length;
        await new Promise((r) => setImmediate(r));
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
    const record = { dataset: o.dataset, source: data.source, epochs, testAccuracy, batchSize: o.batchSize, seed: o.seed, backend: o.backend, seconds: (Date.now() - started) / 1000, command: o.command, featureLayer: 'features (128-d, ReLU)' };
    writeFileAtomic(path.join(dir, 'training.json'), `${JSON.stringify(record, null, 2)}\n`);
    return { dir, testAccuracy, seconds: record.seconds };
  } finally {
    model.dispose();
  }
}

/** Random shifts of up to ±2 pixels (edge pixels repeated) and, for colour data, horizontal flips. */
function augment(px: Float32Array, n: number, [h, w, c]: [number, number, number], rng: Rng): Float32Array {
  const out = new Float32Array(px.length);
  for (let b = 0; b < n; b++) {
    const dy = rng.nextInt(5) - 2;
    const dx = rng.nextInt(5) - 2;
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
