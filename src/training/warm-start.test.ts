import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeTinyFashion } from '../../test/fixtures';
import { initBackend } from '../backends/index';
import { applyOverrides } from '../models/overrides';
import { getPreset } from '../models/presets';
import { readRunConfig } from '../run/config';
import { runPaths } from '../run/paths';
import { loadCheckpoint } from './checkpoint';
import { train, type TrainOptions } from './loop';
import { openRun } from './session';

const tmp = tempDir();
const dataDir = path.join(tmp.dir, 'data');
let backend = '';
const base = (extra: Partial<TrainOptions>): TrainOptions => ({ dataDir, sampleEvery: 100, checkpointEvery: 1000, backend, command: 'test', ...extra });
const recipe = { loss: 'hinge', ema: 0.9, spectralNorm: true, conditional: true, embedDim: 8 } as const;
const tiny = (extra: object = {}, filtersScale = 0.125) => applyOverrides(getPreset('fmnist-lms'), { filtersScale, batchSize: 8, recipe: { ...recipe, ...extra } });
const source = path.join(tmp.dir, 'source');

beforeAll(async () => {
  backend = (await initBackend('wasm')).name;
  writeTinyFashion(dataDir, 40, 20);
  await train(base({ preset: tiny(), out: source, steps: 5, seed: 1 }));
});
afterAll(tmp.cleanup);

const values = (t: tf.Tensor) => Array.from(t.dataSync());

describe('train --init-from (warm start)', () => {
  it('copies G, D, the EMA and Adam moments by layer name; a layer only the new recipe has stays as initialised', async () => {
    const out = path.join(tmp.dir, 'warm');
    const before = tf.memory().numTensors;
    const run = await openRun(base({ preset: tiny({ auxClassifier: 0.5 }), out, initFrom: source, steps: 1, seed: 2 }));
    const src = await openRun(base({ resume: source }));
    try {
      const pairs = (a: tf.LayersModel, b: tf.LayersModel) => a.weights.map((w) => [w, b.weights.find((x) => x.originalName === w.originalName)] as const);
      for (const [w, s] of pairs(run.gan.generator, src.gan.generator)) expect(values(w.read()), w.originalName).toEqual(values(s!.read()));
      for (const [w, s] of pairs(run.gan.ema!.target, src.gan.ema!.target)) expect(values(w.read()), w.originalName).toEqual(values(s!.read()));
      const d = pairs(run.gan.discriminator, src.gan.discriminator);
      expect(d.filter(([, s]) => !s).map(([w]) => w.originalName).sort()).toEqual(['aux_class/bias', 'aux_class/kernel', 'aux_class/sn_u']);
      for (const [w, s] of d) if (s) expect(values(w.read()), w.originalName).toEqual(values(s.read()));
      // Adam's moments follow their weights (the new head's stay 0); the step count starts over.
      const j = src.gan.optD.variables.findIndex((v) => v.originalName === 'conv1/kernel');
      const i = run.gan.optD.variables.findIndex((v) => v.originalName === 'conv1/kernel');
      expect(values(run.gan.optD.v[i]!)).toEqual(values(src.gan.optD.v[j]!));
      expect(values(run.gan.optD.m[i]!).some((x) => x !== 0)).toBe(true);
      const head = run.gan.optD.variables.findIndex((v) => v.originalName === 'aux_class/kernel');
      expect(values(run.gan.optD.m[head]!).every((x) => x === 0)).toBe(true);
      expect(run.gan.optD.step).toBe(0);
    } finally {
      run.close();
      src.close();
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(readRunConfig(runPaths(out).config).initFrom).toMatchObject({ run: source, step: 5, preset: 'fmnist-lms', imagesSeen: 40 });
  });

  it('a warm-started run resumes from its own checkpoint, bit for bit, with the source gone', async () => {
    const copy = path.join(tmp.dir, 'source-copy');
    fs.cpSync(source, copy, { recursive: true });
    const a = path.join(tmp.dir, 'warm-straight');
    const b = path.join(tmp.dir, 'warm-split');
    await train(base({ preset: tiny({ auxClassifier: 0.5 }), out: a, initFrom: copy, steps: 6, seed: 3 }));
    await train(base({ preset: tiny({ auxClassifier: 0.5 }), out: b, initFrom: copy, steps: 3, seed: 3 }));
    fs.rmSync(copy, { recursive: true });
    await train(base({ resume: b, steps: 6 }));
    const ta = loadCheckpoint(runPaths(a).checkpoint).tensors;
    const tb = loadCheckpoint(runPaths(b).checkpoint).tensors;
    expect(ta.size).toBe(tb.size);
    for (const [k, v] of ta) expect(Buffer.from(tb.get(k)!.values.buffer).equals(Buffer.from(v.values.buffer)), k).toBe(true);
  });

  it('refuses in one line a missing source, one without a checkpoint, other shapes, and --resume; leaves no run behind', async () => {
    const out = path.join(tmp.dir, 'refused');
    const attempt = (initFrom: string, preset = tiny()) => openRun(base({ preset, out, initFrom, steps: 1 }));
    await expect(attempt(path.join(tmp.dir, 'nope'))).rejects.toThrow(/^--init-from .*nope: no such run folder$/);
    fs.mkdirSync(path.join(tmp.dir, 'empty'));
    await expect(attempt(path.join(tmp.dir, 'empty'))).rejects.toThrow(/not a run folder \(no config\.json\)$/);
    expect(fs.existsSync(out)).toBe(false); // refused before the new run's folder is made
    await expect(attempt(source, tiny({}, 0.25))).rejects.toThrow(/G weight project\/kernel is [\d×]+ there and [\d×]+ here \(the two runs' layers must have the same shapes\)$/);
    expect(fs.existsSync(runPaths(out).config)).toBe(false);
    await expect(openRun(base({ resume: source, initFrom: source }))).rejects.toThrow(/--init-from starts a new run/);
  });
});
