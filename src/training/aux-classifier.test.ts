import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backends/index';
import { applyOverrides } from '../models/overrides';
import { getPreset } from '../models/presets';
import type { Recipe } from '../models/spec';
import { Rng } from '../util/rng';
import { createGan } from './gan';
import { classCrossEntropy } from './losses';
import { trainStep, type Batch } from './step';

beforeAll(async () => {
  await initBackend('wasm');
});

const N = 16;

/** fmnist-lms narrowed 8×, hinge + spectral norm + projection, as the fashion preset trains. */
function gan(auxClassifier: number, lrD = 2e-4) {
  const recipe: Partial<Recipe> = { loss: 'hinge', spectralNorm: true, conditional: true, embedDim: 8, auxClassifier };
  const p = applyOverrides(getPreset('fmnist-lms'), { filtersScale: 0.125, batchSize: N, learningRateD: lrD, recipe });
  return { preset: p, gan: createGan({ model: p.model, recipe: p.recipe, optimizerG: p.optimizerG, optimizerD: p.optimizerD, numClasses: 10, seed: 4 }) };
}

/** Two classes anyone can tell apart: class 3 bright in the top half, class 8 in the bottom half. */
function batch(latentDim: number, rng: Rng): Batch {
  const labels = Array.from({ length: N }, (_, i) => (i % 2 ? 8 : 3));
  const pixels = new Float32Array(N * 28 * 28).fill(-1);
  labels.forEach((y, i) => {
    for (let r = y === 3 ? 0 : 14; r < (y === 3 ? 14 : 28); r++) for (let c = 4; c < 24; c++) pixels[i * 784 + r * 28 + c] = 0.6 + 0.3 * rng.nextFloat();
  });
  return { real: tf.tensor4d(pixels, [N, 28, 28, 1]), z: tf.tensor2d(rng.normal(N * latentDim), [N, latentDim]), labels: tf.tensor2d(labels, [N, 1]) };
}

describe('auxiliary classifier (AC-GAN term)', () => {
  it("D gets a class head [n, 10] beside its logit; the other weights start as without it", () => {
    const a = gan(0.5).gan;
    const b = gan(0).gan;
    expect(a.discriminator.outputs.map((o) => o.shape)).toEqual([[null, 1], [null, 10]]);
    expect(b.discriminator.outputs).toHaveLength(1);
    const names = (g: typeof a) => g.discriminator.weights.map((w) => w.originalName);
    expect(names(a).filter((n) => n.includes('aux_class')).length).toBeGreaterThan(0);
    expect(names(a).filter((n) => !n.includes('aux_class'))).toEqual(names(b));
    for (const w of b.discriminator.weights) {
      const twin = a.discriminator.weights.find((x) => x.originalName === w.originalName)!;
      expect(Array.from(twin.read().dataSync())).toEqual(Array.from(w.read().dataSync()));
    }
    a.dispose();
    b.dispose();
  });

  it("D learns real images' classes, G's update depends on the weight, and no tensor is left behind", () => {
    const { preset, gan: g } = gan(1, 2e-3);
    const rng = new Rng(9);
    const realCE = (bt: Batch) => tf.tidy(() => classCrossEntropy((g.discriminator.apply([bt.real, bt.labels!], { training: false }) as tf.Tensor[])[1]!, bt.labels!).dataSync()[0]!);
    const probe = batch(preset.model.latentDim, new Rng(1));
    const before = realCE(probe);
    const counts: number[] = [];
    for (let s = 0; s < 25; s++) {
      const bt = batch(preset.model.latentDim, rng);
      const stats = trainStep(g, bt, rng, preset.recipe);
      tf.dispose([bt.real, bt.z, bt.labels!]);
      for (const v of Object.values(stats)) expect(Number.isFinite(v)).toBe(true);
      counts.push(tf.memory().numTensors);
    }
    const after = realCE(probe);
    expect(before).toBeGreaterThan(1.5); // ≈ log 10 at initialisation
    expect(after).toBeLessThan(0.5 * before);
    expect(counts[24]).toBe(counts[1]);
    tf.dispose([probe.real, probe.z, probe.labels!]);
    g.dispose();

    // Same seed and batch, weights 0.5 and 2: G's first update differs, so the class term reaches G.
    const first = (w: number) => {
      const { preset: p, gan: h } = gan(w);
      const r = new Rng(2);
      const bt = batch(p.model.latentDim, r);
      trainStep(h, bt, r, p.recipe);
      const out = h.generator.getWeights().map((t) => Array.from(t.dataSync()));
      tf.dispose([bt.real, bt.z, bt.labels!]);
      h.dispose();
      return out;
    };
    expect(first(0.5)).not.toEqual(first(2));
  });
});
