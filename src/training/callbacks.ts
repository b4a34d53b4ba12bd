import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { GridLabels } from '../output/caption';
import type { Image8 } from '../output/image';
import type { RunConfig } from '../run/config';
import { sampleFileName } from '../run/paths';
import { deriveSeed, Rng, STREAM } from '../util/rng';
import { exportGenerator, samplePixels, writeHistoryPng, writeProgressGif, writeSampleGrid } from './artifacts';
import { saveCheckpoint } from './checkpoint';
import type { TrainingEvaluator } from './options';
import { checkpointTensors } from './gan';
import type { TrainingSession } from './session';
import type { StepStats } from './step';

/** What the loop tells callbacks after a step. */
export interface StepEvent {
  /** the step just taken (from 1) */
  step: number;
  /** its epoch (from 1) */
  epoch: number;
  /** the step ended an epoch */
  epochEnd: boolean;
  /** the last step of this invocation (target, time or a stop request) */
  finishing: boolean;
  stats: StepStats;
  /** training seconds of the whole run so far */
  seconds: number;
}

/**
 * Hooks into the training loop (after the keras DCGAN's GANMonitor): the loop trains, callbacks
 * save, sample, measure and draw. They run in order; `offClock` work (evaluation) is not
 * counted as training time.
 */
export interface TrainCallback {
  /** before the first step of this invocation */
  onStart?(run: TrainingSession): void | Promise<void>;
  /** after every step */
  onStep?(run: TrainingSession, e: StepEvent, clock: Clock): void | Promise<void>;
  /** after the last step of this invocation */
  onEnd?(run: TrainingSession, clock: Clock): void | Promise<void>;
}

/** The training clock: seconds of this invocation, without the time spent `off` it. */
export interface Clock {
  elapsedSec(): number;
  off<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * How a run's sample grid is laid out: 16 fixed latents 4 wide, or for a conditional model over
 * all classes one class per column (rows of numClasses latents, design i drawn as class
 * i mod numClasses, as `generate` and the app do).
 */
export function sampleGridLayout(config: Pick<RunConfig, 'recipe' | 'classFilter' | 'numClasses'>): { count: number; cols: number; byClass: boolean } {
  if (!config.recipe.conditional || config.classFilter !== null) return { count: 16, cols: 4, byClass: false };
  const cols = config.numClasses;
  return { count: cols * Math.ceil(16 / cols), cols, byClass: true };
}

/**
 * The sample grid of fixed latents: at step 0, every `sampleEvery` steps, each epoch end and the
 * last step, captioned with its step and epoch (and a conditional grid's classes).
 */
export function sampleGrids(): TrainCallback {
  let latents: Float32Array | null = null;
  const write = (run: TrainingSession, s: number) => {
    const { config, paths } = run;
    const { count, cols, byClass } = sampleGridLayout(config);
    latents ??= new Rng(deriveSeed(config.seed, STREAM.FIXED_LATENTS, 0)).normal(count * config.latentDim);
    const epochOfStep = s === 0 ? 0 : Math.floor((s - 1) / config.stepsPerEpoch) + 1;
    const labels = Float32Array.from({ length: count }, (_, i) => config.classFilter ?? i % config.numClasses);
    const extra = config.recipe.conditional ? [tf.tensor2d(labels, [count, 1])] : [];
    const kept = config.classFilter !== null ? ` · ${config.classNames[config.classFilter] ?? `class ${config.classFilter}`}` : '';
    const caption: GridLabels = {
      title: `${s === 0 ? 'step 0 · before training' : `step ${s.toLocaleString('en-US')} · epoch ${epochOfStep}`}${kept}`,
      ...(byClass ? { columns: Array.from({ length: cols }, (_, i) => config.classNames[i] ?? `class ${i}`) } : {}),
    };
    try {
      writeSampleGrid(path.join(paths.samples, sampleFileName(epochOfStep, s)), samplePixels(run.sampler(s), latents, config.latentDim, extra), config.imageShape, cols, caption);
    } finally {
      tf.dispose(extra);
    }
  };
  return {
    onStart(run) {
      if (run.step === 0) write(run, 0);
    },
    onStep(run, e) {
      if (e.epochEnd || e.step % run.cadence.sampleEvery === 0 || e.finishing) write(run, e.step);
    },
  };
}

/** metrics.jsonl: `evaluate` every `evalEvery` steps and at the last step, off the training clock. */
export function evaluation(evaluate: TrainingEvaluator): TrainCallback {
  return {
    async onStep(run, e, clock) {
      const every = run.cadence.evalEvery;
      if (!every || (e.step % every !== 0 && !e.finishing)) return;
      const { config, paths } = run;
      const metrics = await clock.off(() => evaluate(run.sampler(e.step), config));
      const row = { step: e.step, epoch: Math.floor(e.step / config.stepsPerEpoch), seconds: Number(e.seconds.toFixed(3)), imagesSeen: run.imagesSeenAt(e.step), ...metrics };
      fs.appendFileSync(paths.metrics, `${JSON.stringify(row)}\n`);
      run.log(`step ${e.step}: ${Object.entries(metrics).filter(([, v]) => typeof v === 'number').slice(0, 4).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`);
    },
  };
}

/**
 * The checkpoint (one atomic file: models, optimisers, step, history length), and with it the
 * exported generator, history.png and progress.gif — every `checkpointEvery` steps, each epoch
 * end, the last step, and at the end of an invocation that has not just saved.
 */
export function checkpoints(): TrainCallback {
  const gifFrames = new Map<string, Image8>();
  const save = async (run: TrainingSession, s: number, clock: Clock) => {
    const { config, paths, gan, history } = run;
    history.sync();
    const meta = { step: s, epoch: Math.floor(s / config.stepsPerEpoch), historyBytes: history.bytes, trainSeconds: run.secondsBefore + clock.elapsedSec(), seed: config.seed, savedAt: new Date().toISOString() };
    // The checkpoint goes last: a checkpoint at step s means everything of step s is written, so a
    // kill after the run's final checkpoint leaves nothing for a resume (which stops at once) to redo.
    await exportGenerator(run.sampler(s), paths.generator, { step: s, epoch: meta.epoch, imagesSeen: run.imagesSeenAt(s) });
    await writeHistoryPng(paths, `${config.preset} — ${run.runDir}`, run.historyRows);
    writeProgressGif(paths, undefined, gifFrames);
    fs.mkdirSync(paths.checkpointDir, { recursive: true });
    saveCheckpoint(paths.checkpoint, meta, checkpointTensors(gan).map(({ name, variable }) => ({ name, tensor: variable })));
    run.lastCheckpointStep = s;
  };
  return {
    async onStep(run, e, clock) {
      if (e.epochEnd || e.step % run.cadence.checkpointEvery === 0 || e.finishing) await save(run, e.step, clock);
    },
    async onEnd(run, clock) {
      if (run.lastCheckpointStep !== run.step || run.step === run.startStep) await save(run, run.step, clock);
    },
  };
}
