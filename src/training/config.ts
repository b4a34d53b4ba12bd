import * as fs from 'node:fs';
import { z } from 'zod';
import { UserError } from '../errors';
import { oneLine } from '../util/atomic';
import { ModelSpec, OptimizerSpec, Recipe } from '../models/spec';

/** config.json: everything needed to rebuild a run's models and continue it. */
export const RunConfig = z.object({
  version: z.literal(1),
  preset: z.string(),
  dataset: z.enum(['fashion-mnist', 'cifar10']),
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
});
export type RunConfig = z.infer<typeof RunConfig>;

/** Reads and validates `file` as a run's config.json. */
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
