import * as path from 'node:path';
import type { Command } from 'commander';
import type { BackendName } from '../../backends/index';
import { IMAGE_SHAPE, resolveClass, type DatasetName } from '../../data/dataset';
import { UserError } from '../../errors';
import { applyOverrides } from '../../models/overrides';
import { getPreset } from '../../models/presets';
import type { Preset } from '../../models/spec';
import { readRunConfig } from '../../run/config';
import { clearStaleLock } from '../../run/lock';
import { runPaths } from '../../run/paths';
import { planResume } from '../../report/runs';
import { trainingSummary, type StopReason, type TrainingSummary } from '../../report/training';
import { describeTarget } from '../../training/target';
import { formatDuration, progressReporter } from '../progress';
import { commandLine, onOutputClosed, output, plural, printJson, say, showPath, useBackend, withExamples } from '../shared';
import { addTrainOptions, applyConfigFile, clashingWithResume, modelOverrides } from '../train-options';

/** Exit code of a run stopped because its output was closed (128 + SIGPIPE, as a shell reports it). */
const EXIT_OUTPUT_CLOSED = 141;

/** The preset of a new run: the named one with the user's overrides, data set and class. */
function newRunPreset(cmd: Command): Preset {
  const o = cmd.opts();
  const base = getPreset(o.preset as string);
  const preset = applyOverrides(base, modelOverrides(cmd));
  if (o.dataset) {
    const ds = o.dataset as DatasetName;
    const [h, w, c] = IMAGE_SHAPE[ds];
    const [ph, pw, pc] = preset.model.imageShape;
    if (h !== ph || w !== pw || c !== pc) throw new UserError(`--dataset ${ds}: preset ${preset.name} makes ${ph}×${pw}×${pc} images, ${ds} has ${h}×${w}×${c} (pick a preset for ${ds})`);
    preset.dataset = ds;
    if (ds !== base.dataset) preset.classFilter = null;
  }
  if (o.class !== undefined) {
    resolveClass(preset.dataset, o.class as string);
    preset.classFilter = o.class as string;
  }
  return preset;
}

/** The end-of-training report on stderr: the numbers, the run folder, and what to run next. */
function report(s: TrainingSummary): void {
  const dir = showPath(s.runDir);
  const f = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : '—');
  const headline = { target: 'done', time: 'time budget reached', signal: 'interrupted', 'output-closed': 'output closed' }[s.stoppedBy];
  const epochs = Number(s.epochs.toFixed(s.epochs < 10 ? 2 : 1));
  const stats = s.final.steps > 0
    ? [
        `  final (mean of the last ${plural(s.final.steps, 'step')}): G loss ${f(s.final.genLoss, 3)} · D loss ${f(s.final.discLoss, 3)} · D accuracy real ${f(s.final.realAccuracy, 2)} fake ${f(s.final.fakeAccuracy, 2)}`,
      ]
    : [];
  say(
    [
      `\n${headline}: step ${s.step.toLocaleString('en-US')} (${epochs} epoch${epochs === 1 ? '' : 's'}) in ${formatDuration(s.seconds)} — target ${describeTarget(s.target)}${s.targetReached ? ' reached' : ''}`,
      `  ${s.imagesSeen.toLocaleString('en-US')} images seen, ${s.imagesPerSec.toFixed(1)} img/s`,
      ...(s.initFrom
        ? [`  began from ${showPath(s.initFrom.run)} at its step ${s.initFrom.step.toLocaleString('en-US')} (${s.initFrom.imagesSeen.toLocaleString('en-US')} images, ${formatDuration(s.initFrom.trainSeconds)} of training before this run)`]
        : []),
      ...stats,
      `  last grid: ${s.lastGrid ? showPath(s.lastGrid) : '(none)'} · checkpoint at step ${s.checkpointStep.toLocaleString('en-US')}`,
      `run folder: ${dir}/`,
      `  samples/      sample grids of the same fixed latents over training`,
      `  progress.gif  those grids as an animation`,
      `  history.png   losses and discriminator accuracies per batch`,
      `  generator/    TF.js model (tf.loadLayersModel); checkpoint/ for --resume`,
      `new designs:  npx fashion-gan generate --run ${dir} --count 64 --out ${path.join(dir, 'new.png')}`,
      s.unreachedStepTarget !== undefined
        ? `continue:     npx fashion-gan train --resume ${dir} ${s.nextFlags}   (more time toward its target, ${s.unreachedStepTarget.toLocaleString('en-US')} steps)`
        : s.targetReached
        ? `train on:     npx fashion-gan train --resume ${dir} ${s.nextFlags}`
        : `continue:     npx fashion-gan train --resume ${dir}   (to its target, ${describeTarget(s.target)})`,
    ].join('\n'),
  );
}

/** `fashion-gan train`: a new run, or `--resume` one, to its target. */
export function register(program: Command): void {
  const cmd = program.command('train').description('train a GAN into a run folder (or continue one with --resume)');
  addTrainOptions(cmd);
  withExamples(
    cmd,
    [
      ['fashion-gan train --minutes 4', 'the default preset (fashion) for 4 minutes'],
      ['fashion-gan train --preset fmnist-lms --epochs 50', 'the seed\'s Fashion-MNIST run'],
      ['fashion-gan train --preset cifar-lms --kernel-size 4 --data-dir DIR', 'the seed\'s kernel experiment, one flag'],
      ['fashion-gan train --resume runs/NAME', 'continue an interrupted run to its target'],
      ['fashion-gan train --resume runs/NAME --epochs 100', 'extend a run to 100 epochs in total'],
      ['fashion-gan train --config my-run.json --seed 2', 'options from a file; flags override it'],
      ['fashion-gan train --init-from models/fashion --aux-classifier 1 --steps 20000 --lr-decay-from 0 --out runs/ac', 'a trained model, continued under another recipe'],
    ],
    [
      'How long: --steps and --epochs count the whole run; --minutes counts training time (with',
      '--resume: that many more minutes); the first reached stops. None given: a new run trains 50',
      'epochs; --resume continues to the target the run saved in config.json. Cadences',
      '(--sample-every, --checkpoint-every, --eval-every) are saved there too.',
      'Ctrl-C (or closing the output, e.g. `| head`) stops after the current step and saves a',
      'checkpoint (exit 130, or 141 for a closed output); --resume continues exactly.',
    ].join('\n'),
  );
  cmd.action(async (_o: unknown, c: Command) => {
    if (c.opts().config) applyConfigFile(c, c.opts().config as string);
    const o = c.opts() as Record<string, unknown>;
    const resume = o.resume as string | undefined;
    const length = { steps: o.steps as number | undefined, epochs: o.epochs as number | undefined, minutes: o.minutes as number | undefined };
    let preset: Preset | undefined;
    let startStep = 0;
    if (resume) {
      const clashing = clashingWithResume(c);
      if (clashing.length) throw new UserError(`--resume continues a run as it was configured; drop ${clashing.join(', ')}`);
      const plan = planResume(resume, length);
      if (plan.reached) {
        clearStaleLock(runPaths(resume).lock); // a trainer killed after its last checkpoint
        const next = `fashion-gan train --resume ${showPath(resume)} ${plan.extension}`;
        say(`${showPath(resume)}: already at step ${plan.at.step.toLocaleString('en-US')}, its target (${describeTarget(plan.target)}) is reached; to train on: ${next}`);
        if (o.json) printJson({ runDir: showPath(resume), step: plan.at.step, target: plan.target, targetReached: true, next });
        return;
      }
      startStep = plan.at.step;
    } else {
      preset = newRunPreset(c);
    }
    const backend = await useBackend(o.backend as BackendName);
    const out = resume ? undefined : ((o.out as string | undefined) ?? path.join('runs', `${preset!.name}-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}`));
    const progress = progressReporter();
    let stop: 'signal' | 'output-closed' | null = null;
    const onSigint = () => {
      if (stop === 'signal') {
        say('\nstopping now (the last checkpoint is whole)');
        process.exit(130);
      }
      stop = 'signal';
      progress.stop();
      say('\nCtrl-C: finishing this step and saving a checkpoint… (Ctrl-C again to quit at once)');
    };
    process.on('SIGINT', onSigint);
    const offClosed = onOutputClosed(() => {
      stop ??= 'output-closed';
    });
    const started = Date.now();
    try {
      const { train } = await import('../../training/loop');
      const { trainingEvaluator } = await import('../../metrics/index');
      const r = await train({
        preset,
        out,
        resume,
        initFrom: o.initFrom as string | undefined,
        dataDir: o.dataDir as string | undefined,
        ...length,
        lrDecayFrom: o.lrDecayFrom as number | undefined,
        seed: o.seed as number | undefined,
        sampleEvery: o.sampleEvery as number | undefined,
        checkpointEvery: o.checkpointEvery as number | undefined,
        evalEvery: o.evalEvery as number | undefined,
        evaluate: trainingEvaluator({ samples: 1000, dataDir: o.dataDir as string | undefined }),
        backend,
        command: commandLine(),
        onStep: progress.onStep,
        log: say,
        shouldStop: () => stop !== null,
      });
      progress.stop();
      const stoppedBy: StopReason = r.stoppedBy === 'signal' && stop === 'output-closed' ? 'output-closed' : r.stoppedBy;
      const config = readRunConfig(runPaths(r.runDir).config);
      const summary = trainingSummary(r, config, startStep, (Date.now() - started) / 1000, stoppedBy);
      if (o.json) printJson({ ...summary, runDir: showPath(summary.runDir), lastGrid: summary.lastGrid && showPath(summary.lastGrid) });
      else if (output.stderrOpen) report(summary);
      if (stoppedBy === 'signal') process.exitCode = 130;
      if (stoppedBy === 'output-closed') process.exitCode = EXIT_OUTPUT_CLOSED;
    } finally {
      progress.stop();
      offClosed();
      process.off('SIGINT', onSigint);
    }
  });
}
