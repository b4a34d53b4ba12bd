import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { UserError } from './errors';
import { loadModelArtifacts } from './backends/fileio';
import { encodePng, tileGrid, toPixels } from './output/image';
import { generatorProvenance, gridScale, type GeneratorProvenance } from './training/artifacts';
import { readRunConfig, type RunConfig } from './run/config';
import { runPaths } from './run/paths';
import { PREDICT_BATCH } from './util/tensors';
import { Rng } from './util/rng';
import { writeFileAtomic } from './util/atomic';

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

/** Latent vectors for designs seed, seed+1, …: design i is `new Rng(seed + i).normal(latentDim)` (the app uses the same rule). */
export function latentsForSeeds(seed: number, count: number, latentDim: number): Float32Array {
  const out = new Float32Array(count * latentDim);
  for (let i = 0; i < count; i++) out.set(new Rng((seed + i) >>> 0).normal(latentDim), i * latentDim);
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
  /** Class index for a conditional model (null: cycle through the classes). */
  classIndex?: number | null;
}

/**
 * Writes a PNG grid of new designs (seeds seed … seed+count−1), or with `interpolate` a strip
 * of `count` images walking from design `seed` to design `seed+1`.
 */
export async function generateToFile(opts: GenerateOptions): Promise<{ file: string; count: number; runDir: string }> {
  const gen = await loadGenerator(opts.run);
  try {
    const latents = opts.interpolate
      ? slerpLatents(latentsForSeeds(opts.seed, 1, gen.latentDim), latentsForSeeds(opts.seed + 1, 1, gen.latentDim), opts.count)
      : latentsForSeeds(opts.seed, opts.count, gen.latentDim);
    const labels = gen.conditional
      ? Int32Array.from({ length: opts.count }, (_, i) => (opts.classIndex ?? null) === null ? i % gen.numClasses : opts.classIndex!)
      : undefined;
    const images = generateBatch(gen, latents, labels);
    const pixels = toPixels(images.dataSync());
    images.dispose();
    const [h, w, c] = gen.imageShape;
    const cols = opts.interpolate ? opts.count : Math.ceil(Math.sqrt(opts.count));
    const grid = tileGrid(pixels, opts.count, h, w, c as 1 | 3, cols, gridScale(h));
    fs.mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
    writeFileAtomic(opts.out, encodePng(grid));
    return { file: opts.out, count: opts.count, runDir: gen.runDir };
  } finally {
    gen.model.dispose();
  }
}
