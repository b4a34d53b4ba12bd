import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backends/index';
import { buildDiscriminator, buildGenerator, countParams } from './builder';
import { applyOverrides } from './overrides';
import { PRESETS, getPreset } from './presets';

beforeAll(async () => {
  await initBackend('cpu');
});

describe("the seed's four notebooks as presets", () => {
  const seedPresets = [...PRESETS.values()].filter((p) => p.seedParams);

  it('covers all four', () => {
    expect(seedPresets.map((p) => p.name).sort()).toEqual(['cifar-chollet4x4', 'cifar-kje3x3', 'cifar-lms', 'fmnist-lms']);
  });

  it.each(seedPresets.map((p) => [p.name, p] as const))('%s has the seed\'s parameter counts and image shape', (_, p) => {
    const g = buildGenerator(p.model, 1);
    const d = buildDiscriminator(p.model, 2);
    expect(countParams(g)).toBe(p.seedParams!.generator);
    expect(countParams(d)).toBe(p.seedParams!.discriminator);
    expect(g.outputs[0]!.shape.slice(1)).toEqual(p.model.imageShape);
    expect(d.outputs[0]!.shape).toEqual([null, 1]);
    g.dispose();
    d.dispose();
  });

  it('initialises weights from the seed: same seed, same weights; other seed, other weights', () => {
    const p = getPreset('cifar-chollet4x4');
    const w = (seed: number) => {
      const g = buildGenerator(p.model, seed);
      const v = g.weights[0]!.read().dataSync().slice(0, 50);
      g.dispose();
      return Array.from(v);
    };
    expect(w(5)).toEqual(w(5));
    expect(w(5)).not.toEqual(w(6));
  });

  it("turns the seed's kernel experiment into one flag", () => {
    const p = applyOverrides(getPreset('cifar-lms'), { kernelSize: 4 });
    expect([...p.model.generator.blocks, ...p.model.discriminator.blocks].every((b) => b.kernel === 4)).toBe(true);
    const g = buildGenerator(p.model, 1);
    expect(g.outputs[0]!.shape.slice(1)).toEqual([32, 32, 3]);
    g.dispose();
  });

  it('widens one network at a time: --g-filters-scale and --d-filters-scale', () => {
    const base = getPreset('fashion');
    const wide = applyOverrides(base, { gFiltersScale: 2, dFiltersScale: 1.5 });
    expect(wide.model.generator.project.shape).toEqual([7, 7, 256]);
    expect(wide.model.generator.blocks.map((b) => b.filters)).toEqual([128, 64, 1]); // the output keeps its channel
    expect(wide.model.discriminator.blocks.map((b) => b.filters)).toEqual([96, 192]);
    const both = applyOverrides(base, { filtersScale: 2, gFiltersScale: 0.5 });
    expect(both.model.generator.blocks.map((b) => b.filters)).toEqual([64, 32, 1]);
    expect(both.model.discriminator.blocks.map((b) => b.filters)).toEqual([128, 256]);
  });

  it('rejects an unknown preset, listing the known ones', () => {
    expect(() => getPreset('dcgan9')).toThrow(/--preset dcgan9: unknown preset \(allowed: fmnist-lms, cifar-lms/);
  });

  it('builds without leaking tensors', () => {
    const before = tf.memory().numTensors;
    const g = buildGenerator(getPreset('fmnist-lms').model, 3);
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
