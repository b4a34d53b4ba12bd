import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { UserError } from './errors';
import { loadModelArtifacts } from './backends/fileio';
import { labelledGridPng, type GridLabels } from './output/caption';
import { tileGrid, toPixels } from './output/image';
import { resolveClass } from './data/dataset';
import { generatorProvenance, gridScale, type GeneratorProvenance } from './training/artifacts';
import { readRunConfig, type RunConfig } from './run/config';
import { runPaths } from './run/paths';
import { PREDICT_BATCH } from './util/tensors';
import { Rng } from './util/rng';
import { writeFileAtomic } from './util/atomic';
import { encodeNpy } from './data/npy';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The shipped default model (same layout as a run folder: config.json + generator/). */
export const DEFAULT_MODEL_DIR = path.join(REPO_ROOT, 'models', 'fashion');

export interface LoadedGenerator {
  model: tf.LayersModel;
  config: RunConfig;
  runDir: string;
  latentDim: number;
  imageShape: [number, number, number];
  conditional: boolean;
  numClasses: number;
  classNames: string[];
  /** the step it was exported at (absent for generators exported before this was recorded) */
  provenance?: GeneratorProvenance;
}

/** Loads a run's exported generator (default: the shipped model in models/fashion). */
export async function loadGenerator(runDir?: string): Promise<LoadedGenerator> {
  const dir = runDir ?? DEFAULT_MODEL_DIR;
  if (!fs.existsSync(dir)) {
    throw new UserError(runDir ? `--run ${runDir}: no such run folder` : `no default model at ${DEFAULT_MODEL_DIR}; pass --run runs/NAME`);
  }
  const paths = runPaths(dir);
  const config = readRunConfig(paths.config);
  const artifacts = loadModelArtifacts(paths.generator);
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (err) {
    throw new UserError(`${paths.generatorModel}: not a loadable generator (${(err as Error).message.split('\n')[0]})`);
  }
  const out = model.outputs[0]!.shape;
  if (out.length !== 4 || out.slice(1).some((d, i) => d !== config.imageShape[i])) {
    model.dispose();
    throw new UserError(`${paths.generator}: outputs ${JSON.stringify(out)}, config.json says images are ${JSON.stringify(config.imageShape)}`);
  }
  return { model, config, runDir: dir, latentDim: config.latentDim, imageShape: config.imageShape, conditional: config.conditional, numClasses: config.numClasses, classNames: config.classNames, provenance: generatorProvenance(model) };
}

/**
 * Latent vectors for designs seed, seed+1, …: design i is `new Rng(seed + i).normal(latentDim)`
 * (the app uses the same rule). With `truncation` t (BigGAN's truncation trick), each coordinate
 * outside ±t is drawn again from the same generator until it falls inside: more typical designs,
 * less variety; coordinates already inside keep their values.
 */
export function latentsForSeeds(seed: number, count: number, latentDim: number, truncation?: number): Float32Array {
  if (truncation !== undefined && !(truncation > 0)) throw new Error(`latentsForSeeds: truncation must be > 0, got ${truncation}`);
  const out = new Float32Array(count * latentDim);
  for (let i = 0; i < count; i++) {
    const rng = new Rng((seed + i) >>> 0);
    const z = rng.normal(latentDim);
    if (truncation !== undefined) {
      for (let j = 0; j < latentDim; j++) while (Math.abs(z[j]!) > truncation) z[j] = rng.normal(1)[0]!;
    }
    out.set(z, i * latentDim);
  }
  return out;
}

/** Spherical interpolation between two latent vectors, `steps` points including both ends. */
export function slerpLatents(a: Float32Array, b: Float32Array, steps: number): Float32Array {
  const dim = a.length;
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const cos = a.reduce((s, x, i) => s + x * b[i]!, 0) / (norm(a) * norm(b));
  const omega = Math.acos(Math.min(1, Math.max(-1, cos)));
  const out = new Float32Array(steps * dim);
  for (let k = 0; k < steps; k++) {
    const t = steps === 1 ? 0 : k / (steps - 1);
    const [wa, wb] = omega < 1e-6 ? [1 - t, t] : [Math.sin((1 - t) * omega) / Math.sin(omega), Math.sin(t * omega) / Math.sin(omega)];
    for (let d = 0; d < dim; d++) out[k * dim + d] = wa * a[d]! + wb * b[d]!;
  }
  return out;
}

/**
 * Runs the generator in inference mode on latents (and class labels for a conditional model;
 * without labels a conditional model draws the classes in turn, 0, 1, …, so samples are balanced).
 * @returns images [n, H, W, C] in [-1, 1]
 */
export function generateBatch(gen: LoadedGenerator, latents: Float32Array, labels?: Int32Array): tf.Tensor4D {
  const n = latents.length / gen.latentDim;
  return tf.tidy(() => {
    const z = tf.tensor2d(latents, [n, gen.latentDim]);
    if (gen.conditional) {
      if (labels && labels.length !== n) throw new Error('generateBatch: a conditional generator needs one label per latent');
      const y = labels ? Float32Array.from(labels) : Float32Array.from({ length: n }, (_, i) => i % gen.numClasses);
      return gen.model.predict([z, tf.tensor2d(y, [n, 1])], { batchSize: PREDICT_BATCH }) as tf.Tensor4D;
    }
    return gen.model.predict(z, { batchSize: PREDICT_BATCH }) as tf.Tensor4D;
  });
}

export interface GenerateOptions {
  run?: string;
  count: number;
  seed: number;
  out: string;
  interpolate: boolean;
  /** Class index for a conditional model (null: the classes in turn; for a strip, the app's switch halfway). */
  classIndex?: number | null;
  /** The class by name or index, checked against the model's data set (takes precedence over classIndex). */
  class?: string;
  /** Redraw latent coordinates outside ±truncation (see latentsForSeeds); none by default. */
  truncation?: number;
}

export interface GenerateResult {
  file: string;
  count: number;
  runDir: string;
  /** the design seeds drawn: seed … seed+count−1, or the strip's two ends */
  seeds: number[];
  /** each image's class name (conditional models), else null */
  classes: (string | null)[];
  /** with a .npy `out` and a conditional model: the class indices, one uint8 a design */
  labelsFile?: string;
}

/** `generate --out` names a NumPy array (the designs as uint8 [n, H, W] or [n, H, W, C]) rather than a PNG grid. */
export const isNpyPath = (file: string): boolean => file.toLowerCase().endsWith('.npy');

/** Where the class indices of `designs.npy` go: `designs-labels.npy`. */
export const npyLabelsPath = (file: string): string => `${file.slice(0, -'.npy'.length)}-labels.npy`;

/**
 * The classes of an interpolation strip of `count` frames between designs of class `a` and `b`:
 * the app's morph rule (src/app/explore.js) — frame k, at t = k / (count − 1), takes `a` while
 * t < 0.5 and `b` from there on.
 */
export function morphLabels(count: number, a: number, b: number): Int32Array {
  return Int32Array.from({ length: count }, (_, k) => {
    const t = count === 1 ? 0 : k / (count - 1);
    return t < 0.5 ? a : b;
  });
}

/**
 * Writes a PNG grid of new designs (seeds seed … seed+count−1), or with `interpolate` a strip
 * of `count` images walking from design `seed` to design `seed+1`. A conditional model draws
 * design i of a grid as class i mod numClasses (the app's rule), one class per column with the
 * class names above; `classIndex` keeps one class (named above the grid). Its strip goes from
 * design seed's class in such a grid (the first) to design seed+1's (the second), switching
 * halfway as the app's morph does, unless a class is given. An `out` ending in .npy gets the
 * same designs as a NumPy uint8 array instead (0–255, [n, H, W] or [n, H, W, C]), with a
 * conditional model's class indices beside it (`npyLabelsPath`).
 */
export async function generateToFile(opts: GenerateOptions): Promise<GenerateResult> {
  const gen = await loadGenerator(opts.run);
  try {
    const { count, seed } = opts;
    if (opts.class !== undefined && !gen.conditional) throw new UserError(`--class: the model in ${opts.run ?? DEFAULT_MODEL_DIR} is not class-conditional`);
    const classIndex = opts.class !== undefined ? resolveClass(gen.config.dataset, opts.class) : (opts.classIndex ?? null);
    const latents = opts.interpolate
      ? slerpLatents(latentsForSeeds(seed, 1, gen.latentDim, opts.truncation), latentsForSeeds(seed + 1, 1, gen.latentDim, opts.truncation), count)
      : latentsForSeeds(seed, count, gen.latentDim, opts.truncation);
    let labels: Int32Array | undefined;
    if (gen.conditional) {
      if (classIndex !== null) labels = new Int32Array(count).fill(classIndex);
      else if (opts.interpolate) labels = morphLabels(count, 0, 1 % gen.numClasses);
      else labels = Int32Array.from({ length: count }, (_, i) => i % gen.numClasses);
    }
    const images = generateBatch(gen, latents, labels);
    const pixels = toPixels(images.dataSync());
    images.dispose();
    const [h, w, c] = gen.imageShape;
    const name = (l: number) => gen.classNames[l] ?? `class ${l}`;
    const result = {
      file: opts.out,
      count,
      runDir: gen.runDir,
      seeds: opts.interpolate ? [seed, seed + 1] : Array.from({ length: count }, (_, i) => seed + i),
      classes: Array.from({ length: count }, (_, i) => (labels ? name(labels[i]!) : null)),
    };
    fs.mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
    if (isNpyPath(opts.out)) {
      writeFileAtomic(opts.out, encodeNpy(pixels, c === 1 ? [count, h, w] : [count, h, w, c]));
      if (!labels) return result;
      const labelsFile = npyLabelsPath(opts.out);
      writeFileAtomic(labelsFile, encodeNpy(Uint8Array.from(labels), [count]));
      return { ...result, labelsFile };
    }
    const byClassColumn = gen.conditional && classIndex === null && !opts.interpolate;
    const cols = opts.interpolate ? count : byClassColumn ? Math.min(count, gen.numClasses) : Math.ceil(Math.sqrt(count));
    const scale = gridScale(h);
    const grid = tileGrid(pixels, count, h, w, c as 1 | 3, cols, scale);
    const labelsAbove: GridLabels = !gen.conditional
      ? {}
      : byClassColumn
        ? { columns: Array.from({ length: cols }, (_, i) => name(i % gen.numClasses)) }
        : opts.interpolate && classIndex === null
          ? { title: `seed ${seed} → seed ${seed + 1}`, columns: Array.from(labels!, name) }
          : opts.interpolate
            ? { title: `seed ${seed} → seed ${seed + 1} · ${name(classIndex!)}` }
            : { title: name(classIndex!) };
    writeFileAtomic(opts.out, labelledGridPng(grid, labelsAbove, { cellWidth: w * scale, pad: 2 }));
    return result;
  } finally {
    gen.model.dispose();
  }
}
