import * as fs from 'node:fs';
import type * as tf from '@tensorflow/tfjs';
import { loadDataset, type Dataset } from '../data/dataset';
import { UserError } from '../errors';
import type { Preset } from '../models/spec';
import type { HistoryRow } from '../output/chart';
import { imagesSeenAt, readRunConfig, type RunCadence, type RunConfig, type RunSchedule, type RunTarget } from '../run/config';
import { HistoryWriter, readJsonl } from '../run/jsonl';
import { acquireLock } from '../run/lock';
import { runPaths, type RunPaths } from '../run/paths';
import { ioError, writeFileAtomic } from '../util/atomic';
import { loadCheckpoint, restoreVariables } from './checkpoint';
import { checkpointTensors, createGan, prepareSampler } from './gan';
import type { TrainOptions } from './options';
import type { Gan } from './step';
import { checkWarmStartSource, warmStart } from './warm-start';
import { describeTarget, resolveTarget, targetSteps } from './target';

/** Cadences of a run that did not say (the CLI's defaults). */
export const DEFAULT_CADENCE: RunCadence = { sampleEvery: 50, checkpointEvery: 200 };

/**
 * A run folder open for training: its config, data, models and the state a step advances.
 * Created by `openRun`, which holds the run's lock until `close`.
 */
export interface TrainingSession {
  runDir: string;
  paths: RunPaths;
  config: RunConfig;
  data: Dataset;
  gan: Gan;
  /** steps taken so far (the loop advances it) */
  step: number;
  /** the step this invocation started at */
  startStep: number;
  /** training seconds before this invocation (history's `seconds` counts the whole run) */
  secondsBefore: number;
  target: RunTarget;
  defaultedTarget: boolean;
  /** the step count the target stops at (Infinity when only time bounds it) */
  targetSteps: number;
  /** training seconds this invocation may take (Infinity when no time is set) */
  secondsBudget: number;
  cadence: RunCadence;
  /** the learning rates' schedule (none: constant) */
  schedule?: RunSchedule;
  history: HistoryWriter;
  /** history.jsonl's rows, kept in memory for the chart */
  historyRows: HistoryRow[];
  /** the step of the last checkpoint on disk */
  lastCheckpointStep: number;
  /** training images seen after step s (the last batch of an epoch may be smaller) */
  imagesSeenAt(s: number): number;
  /** the generator to sample at step s (the EMA with standing statistics, readied once per step) */
  sampler(s: number): tf.LayersModel;
  log(line: string): void;
  close(): void;
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

/** A learning-rate decay needs a step target beyond its start (it ends at the target's last step). */
function checkSchedule(schedule: RunSchedule | undefined, target: RunTarget, stepsPerEpoch: number): void {
  const total = targetSteps(target, stepsPerEpoch);
  if (schedule && !(Number.isFinite(total) && schedule.lrDecayFrom < total)) {
    throw new UserError(`--lr-decay-from ${schedule.lrDecayFrom}: the decay ends at the target's last step, so it needs a step or epoch target beyond it (the target is ${describeTarget(target)})`);
  }
}

/** The cadences of the options, where given, else `saved`. */
function cadenceOf(opts: TrainOptions, saved: RunCadence): RunCadence {
  const evalEvery = opts.evalEvery ?? saved.evalEvery;
  return { sampleEvery: opts.sampleEvery ?? saved.sampleEvery, checkpointEvery: opts.checkpointEvery ?? saved.checkpointEvery, ...(evalEvery !== undefined ? { evalEvery } : {}) };
}

/** The backend a run last trained on: where its last backend change went, else the one it started on. */
export function lastBackend(config: RunConfig): string {
  return config.backendChanges?.at(-1)?.to ?? config.backend;
}

/**
 * Opens a run folder for training: a new run (`preset` + `out`) or a resumed one (`resume`):
 * checks the options, loads the data, takes the lock, builds the models and restores the
 * checkpoint, cuts history.jsonl and metrics.jsonl back to it, and saves the run's target,
 * cadences and backend in config.json.
 */
export async function openRun(opts: TrainOptions): Promise<TrainingSession> {
  const log = opts.log ?? (() => {});
  if (!!opts.resume === !!opts.out) throw new UserError('give either --out (a new run) or --resume (an existing run)');
  if (opts.initFrom && opts.resume) throw new UserError('--init-from starts a new run (--out); a resumed run continues from its own checkpoint');
  if (opts.initFrom) checkWarmStartSource(opts.initFrom);
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
    // Fails before the data loads when neither the options nor config.json say how long.
    resolveTarget(opts, config.target, true, { seconds: 0, step: 0, stepsPerEpoch: config.stepsPerEpoch });
    data = await loadDataset({ dataset: config.dataset, dataDir: opts.dataDir, classFilter: config.classFilter ?? undefined });
    if (data.train.count !== config.trainCount) throw new UserError(`--resume ${runDir}: the data set now has ${data.train.count} training images, the run was started with ${config.trainCount}`);
  } else {
    const preset = opts.preset!;
    if (fs.existsSync(paths.config)) throw new UserError(`--out ${runDir}: already holds a run; continue it with --resume ${runDir} or choose another folder`);
    data = await loadDataset({ dataset: preset.dataset, dataDir: opts.dataDir, classFilter: preset.classFilter ?? undefined });
    if (data.train.count === 0) throw new UserError('the training set is empty after the class filter');
    const { target } = resolveTarget(opts, undefined, false, { seconds: 0, step: 0, stepsPerEpoch: 1 });
    config = { ...configFor(preset, data, opts.seed ?? 0, opts.backend, opts.command), target, cadence: cadenceOf(opts, DEFAULT_CADENCE) };
    if (opts.lrDecayFrom !== undefined) {
      config.schedule = { lrDecayFrom: opts.lrDecayFrom };
      checkSchedule(config.schedule, target, config.stepsPerEpoch);
    }
  }

  try {
    fs.mkdirSync(runDir, { recursive: true });
  } catch (err) {
    throw ioError(err, runDir);
  }
  const disposers: (() => void)[] = [acquireLock(paths.lock)];
  const close = () => {
    for (const d of disposers.splice(0).reverse()) d();
  };
  try {
    log(`data: ${data.name}${data.classIndex !== null ? ` (${data.classNames[data.classIndex]})` : ''}, ${data.train.count} images from ${data.source}`);
    const gan = createGan({ ...config, numClasses: config.numClasses });
    disposers.push(() => gan.dispose());
    if (opts.initFrom) {
      const w = warmStart(gan, opts.initFrom);
      config = { ...config, initFrom: w.initFrom };
      log(`initialised from ${opts.initFrom} at step ${w.initFrom.step} (${w.initFrom.preset}): ${w.copied} weights copied${w.fresh.length ? `; new here: ${w.fresh.join(', ')}` : ''}`);
    }
    // Written once the networks exist: a bad model or --init-from leaves no config.json behind.
    if (!opts.resume) writeFileAtomic(paths.config, `${JSON.stringify(config, null, 2)}\n`);

    let step = 0;
    let historyBytes = 0;
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
    const historyRows = historyBytes > 0 ? readJsonl<HistoryRow>(paths.history) : [];
    // metrics.jsonl may hold rows past the checkpoint (a crash after an evaluation): drop them.
    if (opts.resume && fs.existsSync(paths.metrics)) {
      const kept = readJsonl<{ step: number }>(paths.metrics).filter((m) => m.step <= step);
      writeFileAtomic(paths.metrics, kept.map((m) => `${JSON.stringify(m)}\n`).join(''));
    }

    const { target, defaulted } = resolveTarget(opts, config.target, !!opts.resume, { seconds: secondsBefore, step, stepsPerEpoch: config.stepsPerEpoch });
    const cadence = cadenceOf(opts, config.cadence ?? DEFAULT_CADENCE);
    const total = targetSteps(target, config.stepsPerEpoch);
    let schedule = opts.lrDecayFrom !== undefined ? { lrDecayFrom: opts.lrDecayFrom } : config.schedule;
    if (opts.resume && opts.lrDecayFrom === undefined && schedule && !Number.isFinite(total)) {
      // `--resume DIR --minutes M` on a run that decayed: a time has no last step to decay to.
      log(`note: the run's learning-rate decay (from step ${schedule.lrDecayFrom}) needs a step or epoch target; for ${describeTarget(target)} it trains at the full learning rate (to decay again: --steps N --lr-decay-from STEP)`);
      schedule = undefined;
    }
    checkSchedule(schedule, target, config.stepsPerEpoch);
    if (opts.resume) {
      const before = lastBackend(config);
      const changes = [...(config.backendChanges ?? [])];
      if (before !== opts.backend) {
        // Runs saved before backends named their GEMM record just 'native': which one is unknown.
        const unnamed = opts.backend.startsWith(`${before} (`);
        log(unnamed
          ? `note: this run recorded its backend as ${before} without naming the GEMM; it continues on ${opts.backend}, bit-identical to before only if that was the GEMM it used`
          : `note: this run trained on ${before} until step ${step}; it continues on ${opts.backend}, so from here its results are not bit-identical to a run that stayed on ${before}`);
        changes.push({ step, from: before, to: opts.backend, at: new Date().toISOString() });
      }
      const { schedule: _saved, ...rest } = config;
      const updated: RunConfig = { ...rest, target, cadence, ...(schedule ? { schedule } : {}), ...(changes.length ? { backendChanges: changes } : {}) };
      // Written only when something changed: a plain resume leaves config.json as it was.
      if (JSON.stringify(updated) !== JSON.stringify(config)) writeFileAtomic(paths.config, `${JSON.stringify(updated, null, 2)}\n`);
      config = updated;
    }
    if (defaulted) log(`training to ${describeTarget(target)} (the default; --steps, --epochs or --minutes set another)`);

    let readiedAt = -1;
    return {
      runDir,
      paths,
      config,
      data,
      gan,
      step,
      startStep: step,
      secondsBefore,
      target,
      defaultedTarget: defaulted,
      targetSteps: total,
      secondsBudget: target.minutes !== undefined ? Math.max(0, target.minutes * 60 - secondsBefore) : Infinity,
      cadence,
      schedule,
      history,
      historyRows,
      lastCheckpointStep: step,
      imagesSeenAt: (s) => imagesSeenAt(config, s),
      sampler(s) {
        if (readiedAt !== s) prepareSampler(gan, config, s);
        readiedAt = s;
        return gan.ema?.target ?? gan.generator;
      },
      log,
      close,
    };
  } catch (err) {
    close();
    throw err;
  }
}
