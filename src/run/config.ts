import * as fs from 'node:fs';
import { z } from 'zod';
import { DATASETS } from '../data/dataset';
import { UserError } from '../errors';
import { oneLine } from '../util/atomic';
import { RUN_FILES } from './paths';
import { ModelSpec, OptimizerSpec, Recipe } from '../models/spec';

/** How long a run trains: steps and epochs in total, minutes of training time in total (stop at the first reached). */
export const RunTarget = z.strictObject({
  steps: z.number().int().positive().optional(),
  epochs: z.number().int().positive().optional(),
  minutes: z.number().positive().optional(),
});
export type RunTarget = z.infer<typeof RunTarget>;

/** How often a run samples its grid, checkpoints (and exports), and evaluates. */
export const RunCadence = z.strictObject({
  sampleEvery: z.number().int().positive(),
  checkpointEvery: z.number().int().positive(),
  evalEvery: z.number().int().positive().optional(),
});
export type RunCadence = z.infer<typeof RunCadence>;

/** The learning rates' schedule: constant, then (from `lrDecayFrom`) linear to 0 at the target's last step. */
export const RunSchedule = z.strictObject({
  lrDecayFrom: z.number().int().nonnegative(),
});
export type RunSchedule = z.infer<typeof RunSchedule>;

/** A resume on another backend than the run last used: from that step on, results differ from a run that stayed. */
export const BackendChange = z.object({
  step: z.number().int().nonnegative(),
  from: z.string(),
  to: z.string(),
  at: z.string(),
});
export type BackendChange = z.infer<typeof BackendChange>;

/** Where a warm-started run's networks began: another run's checkpoint (`train --init-from`). */
export const InitFrom = z.strictObject({
  run: z.string(),
  step: z.number().int().nonnegative(),
  preset: z.string(),
  /** training seconds of the source run at that checkpoint */
  trainSeconds: z.number().nonnegative(),
  imagesSeen: z.number().int().nonnegative(),
});
export type InitFrom = z.infer<typeof InitFrom>;

/** config.json: everything needed to rebuild a run's models and continue it (what `train` writes and reads). */
export const RunConfig = z.object({
  version: z.literal(1),
  preset: z.string(),
  dataset: z.enum(DATASETS),
  /** Index of the class kept, or null for all. */
  classFilter: z.number().int().min(0).max(9).nullable(),
  classNames: z.array(z.string()),
  latentDim: z.number().int().positive(),
  imageShape: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
  conditional: z.boolean(),
  numClasses: z.number().int().positive(),
  seed: z.number().int().min(0).max(0xffffffff),
  batchSize: z.number().int().positive(),
  backend: z.string(),
  model: ModelSpec,
  optimizerG: OptimizerSpec,
  optimizerD: OptimizerSpec,
  recipe: Recipe.prefault({}),
  trainCount: z.number().int().nonnegative(),
  stepsPerEpoch: z.number().int().positive(),
  createdAt: z.string(),
  command: z.string(),
  /** what a plain `--resume` continues to (runs made before it was recorded have none) */
  target: RunTarget.optional(),
  cadence: RunCadence.optional(),
  schedule: RunSchedule.optional(),
  /** resumes on another backend, in order; `backend` above is where the run started */
  backendChanges: z.array(BackendChange).optional(),
  initFrom: InitFrom.optional(),
});
export type RunConfig = z.infer<typeof RunConfig>;

/** Training images seen after step `s` (the last batch of an epoch may be smaller). */
export function imagesSeenAt(config: Pick<RunConfig, 'stepsPerEpoch' | 'trainCount' | 'batchSize'>, s: number): number {
  return Math.floor(s / config.stepsPerEpoch) * config.trainCount + (s % config.stepsPerEpoch) * config.batchSize;
}

/** Reads and validates `file` as a run's config.json (strict: training continues from it). */
export function readRunConfig(file: string): RunConfig {
  if (!fs.existsSync(file)) throw new UserError(`${file}: no such file (is this a run folder?)`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    // V8 quotes the offending text in the message, newlines and all: keep it to one line.
    throw new UserError(`${file}: not valid JSON (${oneLine((err as Error).message)})`);
  }
  const parsed = RunConfig.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(oneLine(`${file}: bad config: ${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`));
  }
  return parsed.data;
}

/**
 * The parts of a run's config.json the app needs. Lenient on purpose (passthrough, most fields
 * optional): a run written by an older or newer trainer still shows up in the dashboard.
 */
export const AppConfig = z
  .object({
    preset: z.string().optional(),
    dataset: z.enum(DATASETS),
    classFilter: z.number().int().min(0).max(9).nullable().optional(),
    classNames: z.array(z.string()).optional(),
    latentDim: z.number().int().positive().max(4096),
    imageShape: z.tuple([z.number().int().positive().max(256), z.number().int().positive().max(256), z.union([z.literal(1), z.literal(3)])]),
    conditional: z.boolean().optional(),
    numClasses: z.number().int().positive().max(1000).optional(),
    seed: z.number().optional(),
    batchSize: z.number().optional(),
    backend: z.string().optional(),
  })
  .passthrough();
export type AppConfig = z.infer<typeof AppConfig>;

/** `parseAppConfig`'s error for a folder without config.json (not a run, unless it has history). */
export const NO_CONFIG = `no ${RUN_FILES.config}`;

/** What the app makes of a config.json's text (null: the file is missing): the raw JSON, the lenient config, or why not. */
export function parseAppConfig(text: string | null): { raw: Record<string, unknown> | null; config: AppConfig | null; error: string | null } {
  if (text === null) return { raw: null, config: null, error: NO_CONFIG };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { raw: null, config: null, error: `${RUN_FILES.config} is not valid JSON (${(err as Error).message})` };
  }
  const parsed = AppConfig.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { raw: raw as Record<string, unknown>, config: null, error: `${RUN_FILES.config}: ${issue.path.join('.') || '(root)'}: ${issue.message}` };
  }
  return { raw: raw as Record<string, unknown>, config: parsed.data, error: null };
}
