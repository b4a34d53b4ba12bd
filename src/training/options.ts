import type * as tf from '@tensorflow/tfjs';
import type { Preset } from '../models/spec';
import type { RunConfig, RunTarget } from '../run/config';
import type { TrainCallback } from './callbacks';
import type { StepStats } from './step';

/** Measures a run's sampling generator (e.g. `trainingEvaluator()` of src/metrics): metric name → value. */
export type TrainingEvaluator = (generator: tf.LayersModel, config: RunConfig) => Promise<Record<string, number>>;

export interface TrainOptions {
  /** A new run: the preset (already merged with the user's overrides) and where to write. */
  preset?: Preset;
  out?: string;
  /** Or continue the run in this folder. */
  resume?: string;
  /** A new run's networks start from this run's last checkpoint (see warm-start.ts). */
  initFrom?: string;
  dataDir?: string;
  /**
   * How long: steps and epochs count the whole run; minutes are minutes of training (for a new
   * run, in total; with `resume`, this many more). None given: a new run trains 50 epochs, a
   * resumed one continues to the target its config.json saved.
   */
  steps?: number;
  epochs?: number;
  minutes?: number;
  /** From this step on, decay both learning rates linearly to 0 at the target's last step (needs a step or epoch target; saved). */
  lrDecayFrom?: number;
  seed?: number;
  /** Cadences (default: the resumed run's saved ones, else 50 and 200 steps; evaluation off). */
  sampleEvery?: number;
  checkpointEvery?: number;
  /** Evaluate every this many steps (and at the end) into metrics.jsonl, with `evaluate`. */
  evalEvery?: number;
  /** The evaluation: metrics of the sampling generator (e.g. `trainingEvaluator()` of src/metrics: fd, kid, …). */
  evaluate?: TrainingEvaluator;
  /** The active TF.js backend's name, with the details that change results (recorded in config.json). */
  backend: string;
  command: string;
  /** Called after every step (progress display). */
  onStep?: (p: Progress) => void;
  /** Called for messages worth a line of their own. */
  log?: (line: string) => void;
  /** Checked after every step: when it returns true the run checkpoints and stops. */
  shouldStop?: () => boolean;
  /** More callbacks, run after the built-in ones (samples, evaluation, checkpoints). */
  callbacks?: TrainCallback[];
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
  /** the target the run trains to (saved in config.json), and whether it was the default */
  target: RunTarget;
  defaultedTarget: boolean;
  /** the step of the last checkpoint (the run's state on disk) */
  checkpointStep: number;
  imagesSeen: number;
  /** moving averages (last 100 steps) of the losses and accuracies */
  final: StepStats;
}
