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
  learningRate?: number;
  learningRateD?: number;
  beta1?: number;
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
  if (o.filtersScale !== undefined) {
    const scale = (f: number) => Math.max(1, Math.round(f * o.filtersScale!));
    for (const b of hidden) b.filters = scale(b.filters);
    for (const b of m.discriminator.blocks) b.filters = scale(b.filters);
    m.generator.project.shape[2] = scale(m.generator.project.shape[2]);
  }
  if (o.learningRate !== undefined) {
    p.optimizerG.learningRate = o.learningRate;
    p.optimizerD.learningRate = o.learningRate;
  }
  if (o.learningRateD !== undefined) p.optimizerD.learningRate = o.learningRateD;
  if (o.beta1 !== undefined) {
    p.optimizerG.beta1 = o.beta1;
    p.optimizerD.beta1 = o.beta1;
  }
  if (o.batchSize !== undefined) p.batchSize = o.batchSize;
  if (o.recipe) {
    for (const [k, v] of Object.entries(o.recipe)) if (v !== undefined) (p.recipe as Record<string, unknown>)[k] = v;
  }
  const changed = Object.entries({ ...o, recipe: undefined, ...(o.recipe ?? {}) }).filter(([, v]) => v !== undefined);
  if (changed.length) p.description += ` (overrides: ${changed.map(([k, v]) => `${k}=${v}`).join(', ')})`;
  const parsed = PresetSchema.safeParse(p);
  if (!parsed.success) throw new UserError(`bad model options: ${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}
