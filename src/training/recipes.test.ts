import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeTinyFashion } from '../../test/fixtures';
import { initBackend } from '../backends/index';
import { unsortedSegmentSum } from '../backends/wasm/kernels';
import { generateToFile, loadGenerator, generateBatch } from '../generate';
import { buildGenerator } from '../models/builder';
import { SNDense } from '../models/layers';
import { applyOverrides } from '../models/overrides';
import { getPreset } from '../models/presets';
import { Rng } from '../util/rng';
import { exportGenerator } from './artifacts';
import { diffAugment } from './augment';
import { loadCheckpoint } from './checkpoint';
import { WeightEma } from './ema';
import { train, type TrainOptions } from './loop';
import { gradientPenalty } from './losses';
import { readJsonl } from '../run/jsonl';
import { runPaths } from '../run/paths';

const tmp = tempDir();
const dataDir = path.join(tmp.dir, 'data');
let backend = '';
const base = (extra: Partial<TrainOptions>): TrainOptions => ({ dataDir, sampleEvery: 100, checkpointEvery: 1000, backend, command: 'test', ...extra });
const tiny = (recipe: object) => applyOverrides(getPreset('fmnist-lms'), { filtersScale: 0.125, batchSize: 8, recipe });

beforeAll(async () => {
  backend = (await initBackend('wasm')).name;
  writeTinyFashion(dataDir, 40, 20);
});
afterAll(tmp.cleanup);

describe('recipes beyond the seed', () => {
  it.each([
    ['hinge', { loss: 'hinge' }],
    ['least squares with label smoothing', { loss: 'lsgan', labelSmoothing: 0.1 }],
    ['WGAN-GP', { loss: 'wgan-gp' }],
    ['spectral norm + EMA', { spectralNorm: true, ema: 0.9 }],
    ['DiffAugment', { diffAugment: ['translation', 'cutout', 'color'] }],
    ['class-conditional', { conditional: true }],
    ['class-conditional batch norm', { conditional: true, classBatchNorm: true }],
    ['auxiliary classifier', { conditional: true, spectralNorm: true, auxClassifier: 0.5 }],
  ])('%s trains with finite losses and no tensor leak', async (name, recipe) => {
    const counts: number[] = [];
    await train(base({ preset: tiny(recipe), out: path.join(tmp.dir, `r-${name.replace(/\W+/g, '-')}`), steps: 4, seed: 1, onStep: () => counts.push(tf.memory().numTensors) }));
    expect(counts[3]).toBe(counts[1]);
    const h = readJsonl<Record<string, number>>(runPaths(path.join(tmp.dir, `r-${name.replace(/\W+/g, '-')}`)).history);
    expect(h).toHaveLength(4);
    for (const row of h) for (const v of Object.values(row)) expect(Number.isFinite(v)).toBe(true);
  });

  it('resumes exactly with every recipe feature on (EMA with standing statistics, spectral norm, augmentation, conditioning, class batch norm, auxiliary classifier)', async () => {
    const preset = () => tiny({ loss: 'hinge', ema: 0.9, spectralNorm: true, diffAugment: ['translation', 'cutout', 'color'], conditional: true, classBatchNorm: true, auxClassifier: 0.5 });
    const a = path.join(tmp.dir, 'all-straight');
    const b = path.join(tmp.dir, 'all-split');
    await train(base({ preset: preset(), out: a, steps: 6, seed: 3 }));
    await train(base({ preset: preset(), out: b, steps: 3, seed: 3 }));
    await train(base({ resume: b, steps: 6 }));
    const ta = loadCheckpoint(runPaths(a).checkpoint).tensors;
    const tb = loadCheckpoint(runPaths(b).checkpoint).tensors;
    expect([...ta.keys()].some((k) => k.startsWith('emaG/'))).toBe(true);
    expect([...ta.keys()].some((k) => /^discriminator\/\d+:\d+x10$/.test(k))).toBe(true); // the class head's kernel [φ, 10]
    for (const [k, v] of ta) expect(Buffer.from(tb.get(k)!.values.buffer).equals(Buffer.from(v.values.buffer)), k).toBe(true);
    // the exported (EMA, standing-statistics) generators and the last grids match too
    for (const f of ['generator/weights.bin', 'samples/e0002-s00000006.png']) {
      expect(fs.readFileSync(path.join(b, f)).equals(fs.readFileSync(path.join(a, f))), f).toBe(true);
    }
  });

  it('a generator with class batch norm exports as a stock Layers model and draws per class', async () => {
    const dir = path.join(tmp.dir, 'r-class-conditional-batch-norm');
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'generator', 'model.json'), 'utf8')) as { modelTopology: { config: { layers: { class_name: string }[] } } };
    const classes = new Set(json.modelTopology.config.layers.map((l) => l.class_name));
    expect(classes.has('Multiply')).toBe(true);
    for (const c of classes) expect(['InputLayer', 'Embedding', 'Flatten', 'Concatenate', 'Dense', 'BatchNormalization', 'LeakyReLU', 'Reshape', 'Conv2DTranspose', 'Multiply', 'Add', 'Activation']).toContain(c);
    const gen = await loadGenerator(dir);
    const z = new Rng(1).normal(gen.latentDim);
    const out = generateBatch(gen, new Float32Array([...z, ...z]), Int32Array.from([2, 5]));
    const [x, y] = tf.split(out, 2).map((t) => t.dataSync());
    expect(Array.from(x!)).not.toEqual(Array.from(y!));
    tf.dispose(out);
    gen.model.dispose();
  });

  it('a conditional generator draws the class it is asked for', async () => {
    const dir = path.join(tmp.dir, 'r-class-conditional');
    const gen = await loadGenerator(dir);
    expect(gen.conditional).toBe(true);
    expect(gen.model.inputs).toHaveLength(2);
    const z = new Rng(1).normal(2 * gen.latentDim);
    const same = new Float32Array([...z.subarray(0, gen.latentDim), ...z.subarray(0, gen.latentDim)]);
    const out = generateBatch(gen, same, Int32Array.from([1, 7]));
    const [a, b] = tf.split(out, 2).map((t) => t.dataSync());
    expect(Array.from(a!)).not.toEqual(Array.from(b!)); // same z, other class, other image
    tf.dispose(out);
    gen.model.dispose();
    await generateToFile({ run: dir, count: 4, seed: 0, out: path.join(tmp.dir, 'sneakers.png'), interpolate: false, classIndex: 7 });
  });
});

describe('recipe building blocks', () => {
  it('an exported generator holds no training-only layer: RunDropout is saved as stock Dropout, same outputs', async () => {
    const spec = structuredClone(getPreset('fmnist-lms').model);
    spec.generator.blocks[0]!.dropout = 0.25;
    const g = buildGenerator(applyOverrides({ ...getPreset('fmnist-lms'), model: spec }, { filtersScale: 0.125 }).model, 4);
    expect(g.layers.some((l) => l.getClassName() === 'RunDropout')).toBe(true);
    const dir = path.join(tmp.dir, 'exported-dropout');
    await exportGenerator(g, dir);
    const text = fs.readFileSync(path.join(dir, 'model.json'), 'utf8');
    expect(text).not.toContain('RunDropout');
    expect(text).toContain('"class_name":"Dropout"');
    const loaded = await tf.loadLayersModel(`file://${dir}/model.json`);
    const z = tf.tensor2d(new Rng(3).normal(2 * 100), [2, 100]);
    const [a, b] = [g, loaded].map((m) => (m.predict(z) as tf.Tensor).dataSync());
    expect(Array.from(b!)).toEqual(Array.from(a!));
    tf.dispose(z);
    g.dispose();
    loaded.dispose();
  });

  it("WGAN-GP's penalty is (‖w‖ − 1)² for a linear critic", () => {
    const w = tf.tensor4d(new Rng(2).normal(2 * 3 * 3 * 1), [1, 3, 3, 2]);
    const critic = (x: tf.Tensor) => tf.sum(tf.mul(x, w), [1, 2, 3]);
    const real = tf.randomNormal([4, 3, 3, 2]);
    const fake = tf.randomNormal([4, 3, 3, 2]);
    const gp = gradientPenalty(critic, real, fake, new Float32Array([0.1, 0.5, 0.7, 1])).dataSync()[0]!;
    const norm = Math.sqrt(w.square().sum().dataSync()[0]!);
    expect(gp).toBeCloseTo((norm - 1) ** 2, 4);
    tf.dispose([w, real, fake]);
  });

  it('spectral norm brings the largest singular value to 1', () => {
    const layer = new SNDense({ units: 5, useBias: false, kernelInitializer: tf.initializers.randomNormal({ seed: 3, stddev: 3 }), uSeed: 4 });
    const x = tf.eye(7);
    for (let i = 0; i < 30; i++) tf.dispose(layer.apply(x, { training: true }) as tf.Tensor); // power iterations
    const wsn = layer.apply(x, { training: false }) as tf.Tensor; // = the normalised kernel itself
    // largest singular value of wsn by many power iterations in plain JS
    const m = Array.from(wsn.dataSync());
    let v = new Array(5).fill(1);
    let sigma = 0;
    for (let it = 0; it < 200; it++) {
      const u = Array.from({ length: 7 }, (_, r) => v.reduce((s, vj, j) => s + m[r * 5 + j]! * vj, 0));
      const nv = Array.from({ length: 5 }, (_, j) => u.reduce((s, ur, r) => s + m[r * 5 + j]! * ur, 0));
      const n = Math.hypot(...nv);
      sigma = Math.sqrt(n);
      v = nv.map((a) => a / n);
    }
    expect(sigma).toBeCloseTo(1, 2);
    tf.dispose([x, wsn]);
    layer.dispose();
  });

  it('DiffAugment translation shifts pixels and passes gradients through', () => {
    const img = tf.tensor4d(Float32Array.from({ length: 2 * 8 * 8 }, (_, i) => i + 1), [2, 8, 8, 1]);
    const out = diffAugment(img, ['translation'], new Rng(5));
    const o = out.arraySync() as number[][][][];
    const src = img.arraySync() as number[][][][];
    for (let b = 0; b < 2; b++) {
      // find the shift from one kept pixel and check every pixel agrees with it (or is zero fill)
      let ok = true;
      let found: [number, number] | null = null;
      for (let y = 0; y < 8 && !found; y++) for (let x = 0; x < 8 && !found; x++) if (o[b]![y]![x]![0]! > 0) {
        const v = o[b]![y]![x]![0]! - 1 - b * 64;
        found = [y - Math.floor(v / 8), x - (v % 8)];
      }
      const [dy, dx] = found!;
      for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) {
        const sy = y - dy;
        const sx = x - dx;
        const want = sy >= 0 && sy < 8 && sx >= 0 && sx < 8 ? src[b]![sy]![sx]![0]! : 0;
        if (o[b]![y]![x]![0] !== want) ok = false;
      }
      expect(ok).toBe(true);
    }
    const g = tf.grad((x: tf.Tensor) => tf.sum(diffAugment(x as tf.Tensor4D, ['translation', 'cutout', 'color'], new Rng(6))))(img);
    expect(g.abs().sum().dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([img, out, g]);
  });

  it("EMA keeps d·old + (1 − d)·new of G's weights", () => {
    const spec = getPreset('fashion').model;
    const g = buildGenerator(spec, 1, { numClasses: 10, embedDim: 8 });
    const avg = buildGenerator(spec, 2, { numClasses: 10, embedDim: 8 });
    const ema = new WeightEma(g, avg, 0.75);
    const w = g.trainableWeights[0]!;
    const old = w.read().dataSync().slice(0, 4);
    w.write(tf.add(w.read(), 1));
    ema.update();
    const got = avg.trainableWeights[0]!.read().dataSync().slice(0, 4);
    old.forEach((o, i) => expect(got[i]).toBeCloseTo(o + 0.25, 5));
    // warm-up: at update t the decay is at most (1 + t) / (10 + t), here 2/11
    w.write(tf.add(w.read(), 11));
    ema.update(1);
    const warm = avg.trainableWeights[0]!.read().dataSync().slice(0, 4);
    old.forEach((o, i) => expect(warm[i]).toBeCloseTo((2 / 11) * (o + 0.25) + (9 / 11) * (o + 12), 4));
    g.dispose();
    avg.dispose();
  });

  it("the wasm backend's UnsortedSegmentSum agrees with the cpu backend", async () => {
    const x = new Rng(9).normal(6 * 3);
    const ids = Int32Array.from([2, 0, 2, 1, 5, 0]);
    const mine = unsortedSegmentSum(x, [6, 3], ids, 4);
    await tf.setBackend('cpu');
    const ref = tf.tidy(() => tf.unsortedSegmentSum(tf.tensor2d(x, [6, 3]), tf.tensor1d(ids, 'int32'), 4).dataSync());
    await tf.setBackend('wasm');
    const onWasm = tf.tidy(() => tf.unsortedSegmentSum(tf.tensor2d(x, [6, 3]), tf.tensor1d(ids, 'int32'), 4).dataSync());
    for (let i = 0; i < ref.length; i++) {
      expect(mine[i]).toBeCloseTo(ref[i]!, 5);
      expect(onWasm[i]).toBeCloseTo(ref[i]!, 5);
    }
  });
});
