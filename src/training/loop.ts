import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { batchPixels, loadDataset, type Dataset, type DatasetName } from '../data/dataset';
import { UserError } from '../errors';
import type { Preset } from '../models/spec';
import { Rng, STREAM, deriveSeed } from '../util/rng';
import { ioError, writeFileAtomic } from '../util/atomic';
import { createGan, prepareSampler } from './gan';
import { exportGenerator, samplePixels, writeHistoryPng, writeProgressGif, writeSampleGrid } from './artifacts';
import { loadCheckpoint, restoreVariables, saveCheckpoint } from './checkpoint';
import { readRunConfig, type RunConfig } from '../run/config';
import { HistoryWriter, readJsonl } from '../run/jsonl';
import { acquireLock } from '../run/lock';
import { runPaths, sampleFileName } from '../run/paths';
import { trainStep, type Gan, type StepStats } from './step';
import type { HistoryRow } from '../output/chart';
import type { Image8 } from '../output/image';

/** Measures a run's sampling generator (e.g. `trainingEvaluator()` of src/metrics): metric name → value. */
export type TrainingEvaluator = (generator: tf.LayersModel, config: RunConfig) => Promise<Record<string, number>>;

export interface TrainOptions {
  /** A new run: the preset (already merged with the user's overrides) and where to write. */
  preset?: Preset;
  out?: string;
  /** Or continue the run in this folder. */
  resume?: string;
  dataDir?: string;
  /** Stop once this many steps have been taken in total (across resumes). */
  steps?: number;
  /** Or once this many epochs are complete in total. */
  epochs?: number;
  /** And in any case after this many minutes of this invocation. */
  minutes?: number;
  seed?: number;
  sampleEvery: number;
  checkpointEvery: number;
  /** The active TF.js backend's name (recorded in config.json). */
  backend: string;
  command: string;
  /** Called after every step (progress display). */
  onStep?: (p: Progress) => void;
  /** Called for messages worth a line of their own. */
  log?: (line: string) => void;
  /** Checked after every step: when it returns true the run checkpoints and stops. */
  shouldStop?: () => boolean;
  /** Evaluate every this many steps (and at the end) into metrics.jsonl. */
  evalEvery?: number;
  /** The evaluation: metrics of the sampling generator (e.g. `trainingEvaluator()` of src/metrics: fd, kid, …). */
  evaluate?: TrainingEvaluator;
}

export interface Progress {
  step: number;
  targetSteps: number;
  epoch: number;
  stepsPerEpoch: number;
  stats: StepStats;
  imagesPerSec: number;
  elapsedSec: number;
  etaSec: number;
}

export interface TrainResult {
  runDir: string;
  step: number;
  epoch: number;
  stoppedBy: 'target' | 'time' | 'signal';
  imagesPerSec: number;
}

/** Tensors saved in a checkpoint, by stable names. */
function checkpointTensors(gan: Gan) {
  const named = (prefix: string, vars: tf.Variable[]) => vars.map((variable, i) => ({ name: `${prefix}/${i}:${variable.shape.join('x')}`, variable }));
  const weights = (m: tf.LayersModel) => m.weights.map((w) => w.read() as tf.Variable);
  return [
    ...named('generator', weights(gan.generator)),
    ...named('discriminator', weights(gan.discriminator)),
    ...named('optG', gan.optG.slots()),
    ...named('optD', gan.optD.slots()),
    ...(gan.ema ? named('emaG', weights(gan.ema.target)) : []),
  ];
}

function configFor(preset: Preset, data: Dataset, seed: number, backend: string, command: string): RunConfig {
  return {
    version: 1,
    preset: preset.name,
    dataset: data.name,
    classFilter: data.classIndex,
    classNames: data.classNames,
    latentDim: preset.model.latentDim,
    imageShape: preset.model.imageShape,
    conditional: preset.recipe.conditional,
    numClasses: data.classNames.length,
    seed,
    batchSize: preset.batchSize,
    backend,
    model: preset.model,
    optimizerG: preset.optimizerG,
    optimizerD: preset.optimizerD,
    recipe: preset.recipe,
    trainCount: data.train.count,
    stepsPerEpoch: Math.ceil(data.train.count / preset.batchSize),
    createdAt: new Date().toISOString(),
    command,
  };
}

/**
 * Trains a GAN into a run folder, or continues one. The run folder ends up with config.json,
 * history.jsonl, samples/, history.png, progress.gif, checkpoint/ and generator/.
 * Steps are numbered from 1; step k uses batch k of the epoch's seeded shuffle and its own RNG,
 * so N steps + resume + M steps equals N + M steps straight.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const log = opts.log ?? (() => {});
  if (!!opts.resume === !!opts.out) throw new UserError('give either --out (a new run) or --resume (an existing run)');
  const runDir = (opts.resume || opts.out)!;
  if (!runDir) throw new UserError('--out/--resume: the run folder name is empty');
  if (fs.existsSync(runDir) && !fs.statSync(runDir).isDirectory()) throw new UserError(`${opts.resume ? '--resume' : '--out'} ${runDir}: not a folder`);
  const paths = runPaths(runDir);
  let config: RunConfig;
  let data: Dataset;

  if (opts.resume) {
    if (!fs.existsSync(runDir)) throw new UserError(`--resume ${runDir}: no such run folder`);
    config = readRunConfig(paths.config);
    if (opts.seed !== undefined && opts.seed !== config.seed) throw new UserError(`--seed ${opts.seed}: the run was started with seed ${config.seed}; a resume keeps it`);
    data = await loadDataset({ dataset: config.dataset as DatasetName, dataDir: opts.dataDir, classFilter: config.classFilter ?? undefined });
    if (data.train.count !== config.trainCount) throw new UserError(`--resume ${runDir}: the data set now has ${data.train.count} training images, the run was started with ${config.trainCount}`);
  } else {
    const preset = opts.preset!;
    if (fs.existsSync(paths.config)) throw new UserError(`--out ${runDir}: already holds a run; continue it with --resume ${runDir} or choose another folder`);
    data = await loadDataset({ dataset: preset.dataset, dataDir: opts.dataDir, classFilter: preset.classFilter ?? undefined });
    if (data.train.count === 0) throw new UserError('the training set is empty after the class filter');
    config = configFor(preset, data, opts.seed ?? 0, opts.backend, opts.command);
  }

  try {
    fs.mkdirSync(runDir, { recursive: true });
  } catch (err) {
    throw ioError(err, runDir);
  }
  const release = acquireLock(paths.lock);
  const disposers: (() => void)[] = [release];
  try {
    if (!opts.resume) writeFileAtomic(paths.config, `${JSON.stringify(config, null, 2)}\n`);
    log(`data: ${data.name}${data.classIndex !== null ? ` (${data.classNames[data.classIndex]})` : ''}, ${data.train.count} images from ${data.source}`);

    const gan = createGan({ ...config, numClasses: config.numClasses });
    disposers.push(() => gan.dispose());
    const { recipe } = config;
    /** Training images seen after step s (the last batch of an epoch may be smaller). */
    const imagesSeenAt = (s: number) => Math.floor(s / config.stepsPerEpoch) * config.trainCount + (s % config.stepsPerEpoch) * config.batchSize;
    /** The sampling generator, readied once per step it is used at (samples, evaluation, export). */
    let readiedAt = -1;
    const sampler = (s: number) => {
      if (readiedAt !== s) prepareSampler(gan, config, s);
      readiedAt = s;
      return gan.ema?.target ?? gan.generator;
    };

    let step = 0;
    let historyBytes = 0;
    /** Training seconds before this invocation (history's `seconds` counts the whole run). */
    let secondsBefore = 0;
    const fromCheckpoint = !!opts.resume && fs.existsSync(paths.checkpoint);
    if (opts.resume && !fromCheckpoint) log(`no checkpoint in ${paths.checkpointDir} yet: starting ${runDir} over from step 0`);
    if (fromCheckpoint) {
      const ck = loadCheckpoint(paths.checkpoint);
      restoreVariables(paths.checkpoint, ck.tensors, checkpointTensors(gan));
      step = Number(ck.meta.step);
      historyBytes = Number(ck.meta.historyBytes);
      secondsBefore = Number(ck.meta.trainSeconds ?? 0);
      if (!Number.isInteger(step) || step < 0 || !Number.isInteger(historyBytes) || historyBytes < 0) throw new UserError(`${paths.checkpoint}: bad step or history length in its header`);
      gan.optG.step = step;
      gan.optD.step = step;
      log(`resumed ${runDir} at step ${step} (epoch ${Math.floor(step / config.stepsPerEpoch) + 1})`);
    }
    const history = new HistoryWriter(paths.history, historyBytes);
    disposers.push(() => history.close());
    // The chart is redrawn at every checkpoint from these rows and grids, not from the files.
    const historyRows = historyBytes > 0 ? readJsonl<HistoryRow>(paths.history) : [];
    const gifFrames = new Map<string, Image8>();
    // metrics.jsonl may hold rows past the checkpoint (a crash after an evaluation): drop them.
    if (opts.resume && fs.existsSync(paths.metrics)) {
      const kept = readJsonl<{ step: number }>(paths.metrics).filter((m) => m.step <= step);
      writeFileAtomic(paths.metrics, kept.map((m) => `${JSON.stringify(m)}\n`).join(''));
    }
    const evaluate = async (s: number, seconds: number) => {
      if (!opts.evaluate) return;
      const metrics = await opts.evaluate(sampler(s), config);
      fs.appendFileSync(paths.metrics, `${JSON.stringify({ step: s, epoch: Math.floor(s / config.stepsPerEpoch), seconds: Number(seconds.toFixed(3)), imagesSeen: imagesSeenAt(s), ...metrics })}\n`);
      log(`step ${s}: ${Object.entries(metrics).filter(([, v]) => typeof v === 'number').slice(0, 4).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`);
    };

    const { stepsPerEpoch, batchSize, latentDim } = config;
    const targetSteps = opts.steps ?? (opts.epochs !== undefined ? opts.epochs * stepsPerEpoch : Infinity);
    if (!Number.isFinite(targetSteps) && opts.minutes === undefined) throw new UserError('say how long to train: --steps, --epochs or --minutes');
    if (targetSteps <= step) log(`the run is already at step ${step}; target ${targetSteps} reached`);

    const fixedLatents = new Rng(deriveSeed(config.seed, STREAM.FIXED_LATENTS, 0)).normal(16 * latentDim);
    // A conditional grid walks through the classes (the kept class when --class is given).
    const fixedLabels = Float32Array.from({ length: 16 }, (_, i) => config.classFilter ?? i % config.numClasses);
    const sample = (s: number) => {
      const epochOfStep = s === 0 ? 0 : Math.floor((s - 1) / stepsPerEpoch) + 1;
      const file = path.join(paths.samples, sampleFileName(epochOfStep, s));
      const extra = recipe.conditional ? [tf.tensor2d(fixedLabels, [16, 1])] : [];
      try {
        writeSampleGrid(file, samplePixels(sampler(s), fixedLatents, latentDim, extra), config.imageShape);
      } finally {
        tf.dispose(extra);
      }
    };
    const checkpoint = async (s: number) => {
      history.sync();
      saveCheckpoint(paths.checkpoint, { step: s, epoch: Math.floor(s / stepsPerEpoch), historyBytes: history.bytes, trainSeconds: secondsBefore + (Date.now() - started - evalMs) / 1000, seed: config.seed, savedAt: new Date().toISOString() }, checkpointTensors(gan).map(({ name, variable }) => ({ name, tensor: variable })));
      await exportGenerator(sampler(s), paths.generator, { step: s, epoch: Math.floor(s / stepsPerEpoch), imagesSeen: imagesSeenAt(s) });
      await writeHistoryPng(paths, `${config.preset} — ${runDir}`, historyRows);
      writeProgressGif(paths, undefined, gifFrames);
    };
    fs.mkdirSync(paths.checkpointDir, { recursive: true });
    if (step === 0) sample(0);

    let perm: Uint32Array | null = null;
    let permEpoch = -1;
    const started = Date.now();
    /** Milliseconds spent evaluating: not training time, so the clock leaves them out. */
    let evalMs = 0;
    const startStep = step;
    let stoppedBy: TrainResult['stoppedBy'] = 'target';
    let lastCheckpointStep = step;
    while (step < targetSteps) {
      const epoch = Math.floor(step / stepsPerEpoch);
      const inEpoch = step % stepsPerEpoch;
      if (permEpoch !== epoch) {
        perm = new Rng(deriveSeed(config.seed, STREAM.SHUFFLE, epoch)).shuffle(Uint32Array.from({ length: data.train.count }, (_, i) => i));
        permEpoch = epoch;
      }
      const indices = perm!.subarray(inEpoch * batchSize, Math.min((inEpoch + 1) * batchSize, data.train.count));
      const rng = new Rng(deriveSeed(config.seed, STREAM.STEP, step));
      const z = rng.normal(indices.length * latentDim);
      const real = tf.tensor4d(batchPixels(data.train, indices), [indices.length, ...config.imageShape]);
      const zT = tf.tensor2d(z, [indices.length, latentDim]);
      const labels = recipe.conditional ? tf.tensor2d(Float32Array.from(indices, (i) => data.train.labels[i]!), [indices.length, 1]) : undefined;
      let stats: StepStats;
      try {
        stats = trainStep(gan, { real, z: zT, labels }, rng, recipe);
      } finally {
        tf.dispose([real, zT, ...(labels ? [labels] : [])]);
      }
      step += 1;
      const elapsedSec = (Date.now() - started - evalMs) / 1000;
      const bad = Object.entries(stats).find(([, v]) => !Number.isFinite(v));
      if (bad) {
        throw new UserError(`training diverged at step ${step}: ${bad[0]} is ${bad[1]}; the last good checkpoint (step ${lastCheckpointStep}) is kept in ${paths.checkpointDir}`);
      }
      const row = { step, epoch: epoch + 1, ...stats, seconds: Number((secondsBefore + elapsedSec).toFixed(3)) };
      history.append(row);
      historyRows.push(row);

      const imagesPerSec = ((step - startStep) * batchSize) / Math.max(elapsedSec, 1e-9);
      const remaining = Math.min(
        Number.isFinite(targetSteps) ? ((targetSteps - step) * elapsedSec) / (step - startStep) : Infinity,
        opts.minutes !== undefined ? opts.minutes * 60 - elapsedSec : Infinity,
      );
      opts.onStep?.({ step, targetSteps, epoch: epoch + 1, stepsPerEpoch, stats, imagesPerSec, elapsedSec, etaSec: Math.max(0, remaining) });

      const epochEnd = step % stepsPerEpoch === 0;
      const outOfTime = opts.minutes !== undefined && elapsedSec >= opts.minutes * 60;
      // Let the event loop run (signals such as Ctrl-C arrive as events), then check for a stop.
      await new Promise((resolve) => setImmediate(resolve));
      const signalled = opts.shouldStop?.() ?? false;
      const finishing = step >= targetSteps || outOfTime || signalled;
      if (epochEnd || step % opts.sampleEvery === 0 || finishing) sample(step);
      if (opts.evalEvery && (step % opts.evalEvery === 0 || finishing)) {
        const t0 = Date.now();
        await evaluate(step, secondsBefore + elapsedSec);
        evalMs += Date.now() - t0;
      }
      if (epochEnd || step % opts.checkpointEvery === 0 || finishing) {
        await checkpoint(step);
        lastCheckpointStep = step;
      }
      if (outOfTime && step < targetSteps) stoppedBy = 'time';
      if (signalled) stoppedBy = 'signal';
      if (outOfTime || signalled) break;
    }
    if (lastCheckpointStep !== step || step === startStep) await checkpoint(step);
    const elapsed = (Date.now() - started) / 1000;
    return { runDir, step, epoch: Math.floor(step / stepsPerEpoch), stoppedBy, imagesPerSec: ((step - startStep) * batchSize) / Math.max(elapsed, 1e-9) };
  } finally {
    for (const d of disposers.reverse()) d();
  }
}
