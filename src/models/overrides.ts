import { UserError } from '../errors';
import type { Preset, Recipe } from './spec';
import { Preset as PresetSchema } from './spec';

/** Model and optimiser knobs a user can turn from the command line, each one flag. */
export interface ModelOverrides {
  kernelSize?: number;
  leakySlope?: number;
  dropout?: number;
  batchNorm?: boolean;
  latentDim?: number;
  init?: 'glorot' | 'normal02';
  filtersScale?: number;
  /** Scale the generator's (or the discriminator's) hidden filters only, after filtersScale. */
  gFiltersScale?: number;
  dFiltersScale?: number;
  learningRate?: number;
  learningRateD?: number;
  beta1?: number;
  beta2?: number;
  batchSize?: number;
  recipe?: Partial<Recipe>;
}

/**
 * Applies overrides to a preset: kernel size to every convolution, dropout to every
 * discriminator block that has it (or all of them when the preset has none), batch norm to
 * every generator block but the output, filters scaled in every hidden block.
 */
export function applyOverrides(preset: Preset, o: ModelOverrides): Preset {
  const p = structuredClone(preset);
  const m = p.model;
  const gBlocks = m.generator.blocks;
  const hidden = gBlocks.slice(0, -1);
  if (o.kernelSize !== undefined) for (const b of [...gBlocks, ...m.discriminator.blocks]) b.kernel = o.kernelSize;
  if (o.leakySlope !== undefined) m.leakySlope = o.leakySlope;
  if (o.dropout !== undefined) {
    const withDropout = m.discriminator.blocks.filter((b) => b.dropout > 0);
    for (const b of withDropout.length ? withDropout : m.discriminator.blocks) b.dropout = o.dropout;
    if (m.discriminator.dropoutBeforeDense > 0) m.discriminator.dropoutBeforeDense = o.dropout;
  }
  if (o.batchNorm !== undefined) {
    for (const b of hidden) b.batchNorm = o.batchNorm;
    m.generator.project.batchNorm = o.batchNorm;
  }
  if (o.latentDim !== undefined) m.latentDim = o.latentDim;
  if (o.init !== undefined) for (const b of [...gBlocks, ...m.discriminator.blocks]) b.init = o.init;
  const scaleG = (o.filtersScale ?? 1) * (o.gFiltersScale ?? 1);
  const scaleD = (o.filtersScale ?? 1) * (o.dFiltersScale ?? 1);
  const scaled = (x: number) => (f: number) => Math.max(1, Math.round(f * x));
  if (scaleG !== 1) {
    for (const b of hidden) b.filters = scaled(scaleG)(b.filters);
    m.generator.project.shape[2] = scaled(scaleG)(m.generator.project.shape[2]);
  }
  if (scaleD !== 1) for (const b of m.discriminator.blocks) b.filters = scaled(scaleD)(b.filters);
  if (o.learningRate !== undefined) {
    p.optimizerG.learningRate = o.learningRate;
    p.optimizerD.learningRate = o.learningRate;
  }
  if (o.learningRateD !== undefined) p.optimizerD.learningRate = o.learningRateD;
  if (o.beta1 !== undefined) {
    p.optimizerG.beta1 = o.beta1;
    p.optimizerD.beta1 = o.beta1;
  }
  if (o.beta2 !== undefined) {
    p.optimizerG.beta2 = o.beta2;
    p.optimizerD.beta2 = o.beta2;
  }
  if (o.batchSize !== undefined) p.batchSize = o.batchSize;
  if (o.recipe) {
    for (const [k, v] of Object.entries(o.recipe)) if (v !== undefined) (p.recipe as Record<string, unknown>)[k] = v;
  }
  const changed = Object.entries({ ...o, recipe: undefined, ...(o.recipe ?? {}) }).filter(([, v]) => v !== undefined);
  if (changed.length) p.description += ` (overrides: ${changed.map(([k, v]) => `${k}=${v}`).join(', ')})`;
  if (p.recipe.classBatchNorm && !p.recipe.conditional) throw new UserError('--class-batch-norm needs a conditional model (--conditional)');
  if (p.recipe.auxClassifier > 0 && !p.recipe.conditional) throw new UserError('--aux-classifier needs a conditional model (--conditional)');
  const parsed = PresetSchema.safeParse(p);
  if (!parsed.success) throw new UserError(`bad model options: ${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}
