/**
 * A small, fast stand-in for real training output, used by the server tests and by
 * scripts/screenshots.ts: run folders that follow the run-folder contract (config.json,
 * history.jsonl, metrics.jsonl, samples/, progress.gif, generator/) with a tiny generator
 * built from stock TF.js layers.
 *
 * The generator is not trained: it mixes "prototype" garments (means of a few training images
 * of one class) with softmax weights computed from z, so its designs look like clothes in
 * seconds instead of the minutes a real run takes. A conditional variant adds a label
 * embedding that favours the chosen class's prototypes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backends/index';
import { FileModelIO } from '../src/backends/fileio';
import { loadDataset, CLASS_NAMES } from '../src/data/dataset';
import { writeProgressGif, writeSampleGrid, writeHistoryPng } from '../src/training/artifacts';
import { runPaths, sampleFileName } from '../src/run/paths';
import { Rng } from '../src/util/rng';

const LATENT = 16;
const PER_CLASS = 3;

function prototypes(images: Uint8Array, labels: Uint8Array, count: number, rng: Rng): Float32Array {
  const K = 10 * PER_CLASS;
  const out = new Float32Array(K * 784);
  const byClass: number[][] = Array.from({ length: 10 }, () => []);
  for (let i = 0; i < count; i++) byClass[labels[i]!]!.push(i);
  for (let c = 0; c < 10; c++) {
    const pool = byClass[c]!;
    for (let p = 0; p < PER_CLASS; p++) {
      const k = c * PER_CLASS + p;
      const picks = pool.length ? Array.from({ length: 3 }, () => pool[rng.nextInt(pool.length)]!) : [];
      for (let d = 0; d < 784; d++) {
        let s = 0;
        for (const i of picks) s += images[i * 784 + d]!;
        const v = picks.length ? s / picks.length / 127.5 - 1 : -1;
        // Stored as atanh so the final tanh brings the prototype back.
        out[k * 784 + d] = Math.atanh(Math.max(-0.96, Math.min(0.96, v)));
      }
    }
  }
  return out;
}

/** The fixture generator: z [n,16] (+ label [n,1]) → [n,28,28,1] in [-1,1], stock layers only. */
export function buildFixtureGenerator(protos: Float32Array, conditional: boolean, seed = 7): tf.LayersModel {
  const K = protos.length / 784;
  const rng = new Rng(seed);
  const z = tf.input({ shape: [LATENT], name: 'z' });
  const mixW = tf.tensor2d(Array.from(rng.normal(LATENT * K), (v) => v * 1.6), [LATENT, K]);
  let logits = tf.layers.dense({ units: K, useBias: false, name: 'mix', weights: [mixW] }).apply(z) as tf.SymbolicTensor;
  const inputs = [z];
  if (conditional) {
    const label = tf.input({ shape: [1], name: 'label' });
    inputs.push(label);
    const emb = new Float32Array(10 * K);
    for (let c = 0; c < 10; c++) for (let p = 0; p < PER_CLASS; p++) emb[c * K + c * PER_CLASS + p] = 20;
    const e = tf.layers.embedding({ inputDim: 10, outputDim: K, name: 'label_embedding', weights: [tf.tensor2d(emb, [10, K])] }).apply(label) as tf.SymbolicTensor;
    const flat = tf.layers.flatten({ name: 'label_flat' }).apply(e) as tf.SymbolicTensor;
    logits = tf.layers.add({ name: 'z_label' }).apply([logits, flat]) as tf.SymbolicTensor;
  }
  let x = tf.layers.activation({ activation: 'softmax', name: 'weights' }).apply(logits) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 784, useBias: false, name: 'project', weights: [tf.tensor2d(protos, [K, 784])] }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reshape({ targetShape: [28, 28, 1], name: 'reshape' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'tanh', name: 'image' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: inputs.length === 1 ? z : inputs, outputs: x, name: 'generator' });
}

export interface FixtureOptions {
  /** Where Fashion-MNIST is (default: the usual search, i.e. the repo copy). */
  dataDir?: string;
  /** Also render history.png (vega, ~1 s). */
  historyPng?: boolean;
  /** Steps per epoch and epochs of the fake history. */
  stepsPerEpoch?: number;
  epochs?: number;
}

/**
 * Writes `runsDir/fmnist-tiny` (unconditional) and `runsDir/fmnist-cond` (conditional, still
 * "training": a live .lock) plus `runsDir/fmnist-tiny/compare.md`.
 */
export async function makeFixtureRuns(runsDir: string, opts: FixtureOptions = {}): Promise<string[]> {
  await initBackend('cpu');
  const data = await loadDataset({ dataset: 'fashion-mnist', dataDir: opts.dataDir, allowDownload: false });
  const n = Math.min(data.train.count, 6000);
  const protos = prototypes(data.train.images, data.train.labels, n, new Rng(3));
  const stepsPerEpoch = opts.stepsPerEpoch ?? 60;
  const epochs = opts.epochs ?? 6;
  const made: string[] = [];
  for (const [name, conditional] of [['fmnist-tiny', false], ['fmnist-cond', true]] as const) {
    const dir = path.join(runsDir, name);
    const paths = runPaths(dir);
    fs.mkdirSync(paths.samples, { recursive: true });
    const config = {
      version: 1,
      preset: conditional ? 'fmnist-cdcgan' : 'fmnist-lms',
      dataset: 'fashion-mnist',
      classFilter: null,
      classNames: CLASS_NAMES['fashion-mnist'],
      latentDim: LATENT,
      imageShape: [28, 28, 1],
      conditional,
      numClasses: 10,
      seed: 42,
      batchSize: 64,
      backend: 'cpu',
      trainCount: 60000,
      stepsPerEpoch,
      createdAt: new Date('2025-01-01T00:00:00Z').toISOString(),
      command: `fashion-gan train --preset ${conditional ? 'fmnist-cdcgan' : 'fmnist-lms'}`,
    };
    fs.writeFileSync(paths.config, `${JSON.stringify(config, null, 2)}\n`);
    const gen = buildFixtureGenerator(protos, conditional);
    await gen.save(new FileModelIO(paths.generator));

    // A plausible GAN history: D's loss settles, G's climbs a little, fake accuracy drifts to ~0.5.
    const rng = new Rng(conditional ? 11 : 10);
    const rows: string[] = [];
    const total = stepsPerEpoch * epochs;
    for (let s = 1; s <= total; s++) {
      const t = s / total;
      const noise = () => (rng.nextFloat() - 0.5) * 0.25;
      rows.push(
        JSON.stringify({
          step: s,
          epoch: Math.ceil(s / stepsPerEpoch),
          gen_loss: 0.7 + 0.55 * (1 - Math.exp(-4 * t)) + noise(),
          disc_loss: 1.38 - 0.3 * (1 - Math.exp(-3 * t)) + noise() * 0.6,
          real_accuracy: Math.min(1, 0.55 + 0.25 * (1 - Math.exp(-5 * t)) + noise() * 0.3),
          fake_accuracy: Math.min(1, Math.max(0, 0.9 - 0.35 * t + noise() * 0.4)),
          seconds: s * 0.08,
        }),
      );
    }
    fs.writeFileSync(paths.history, `${rows.join('\n')}\n`);
    const metrics = Array.from({ length: epochs }, (_, e) => ({ step: (e + 1) * stepsPerEpoch, epoch: e + 1, imagesSeen: (e + 1) * stepsPerEpoch * 8, fd: 180 * Math.exp(-0.45 * e) + 20, kid: 0.2 * Math.exp(-0.5 * e) + 0.01, classifierScore: 2 + 5 * (1 - Math.exp(-0.6 * e)) }));
    fs.writeFileSync(paths.metrics, `${metrics.map((m) => JSON.stringify(m)).join('\n')}\n`);

    // Sample grids by epoch: the final designs emerging from noise, as in a real run.
    const z = tf.tensor2d(new Rng(99).normal(16 * LATENT), [16, LATENT]);
    const labels = tf.tensor2d(Float32Array.from({ length: 16 }, (_, i) => i % 10), [16, 1]);
    const final = (gen.predict(conditional ? [z, labels] : z) as tf.Tensor).dataSync();
    const noiseRng = new Rng(5);
    const noise = noiseRng.normal(final.length);
    for (let e = 1; e <= epochs; e++) {
      const a = e / epochs;
      const px = new Uint8Array(final.length);
      for (let i = 0; i < px.length; i++) {
        const v = Math.tanh(a * Math.atanh(Math.max(-0.999, Math.min(0.999, final[i]!))) + (1 - a) * noise[i]! * 1.2);
        px[i] = Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
      }
      writeSampleGrid(path.join(paths.samples, sampleFileName(e, e * stepsPerEpoch)), px, [28, 28, 1]);
    }
    tf.dispose([z, labels]);
    gen.dispose();
    writeProgressGif(paths);
    if (opts.historyPng) await writeHistoryPng(paths, name);
    if (conditional) fs.writeFileSync(paths.lock, `${process.pid}\n`);
    else {
      // A finished run: its history last changed a while ago.
      const old = new Date(Date.now() - 3 * 3600_000);
      fs.utimesSync(paths.history, old, old);
    }
    made.push(dir);
  }
  fs.writeFileSync(
    path.join(runsDir, 'fmnist-tiny', 'compare.md'),
    [
      '# fmnist-tiny vs fmnist-cond',
      '',
      '| run | preset | steps | FD ↓ | KID ↓ | classifier score ↑ |',
      '|---|---|---:|---:|---:|---:|',
      `| fmnist-tiny | fmnist-lms | ${stepsPerEpoch * epochs} | 31.9 | 0.026 | 6.7 |`,
      `| fmnist-cond | fmnist-cdcgan | ${stepsPerEpoch * epochs} | 29.4 | 0.022 | 6.9 |`,
      '',
      'Both runs are fixtures made by test/fixture-runs.ts, not real training.',
      '',
    ].join('\n'),
  );
  return made;
}
