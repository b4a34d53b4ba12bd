import { UserError } from '../errors';
import { BatchOrder } from './batches';
import { checkpoints, evaluation, sampleGrids, type Clock, type TrainCallback } from './callbacks';
import type { TrainOptions, TrainResult } from './options';
import { openRun } from './session';
import { trainStep, type StepStats } from './step';
import { lrScaleAt } from './target';

export type { Progress, TrainingEvaluator, TrainOptions, TrainResult } from './options';

/** Moving averages of the step statistics over the last `window` steps. */
function movingAverage(window: number) {
  const rows: StepStats[] = [];
  return {
    push(s: StepStats) {
      rows.push(s);
      if (rows.length > window) rows.shift();
    },
    value(): StepStats {
      const mean = (k: keyof StepStats) => rows.reduce((a, r) => a + r[k], 0) / Math.max(1, rows.length);
      return { gen_loss: mean('gen_loss'), disc_loss: mean('disc_loss'), real_accuracy: mean('real_accuracy'), fake_accuracy: mean('fake_accuracy') };
    },
  };
}

/**
 * Trains a GAN into a run folder, or continues one. The loop takes steps; callbacks write the
 * sample grids, metrics.jsonl, the checkpoint, the exported generator, history.png and
 * progress.gif. Steps are numbered from 1; step k uses batch k of the epoch's seeded shuffle and
 * its own RNG, so N steps + resume + M steps equals N + M steps straight.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const run = await openRun(opts);
  try {
    const callbacks: TrainCallback[] = [sampleGrids(), ...(opts.evaluate ? [evaluation(opts.evaluate)] : []), checkpoints(), ...(opts.callbacks ?? [])];
    const started = Date.now();
    let offMs = 0;
    const clock: Clock = {
      elapsedSec: () => (Date.now() - started - offMs) / 1000,
      async off(fn) {
        const t0 = Date.now();
        try {
          return await fn();
        } finally {
          offMs += Date.now() - t0;
        }
      },
    };
    const { config, gan, targetSteps, secondsBudget, startStep } = run;
    const { stepsPerEpoch, batchSize } = config;
    if (targetSteps <= run.step) run.log(`the run is already at step ${run.step}; target ${targetSteps} reached`);
    for (const c of callbacks) await c.onStart?.(run);

    const order = new BatchOrder(run.data, config);
    const recent = movingAverage(100);
    let stoppedBy: TrainResult['stoppedBy'] = 'target';
    while (run.step < targetSteps && !(secondsBudget <= 0)) {
      const epoch = Math.floor(run.step / stepsPerEpoch) + 1;
      const { batch, rng } = order.batch(run.step);
      gan.optG.lrScale = gan.optD.lrScale = lrScaleAt(run.step + 1, run.schedule?.lrDecayFrom, targetSteps);
      let stats: StepStats;
      try {
        stats = trainStep(gan, batch, rng, config.recipe);
      } finally {
        batch.real.dispose();
        batch.z.dispose();
        batch.labels?.dispose();
      }
      const step = ++run.step;
      const elapsedSec = clock.elapsedSec();
      const bad = Object.entries(stats).find(([, v]) => !Number.isFinite(v));
      if (bad) throw new UserError(`training diverged at step ${step}: ${bad[0]} is ${bad[1]}; the last good checkpoint (step ${run.lastCheckpointStep}) is kept in ${run.paths.checkpointDir}`);
      const row = { step, epoch, ...stats, seconds: Number((run.secondsBefore + elapsedSec).toFixed(3)) };
      run.history.append(row);
      run.historyRows.push(row);
      recent.push(stats);

      const imagesPerSec = ((step - startStep) * batchSize) / Math.max(elapsedSec, 1e-9);
      const remaining = Math.min(Number.isFinite(targetSteps) ? ((targetSteps - step) * elapsedSec) / (step - startStep) : Infinity, secondsBudget - elapsedSec);
      opts.onStep?.({ step, targetSteps, epoch, stepsPerEpoch, stats, imagesPerSec, elapsedSec, etaSec: Math.max(0, remaining) });

      const outOfTime = elapsedSec >= secondsBudget;
      // Let the event loop run (signals such as Ctrl-C arrive as events), then check for a stop.
      await new Promise((resolve) => setImmediate(resolve));
      const signalled = opts.shouldStop?.() ?? false;
      const finishing = step >= targetSteps || outOfTime || signalled;
      const event = { step, epoch, epochEnd: step % stepsPerEpoch === 0, finishing, stats, seconds: run.secondsBefore + elapsedSec };
      for (const c of callbacks) await c.onStep?.(run, event, clock);
      if (outOfTime && step < targetSteps) stoppedBy = 'time';
      if (signalled) stoppedBy = 'signal';
      if (outOfTime || signalled) break;
    }
    if (secondsBudget <= 0 && run.step < targetSteps) stoppedBy = 'time';
    for (const c of callbacks) await c.onEnd?.(run, clock);
    const elapsed = (Date.now() - started) / 1000;
    return {
      runDir: run.runDir,
      step: run.step,
      epoch: Math.floor(run.step / stepsPerEpoch),
      stoppedBy,
      imagesPerSec: ((run.step - startStep) * batchSize) / Math.max(elapsed, 1e-9),
      target: run.target,
      defaultedTarget: run.defaultedTarget,
      checkpointStep: run.lastCheckpointStep,
      imagesSeen: run.imagesSeenAt(run.step),
      final: recent.value(),
    };
  } finally {
    run.close();
  }
}
