/**
 * What a finished `train` invocation reports: the run's numbers at the end, and the command
 * that goes on from there (continue to the saved target, or extend a target that was reached).
 */
import * as path from 'node:path';
import type { RunConfig, RunTarget } from '../run/config';
import { runPaths } from '../run/paths';
import { listSamples } from '../run/samples';
import type { TrainResult } from '../training/options';
import { targetSteps } from '../training/target';

/** Why an invocation stopped: its target (or time budget) was reached, Ctrl-C, or its output was closed. */
export type StopReason = TrainResult['stoppedBy'] | 'output-closed';

export interface TrainingSummary {
  runDir: string;
  stoppedBy: StopReason;
  /** steps of the whole run, and epochs (fractional) and images they saw */
  step: number;
  epochs: number;
  imagesSeen: number;
  /** training speed of this invocation */
  imagesPerSec: number;
  /** wall time of this invocation */
  seconds: number;
  target: RunTarget;
  defaultedTarget: boolean;
  /** means of the losses and D's accuracies over the last `steps` steps (at most 100) */
  final: { steps: number; genLoss: number; discLoss: number; realAccuracy: number; fakeAccuracy: number };
  /** the newest sample grid, if any */
  lastGrid: string | null;
  /** the step the checkpoint holds (where --resume continues) */
  checkpointStep: number;
  /** true when the target is reached (the next command extends it) */
  targetReached: boolean;
  /** the flags for `train --resume DIR` that go on: none to continue to the target, else an extension */
  nextFlags: string;
  /** a run stopped by its time budget short of its step or epoch target: that target in steps (`--minutes` goes on toward it) */
  unreachedStepTarget?: number;
  /** a warm-started run: where its networks began (their images and training time come before this run's) */
  initFrom?: RunConfig['initFrom'];
}

/**
 * Flags that extend a reached target by as much again: `--steps 2N` or `--epochs 2N` (whichever
 * stopped it), or `--minutes M` (M more minutes) for a run bounded by time.
 */
export function extensionFlags(target: RunTarget, stepsPerEpoch: number, byTime: boolean): string {
  if ((byTime || (target.steps === undefined && target.epochs === undefined)) && target.minutes !== undefined) return `--minutes ${Number(target.minutes.toFixed(2))}`;
  const bySteps = target.steps ?? Infinity;
  const byEpochs = target.epochs !== undefined ? target.epochs * stepsPerEpoch : Infinity;
  if (target.epochs !== undefined && byEpochs <= bySteps) return `--epochs ${target.epochs * 2}`;
  if (target.steps !== undefined) return `--steps ${target.steps * 2}`;
  return '--epochs 50';
}

/** The summary of an invocation that ended with `r` (`startStep`: where it began). */
export function trainingSummary(r: TrainResult, config: RunConfig, startStep: number, seconds: number, stoppedBy: StopReason = r.stoppedBy): TrainingSummary {
  const samples = listSamples(runPaths(r.runDir).samples);
  const last = samples.at(-1);
  const total = targetSteps(r.target, config.stepsPerEpoch);
  const reached = stoppedBy === 'target' || stoppedBy === 'time' || r.step >= total;
  return {
    runDir: r.runDir,
    stoppedBy,
    step: r.step,
    epochs: r.imagesSeen / Math.max(1, config.trainCount),
    imagesSeen: r.imagesSeen,
    imagesPerSec: r.imagesPerSec,
    seconds,
    target: r.target,
    defaultedTarget: r.defaultedTarget,
    final: { steps: Math.min(100, r.step - startStep), genLoss: r.final.gen_loss, discLoss: r.final.disc_loss, realAccuracy: r.final.real_accuracy, fakeAccuracy: r.final.fake_accuracy },
    lastGrid: last ? path.join(runPaths(r.runDir).samples, last.file) : null,
    checkpointStep: r.checkpointStep,
    targetReached: reached,
    nextFlags: reached ? extensionFlags(r.target, config.stepsPerEpoch, stoppedBy === 'time') : '',
    ...(stoppedBy === 'time' && Number.isFinite(total) && r.step < total ? { unreachedStepTarget: total } : {}),
    ...(config.initFrom ? { initFrom: config.initFrom } : {}),
  };
}
