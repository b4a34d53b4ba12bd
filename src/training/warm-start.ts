/**
 * Warm start (`train --init-from RUN`): a new run whose networks begin as another run's last
 * checkpoint — to continue a trained model under another recipe (say, with an auxiliary
 * classifier) rather than from random weights. Weights are matched by layer and weight name
 * (`conv1/kernel`, `deconv2_bn/moving_mean`, …), so layers the new recipe adds keep their
 * fresh initialisation; a weight both have with different shapes is an error. Adam's moments
 * come along for every matched trainable weight (the new run's step count, and so Adam's bias
 * correction and the EMA's warm-up, start again from 0: the first ≈ 1,000 steps take small
 * steps). The new run's own checkpoints hold everything after that, so its resumes never read
 * the source again.
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';
import { imagesSeenAt, readRunConfig, type InitFrom, type RunConfig } from '../run/config';
import { runPaths, type RunPaths } from '../run/paths';
import type { Adam } from './adam';
import { loadCheckpoint, restoreVariables } from './checkpoint';
import { checkpointTensors, createGan } from './gan';
import type { Gan } from './step';

type Named = Map<string, tf.LayerVariable>;
const byName = (m: tf.LayersModel): Named => new Map(m.weights.map((w) => [w.originalName, w]));

/** What a warm start copied, per network, and what it left as initialised. */
export interface WarmStartReport {
  initFrom: InitFrom;
  copied: number;
  fresh: string[];
}

/** Copies the run in `source`'s last checkpoint into `gan`, weight by weight (see above). */
export function warmStart(gan: Gan, source: string): WarmStartReport {
  const paths = checkWarmStartSource(source);
  const config: RunConfig = readRunConfig(paths.config);
  const ck = loadCheckpoint(paths.checkpoint);
  const src = createGan({ ...config, numClasses: config.numClasses });
  try {
    restoreVariables(paths.checkpoint, ck.tensors, checkpointTensors(src));
    const fresh: string[] = [];
    let copied = 0;
    const copy = (what: string, from: tf.LayersModel, to: tf.LayersModel): number => {
      const have = byName(from);
      const before = copied;
      for (const w of to.weights) {
        const s = have.get(w.originalName);
        if (!s) {
          fresh.push(`${what} ${w.originalName}`);
          continue;
        }
        const [a, b] = [s.shape.join('×'), w.shape.join('×')];
        if (a !== b) throw new UserError(`--init-from ${source}: ${what} weight ${w.originalName} is ${a} there and ${b} here (the two runs' layers must have the same shapes)`);
        tf.tidy(() => {
          w.write(s.read().clone());
        });
        copied++;
      }
      return copied - before;
    };
    if (copy('G', src.generator, gan.generator) === 0) throw new UserError(`--init-from ${source}: its generator shares no weight with this one (another architecture?)`);
    copy('D', src.discriminator, gan.discriminator);
    // The new run's average starts from the source's average, or from its generator if it had none.
    if (gan.ema) copy('EMA G', src.ema?.target ?? src.generator, gan.ema.target);
    copyMoments(src.optG, gan.optG);
    copyMoments(src.optD, gan.optD);
    const step = Number(ck.meta.step);
    return { initFrom: { run: source, step, preset: config.preset, trainSeconds: Number(ck.meta.trainSeconds ?? 0), imagesSeen: imagesSeenAt(config, step) }, copied, fresh };
  } finally {
    src.dispose();
  }
}

/** Refuses, in one line, a source that is no run folder or has no checkpoint yet (cheap: before a run folder is made). */
export function checkWarmStartSource(source: string): RunPaths {
  const paths = runPaths(source);
  if (!fs.existsSync(source) || !fs.statSync(source).isDirectory()) throw new UserError(`--init-from ${source}: no such run folder`);
  if (!fs.existsSync(paths.config)) throw new UserError(`--init-from ${source}: not a run folder (no config.json)`);
  if (!fs.existsSync(paths.checkpoint)) throw new UserError(`--init-from ${source}: the run has no checkpoint yet (${paths.checkpoint})`);
  return paths;
}

/** Adam's m and v for each trainable weight both optimisers have (their shapes were checked with the weights). */
function copyMoments(from: Adam, to: Adam): void {
  const index = new Map(from.variables.map((v, i) => [v.originalName, i]));
  to.variables.forEach((v, i) => {
    const j = index.get(v.originalName);
    if (j === undefined) return;
    to.m[i]!.assign(from.m[j]!);
    to.v[i]!.assign(from.v[j]!);
  });
}
