/**
 * `train`'s options as one table: it registers the flags, builds the model overrides, names the
 * flags that clash with --resume, and reads --config files with the same keys and messages.
 */
import * as fs from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DATASETS } from '../data/dataset';
import { UserError } from '../errors';
import type { ModelOverrides } from '../models/overrides';
import { PRESETS } from '../models/presets';
import type { Recipe } from '../models/spec';
import { DEFAULT_CADENCE } from '../training/session';
import { DEFAULT_TARGET, describeTarget } from '../training/target';
import { oneLine } from '../util/atomic';
import { int, listOf, nonEmpty, num } from './options';
import { DEFAULT_PRESET, backendOption } from './shared';

/**
 * What an option is for: `new-run` and `model` options make a run what it is (a resume keeps
 * them, so they clash with --resume); `model` ones go into the preset's overrides.
 */
type Kind = 'new-run' | 'model' | 'length' | 'cadence' | 'run';

/** Where a model option's value goes: a key of ModelOverrides, or of its recipe. */
type Target = { key: Exclude<keyof ModelOverrides, 'recipe'> } | { recipe: keyof Recipe };

interface TrainFlag {
  kind: Kind;
  /** a new Option each time (a program may be built more than once, e.g. in tests) */
  make: () => Option;
  /** the long flag, e.g. `--kernel-size` */
  long: string;
  to?: Target;
}

const longOf = (flags: string) => flags.split(/[ ,<[]+/).find((p) => p.startsWith('--'))!;
const flag = (kind: Kind, flags: string, description: string, parse?: (v: string) => unknown, to?: Target): TrainFlag => ({
  kind,
  long: longOf(flags),
  to,
  make: () => {
    const option = new Option(flags, description);
    return parse ? option.argParser(parse) : option;
  },
});
const choice = (kind: Kind, flags: string, description: string, choices: readonly string[], to?: Target): TrainFlag => ({
  kind,
  long: longOf(flags),
  to,
  make: () => new Option(flags, description).choices([...choices]),
});

const { sampleEvery, checkpointEvery } = DEFAULT_CADENCE;

/** train's options, in --help order. */
export const TRAIN_FLAGS: TrainFlag[] = [
  { kind: 'new-run', long: '--preset', make: () => new Option('--preset <name>', `model preset: ${[...PRESETS.keys()].join(', ')}`).default(DEFAULT_PRESET) },
  choice('new-run', '--dataset <name>', 'data set (default: the preset\'s)', DATASETS),
  flag('new-run', '--class <name|index>', 'train on one class only (e.g. automobile, sneaker, 7)'),
  flag('run', '--data-dir <dir>', 'where the data set files are (default: $FASHION_GAN_DATA, the repo copy, /usr/share/datasets, the download cache)', nonEmpty),
  flag('length', '--epochs <n>', `train until this many epochs in total (default for a new run: ${describeTarget(DEFAULT_TARGET)}; with --resume: the run's saved target)`, int(1)),
  flag('length', '--steps <n>', 'train until this many steps (batches) in total', int(1)),
  flag('length', '--minutes <m>', 'train for m minutes in total (with --resume: m more minutes, toward the saved step or epoch target if it is not reached), checkpointing first', num(0, 1e6, { exclusiveMin: true })),
  flag('length', '--lr-decay-from <step>', 'from this step on, decay both learning rates linearly to 0 at the target\'s last step (needs --steps or --epochs; saved, so a plain --resume keeps it)', int(0)),
  flag('model', '--batch-size <n>', 'images per batch (default: the preset\'s, 256 for the seed\'s)', int(1, 65536), { key: 'batchSize' }),
  flag('run', '--seed <n>', 'run seed: weights, shuffles, latents, dropout (default: 0)', int(0, 0xffffffff)),
  flag('new-run', '--out <dir>', 'new run folder (default: runs/PRESET-TIMESTAMP)', nonEmpty),
  flag('new-run', '--init-from <run>', 'start the new run\'s networks (and Adam\'s moments) from this run\'s last checkpoint, matching weights by layer name: to continue a model under another recipe', nonEmpty),
  flag('run', '--resume <dir>', 'continue the run in this folder from its checkpoint, to its saved target', nonEmpty),
  flag('run', '--config <file>', 'read options from a JSON file with the flags\' names as keys, e.g. {"preset": "fashion", "steps": 2000}; flags override it', nonEmpty),
  flag('cadence', '--sample-every <n>', `save the sample grid every n steps and at each epoch end (default: ${sampleEvery}, or what the resumed run saved)`, int(1)),
  flag('cadence', '--checkpoint-every <n>', `checkpoint every n steps and at each epoch end (default: ${checkpointEvery}, or what the resumed run saved)`, int(1)),
  flag('cadence', '--eval-every <n>', 'every n steps, measure FD/KID/classifier score on 1,000 samples into metrics.jsonl (default: off, or what the resumed run saved)', int(1)),
  flag('model', '--kernel-size <k>', 'kernel size of every convolution', int(1, 15), { key: 'kernelSize' }),
  flag('model', '--leaky-slope <a>', 'LeakyReLU slope', num(0, 1), { key: 'leakySlope' }),
  flag('model', '--dropout <p>', 'discriminator dropout rate', num(0, 1, { exclusiveMax: true }), { key: 'dropout' }),
  flag('model', '--no-batch-norm', 'no batch norm in the generator', undefined, { key: 'batchNorm' }),
  flag('model', '--latent-dim <n>', 'latent vector size', int(1, 4096), { key: 'latentDim' }),
  choice('model', '--init <kind>', 'kernel initialiser', ['glorot', 'normal02'], { key: 'init' }),
  flag('model', '--filters-scale <x>', 'multiply hidden filter counts by x', num(0, 16, { exclusiveMin: true }), { key: 'filtersScale' }),
  flag('model', '--g-filters-scale <x>', 'multiply the generator\'s hidden filter counts by x', num(0, 16, { exclusiveMin: true }), { key: 'gFiltersScale' }),
  flag('model', '--d-filters-scale <x>', 'multiply the discriminator\'s filter counts by x', num(0, 16, { exclusiveMin: true }), { key: 'dFiltersScale' }),
  flag('model', '--lr <x>', 'Adam learning rate for G and D', num(0, 1, { exclusiveMin: true }), { key: 'learningRate' }),
  flag('model', '--lr-d <x>', 'Adam learning rate for D only', num(0, 1, { exclusiveMin: true }), { key: 'learningRateD' }),
  flag('model', '--beta1 <x>', 'Adam β1', num(0, 1, { exclusiveMax: true }), { key: 'beta1' }),
  flag('model', '--beta2 <x>', 'Adam β2', num(0, 1, { exclusiveMax: true }), { key: 'beta2' }),
  choice('model', '--loss <kind>', 'GAN loss: bce (the seed\'s), hinge, lsgan, wgan-gp', ['bce', 'hinge', 'lsgan', 'wgan-gp'], { recipe: 'loss' }),
  flag('model', '--gp-weight <x>', 'WGAN-GP penalty weight λ', num(0, 1e4), { recipe: 'gpWeight' }),
  flag('model', '--label-smoothing <s>', 'one-sided label smoothing: real targets 1 − s', num(0, 0.5, { exclusiveMax: true }), { recipe: 'labelSmoothing' }),
  flag('model', '--ema <decay>', 'sample from a moving average of G\'s weights (e.g. 0.999; 0 = off)', num(0, 1, { exclusiveMax: true }), { recipe: 'ema' }),
  flag('model', '--spectral-norm', 'spectral normalisation in D', undefined, { recipe: 'spectralNorm' }),
  flag('model', '--diff-augment <policy>', 'DiffAugment for D\'s inputs: comma list of translation, cutout, color', listOf(['translation', 'cutout', 'color']), { recipe: 'diffAugment' }),
  flag('model', '--conditional', 'class-conditional G (label embedding) and D (projection)', undefined, { recipe: 'conditional' }),
  flag('model', '--class-batch-norm', 'conditional models: per-class scale and shift in G\'s batch norms', undefined, { recipe: 'classBatchNorm' }),
  flag('model', '--aux-classifier <w>', 'conditional models: D also classifies real images, G is asked for its class (AC-GAN), weight w (0 = off)', num(0, 10), { recipe: 'auxClassifier' }),
  { kind: 'run', long: '--backend', make: backendOption },
  flag('run', '--json', 'print a summary of the run as one JSON object on stdout at the end'),
];

/** Adds every train option to `cmd`. */
export function addTrainOptions(cmd: Command): Command {
  for (const f of TRAIN_FLAGS) cmd.addOption(f.make());
  return cmd;
}

/** `cmd`'s option for a row of the table. */
const optionFor = (cmd: Command, f: TrainFlag): Option => cmd.options.find((o) => o.long === f.long)!;

/** Whether the user set the option: on the command line or in the --config file (not a default). */
export function isGiven(cmd: Command, attribute: string): boolean {
  const source = cmd.getOptionValueSource(attribute);
  return source === 'cli' || source === 'config';
}

/** The model and recipe overrides the user set. */
export function modelOverrides(cmd: Command): ModelOverrides {
  const values = cmd.opts();
  const overrides: ModelOverrides = {};
  const recipe: Partial<Recipe> = {};
  for (const f of TRAIN_FLAGS) {
    const { to } = f;
    const attr = optionFor(cmd, f).attributeName();
    if (!to || !isGiven(cmd, attr)) continue;
    if ('recipe' in to) (recipe as Record<string, unknown>)[to.recipe] = values[attr];
    else (overrides as Record<string, unknown>)[to.key] = values[attr];
  }
  return { ...overrides, recipe };
}

/** The options given that a resume cannot change (it continues the run as it was configured). */
export function clashingWithResume(cmd: Command): string[] {
  return TRAIN_FLAGS.filter((f) => (f.kind === 'new-run' || f.kind === 'model') && isGiven(cmd, optionFor(cmd, f).attributeName())).map((f) => f.long);
}

/**
 * Reads a --config file into `cmd`'s option values: its keys are the flags' names without
 * `--` ("batch-size": 64, "spectral-norm": true, "no-batch-norm": true), its values go through
 * the flags' own checks (so the messages are the same, naming the file). Flags given on the
 * command line win.
 */
export function applyConfigFile(cmd: Command, file: string): void {
  if (!fs.existsSync(file)) throw new UserError(`--config ${file}: no such file`);
  if (fs.statSync(file).isDirectory()) throw new UserError(`--config ${file}: is a folder, not a JSON file`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(`${file}: not valid JSON (${oneLine((err as Error).message)})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${file}: must hold one JSON object of train options, e.g. {"preset": "fashion", "steps": 2000}`);
  const allowed = TRAIN_FLAGS.map((f) => f.long.slice(2)).filter((k) => k !== 'config');
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const row = key === 'config' ? undefined : TRAIN_FLAGS.find((f) => f.long === `--${key}`);
    const option = row && optionFor(cmd, row);
    if (!option) throw new UserError(`${file}: unknown key "${oneLine(key)}" (allowed: ${allowed.join(', ')})`);
    const attr = option.attributeName();
    if (cmd.getOptionValueSource(attr) === 'cli') continue;
    if (option.required || option.optional) {
      if (value === null || typeof value === 'boolean' || (typeof value === 'object' && !Array.isArray(value))) {
        throw new UserError(`${file}: "${key}": ${JSON.stringify(value)} is not a value for ${option.flags} (give a number or text${key === 'diff-augment' ? ', or a list' : ''})`);
      }
      const text = Array.isArray(value) ? value.join(',') : String(value);
      let parsed: unknown = text;
      if (option.parseArg) {
        try {
          parsed = option.parseArg(text, undefined);
        } catch (err) {
          if (err instanceof InvalidArgumentError) throw new UserError(`${file}: option '${option.flags}' argument '${oneLine(text)}' is invalid. ${err.message}`);
          throw err;
        }
      }
      cmd.setOptionValueWithSource(attr, parsed, 'config');
    } else {
      if (typeof value !== 'boolean') throw new UserError(`${file}: "${key}": must be true or false (the switch ${option.long})`);
      if (value) cmd.setOptionValueWithSource(attr, !option.negate, 'config');
    }
  }
}
