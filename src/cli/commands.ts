import * as path from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import type { Recipe } from '../models/spec';
import * as tf from '@tensorflow/tfjs';
import { DATASETS, IMAGE_SHAPE, loadDataset, resolveClass, summariseSplit, type DatasetName } from '../data/dataset';
import { UserError } from '../errors';
import { generateToFile } from '../generate';
import { buildDiscriminator, buildGenerator, countParams, summaryTable } from '../models/builder';
import { applyOverrides, type ModelOverrides } from '../models/overrides';
import { PRESETS, getPreset } from '../models/presets';
import { train } from '../training/loop';
import type { BackendName } from '../backends/index';
import { backendOption, relative, say, useBackend } from './main';
import { int, nonEmpty, num, oneOf } from './options';
import { formatDuration, progressReporter } from './progress';

export function registerCoreCommands(program: Command): void {
  program
    .command('data')
    .description('load a data set and describe it (counts, shape, classes, mean pixel)')
    .addOption(new Option('--dataset <name>', 'data set').choices([...DATASETS]).default('fashion-mnist'))
    .option('--data-dir <dir>', 'look here first (then $FASHION_GAN_DATA, the repo copy, /usr/share/datasets, the download cache)', nonEmpty)
    .option('--class <name|index>', 'keep one class, e.g. automobile, sneaker or 7')
    .option('--json', 'print JSON')
    .action(async (o: { dataset: DatasetName; dataDir?: string; class?: string; json?: boolean }) => {
      const d = await loadDataset({ dataset: o.dataset, dataDir: o.dataDir, classFilter: o.class });
      const out = { dataset: d.name, source: d.source, train: summariseSplit(d.train), test: summariseSplit(d.test) };
      if (o.json) {
        console.log(JSON.stringify(out));
        return;
      }
      console.log(`${d.name}${d.classIndex !== null ? ` — class ${d.classIndex} (${d.classNames[d.classIndex]})` : ''}\nsource: ${d.source}`);
      for (const split of ['train', 'test'] as const) {
        const s = out[split];
        console.log(`${split.padEnd(5)} ${String(s.count).padStart(6)} images, shape ${JSON.stringify(s.shape)}, mean pixel ${s.mean.toFixed(2)}`);
      }
      console.log('classes (train/test):');
      d.classNames.forEach((n, i) => console.log(`  ${i} ${n.padEnd(12)} ${String(out.train.classCounts[i]).padStart(6)} ${String(out.test.classCounts[i]).padStart(6)}`));
    });

  program
    .command('presets')
    .description('list the model presets (the seed\'s four notebooks and better recipes)')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      const list = [...PRESETS.values()];
      if (o.json) {
        console.log(JSON.stringify(list));
        return;
      }
      for (const p of list) console.log(`${p.name.padEnd(18)} ${p.dataset.padEnd(14)} ${p.description}`);
    });

  program
    .command('summary')
    .description('print a preset\'s generator and discriminator, layer by layer (Keras style)')
    .requiredOption('--preset <name>', `one of: ${[...PRESETS.keys()].join(', ')}`)
    .option('--json', 'print {"preset", "generator": {"params"}, "discriminator": {"params"}}')
    .action(async (o: { preset: string; json?: boolean }) => {
      const preset = getPreset(o.preset);
      await useBackend('cpu', true);
      const g = buildGenerator(preset.model, 1);
      const d = buildDiscriminator(preset.model, 2);
      try {
        if (o.json) {
          console.log(JSON.stringify({ preset: preset.name, generator: { params: countParams(g) }, discriminator: { params: countParams(d) } }));
          return;
        }
        console.log(`${preset.name}: ${preset.description}\n`);
        console.log(summaryTable(g));
        console.log('');
        console.log(summaryTable(d));
      } finally {
        g.dispose();
        d.dispose();
      }
    });

  program
    .command('train')
    .description('train a GAN into a run folder (or continue one with --resume)')
    .addHelpText(
      'after',
      `
Examples:
  fashion-gan train --preset fmnist-lms --epochs 50            the seed's Fashion-MNIST run
  fashion-gan train --preset cifar-lms --kernel-size 4         the seed's kernel experiment, one flag
  fashion-gan train --resume runs/NAME --epochs 100            continue a run to 100 epochs in total

--steps and --epochs count the whole run across resumes; --minutes bounds this invocation.
Ctrl-C stops after the current step and saves a checkpoint; --resume continues exactly.`,
    )
    .option('--preset <name>', `model preset: ${[...PRESETS.keys()].join(', ')}`, 'fashion')
    .addOption(new Option('--dataset <name>', 'data set (default: the preset\'s)').choices([...DATASETS]))
    .option('--class <name|index>', 'train on one class only (e.g. automobile, sneaker, 7)')
    .option('--data-dir <dir>', 'where the data set files are', nonEmpty)
    .option('--epochs <n>', 'train until this many epochs in total', int(1))
    .option('--steps <n>', 'train until this many steps (batches) in total', int(1))
    .option('--minutes <m>', 'stop this invocation after m minutes (checkpointing first)', num(0, 1e6, { exclusiveMin: true }))
    .option('--batch-size <n>', 'images per batch (default: the preset\'s, 256 for the seed\'s)', int(1, 65536))
    .option('--seed <n>', 'run seed: weights, shuffles, latents, dropout', int(0, 0xffffffff))
    .option('--out <dir>', 'new run folder (default runs/PRESET-TIMESTAMP)', nonEmpty)
    .option('--resume <dir>', 'continue the run in this folder from its checkpoint', nonEmpty)
    .option('--sample-every <n>', 'save the 4×4 sample grid every n steps (and at each epoch end) (default: 50, or what the resumed run saved)', int(1))
    .option('--checkpoint-every <n>', 'checkpoint every n steps (and at each epoch end) (default: 200, or what the resumed run saved)', int(1))
    .option('--kernel-size <k>', 'kernel size of every convolution', int(1, 15))
    .option('--leaky-slope <a>', 'LeakyReLU slope', num(0, 1))
    .option('--dropout <p>', 'discriminator dropout rate', num(0, 1, { exclusiveMax: true }))
    .option('--no-batch-norm', 'no batch norm in the generator')
    .option('--latent-dim <n>', 'latent vector size', int(1, 4096))
    .addOption(new Option('--init <kind>', 'kernel initialiser').choices(['glorot', 'normal02']))
    .option('--filters-scale <x>', 'multiply hidden filter counts by x', num(0, 16, { exclusiveMin: true }))
    .option('--g-filters-scale <x>', 'multiply the generator\'s hidden filter counts by x', num(0, 16, { exclusiveMin: true }))
    .option('--d-filters-scale <x>', 'multiply the discriminator\'s filter counts by x', num(0, 16, { exclusiveMin: true }))
    .option('--lr <x>', 'Adam learning rate for G and D', num(0, 1, { exclusiveMin: true }))
    .option('--lr-d <x>', 'Adam learning rate for D only', num(0, 1, { exclusiveMin: true }))
    .option('--beta1 <x>', 'Adam β1', num(0, 1, { exclusiveMax: true }))
    .option('--beta2 <x>', 'Adam β2', num(0, 1, { exclusiveMax: true }))
    .addOption(new Option('--loss <kind>', 'GAN loss: bce (the seed\'s), hinge, lsgan, wgan-gp').choices(['bce', 'hinge', 'lsgan', 'wgan-gp']))
    .option('--gp-weight <x>', 'WGAN-GP penalty weight λ', num(0, 1e4))
    .option('--label-smoothing <s>', 'one-sided label smoothing: real targets 1 − s', num(0, 0.5, { exclusiveMax: true }))
    .option('--ema <decay>', 'sample from a moving average of G\'s weights (e.g. 0.999; 0 = off)', num(0, 1, { exclusiveMax: true }))
    .option('--spectral-norm', 'spectral normalisation in D')
    .option('--diff-augment <policy>', 'DiffAugment for D\'s inputs: comma list of translation, cutout, color', (v: string) => {
      const parts = v.split(',').map((s) => s.trim()).filter(Boolean);
      for (const p of parts) if (!['translation', 'cutout', 'color'].includes(p)) throw new InvalidArgumentError('allowed: a comma list of translation, cutout, color.');
      return parts;
    })
    .option('--conditional', 'class-conditional G (label embedding) and D (projection)')
    .option('--class-batch-norm', 'conditional models: per-class scale and shift in G\'s batch norms')
    .option('--eval-every <n>', 'every n steps, measure FD/KID/classifier score on 1,000 samples into metrics.jsonl', int(1))
    .addOption(backendOption())
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const given = (name: string) => cmd.getOptionValueSource(name) === 'cli';
      const resume = o.resume as string | undefined;
      const overrides: ModelOverrides = {
        kernelSize: o.kernelSize as number | undefined,
        leakySlope: o.leakySlope as number | undefined,
        dropout: o.dropout as number | undefined,
        batchNorm: given('batchNorm') ? (o.batchNorm as boolean) : undefined,
        latentDim: o.latentDim as number | undefined,
        init: o.init as 'glorot' | 'normal02' | undefined,
        filtersScale: o.filtersScale as number | undefined,
        gFiltersScale: o.gFiltersScale as number | undefined,
        dFiltersScale: o.dFiltersScale as number | undefined,
        learningRate: o.lr as number | undefined,
        learningRateD: o.lrD as number | undefined,
        beta1: o.beta1 as number | undefined,
        beta2: o.beta2 as number | undefined,
        batchSize: o.batchSize as number | undefined,
        recipe: {
          loss: o.loss as Recipe['loss'] | undefined,
          gpWeight: o.gpWeight as number | undefined,
          labelSmoothing: o.labelSmoothing as number | undefined,
          ema: o.ema as number | undefined,
          spectralNorm: o.spectralNorm ? true : undefined,
          diffAugment: o.diffAugment as Recipe['diffAugment'] | undefined,
          conditional: o.conditional ? true : undefined,
          classBatchNorm: o.classBatchNorm ? true : undefined,
        },
      };
      let preset;
      if (resume) {
        const clashing = ['preset', 'dataset', 'class', 'out', 'batchSize', 'kernelSize', 'leakySlope', 'dropout', 'batchNorm', 'latentDim', 'init', 'filtersScale', 'gFiltersScale', 'dFiltersScale', 'lr', 'lrD', 'beta1', 'beta2', 'loss', 'gpWeight', 'labelSmoothing', 'ema', 'spectralNorm', 'diffAugment', 'conditional', 'classBatchNorm'].filter(given);
        if (clashing.length) throw new UserError(`--resume continues a run as it was configured; drop ${clashing.map((c) => `--${c.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)}`).join(', ')}`);
      } else {
        preset = applyOverrides(getPreset(o.preset as string), overrides);
        if (o.dataset) {
          const ds = o.dataset as DatasetName;
          const [h, w, c] = IMAGE_SHAPE[ds];
          const [ph, pw, pc] = preset.model.imageShape;
          if (h !== ph || w !== pw || c !== pc) throw new UserError(`--dataset ${ds}: preset ${preset.name} makes ${ph}×${pw}×${pc} images, ${ds} has ${h}×${w}×${c} (pick a preset for ${ds})`);
          preset.dataset = ds;
          if (ds !== getPreset(o.preset as string).dataset) preset.classFilter = null;
        }
        if (o.class !== undefined) {
          resolveClass(preset.dataset, o.class as string);
          preset.classFilter = o.class as string;
        }
      }
      const backend = await useBackend(o.backend as BackendName);
      const out = resume ? undefined : ((o.out as string | undefined) ?? path.join('runs', `${preset!.name}-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}`));
      const progress = progressReporter();
      let interrupted = false;
      const onSigint = () => {
        if (interrupted) {
          say('\nstopping now (the last checkpoint is whole)');
          process.exit(130);
        }
        interrupted = true;
        progress.stop();
        say('\nCtrl-C: finishing this step and saving a checkpoint… (Ctrl-C again to quit at once)');
      };
      process.on('SIGINT', onSigint);
      const started = Date.now();
      try {
        const r = await train({
          preset,
          out,
          resume,
          dataDir: o.dataDir as string | undefined,
          steps: o.steps as number | undefined,
          epochs: o.epochs as number | undefined,
          minutes: o.minutes as number | undefined,
          seed: o.seed as number | undefined,
          sampleEvery: o.sampleEvery as number | undefined,
          checkpointEvery: o.checkpointEvery as number | undefined,
          backend,
          command: ['fashion-gan', ...process.argv.slice(2)].join(' '),
          onStep: progress.onStep,
          log: say,
          shouldStop: () => interrupted,
          evalEvery: o.evalEvery as number | undefined,
          evaluate: (await import('../metrics/index')).trainingEvaluator({ samples: 1000, dataDir: o.dataDir as string | undefined }),
        });
        progress.stop();
        const dir = relative(r.runDir);
        say(
          [
            `\n${r.stoppedBy === 'signal' ? 'interrupted' : r.stoppedBy === 'time' ? 'time budget reached' : 'done'}: step ${r.step} (${r.epoch} full epochs) in ${formatDuration((Date.now() - started) / 1000)}, ${r.imagesPerSec.toFixed(1)} img/s`,
            `run folder: ${dir}/`,
            `  samples/      4×4 grids of the same 16 latent vectors over training`,
            `  progress.gif  those grids as an animation`,
            `  history.png   losses and discriminator accuracies per batch`,
            `  generator/    TF.js model (tf.loadLayersModel); checkpoint/ for --resume`,
            `new designs:  npx fashion-gan generate --run ${dir} --count 64 --out ${dir}/new.png`,
            `continue:     npx fashion-gan train --resume ${dir} --steps ${r.step * 2}`,
          ].join('\n'),
        );
        if (r.stoppedBy === 'signal') process.exitCode = 130;
      } finally {
        progress.stop();
        process.off('SIGINT', onSigint);
      }
    });

  program
    .command('compare')
    .description('write a side-by-side report of runs (Markdown with PNGs): grids, history, stability, FD at equal images and equal time')
    .argument('<runs...>', 'two or more run folders')
    .option('--out <dir>', 'report folder (default runs/compare-A-vs-B)', nonEmpty)
    .action(async (dirs: string[], o: { out?: string }) => {
      const { compareRuns } = await import('../report/compare');
      const out = o.out ?? path.join('runs', `compare-${dirs.map((d) => path.basename(path.resolve(d))).join('-vs-')}`.slice(0, 120));
      const r = await compareRuns(dirs, out);
      console.log(r.markdown.split('\n').filter((l) => l.startsWith('|') && !l.includes('![')).slice(0, 2 + r.runs.length).join('\n'));
      say(`report: ${relative(r.file)}`);
    });

  program
    .command('bench')
    .description('time the full train step and the generation of 64 images on each backend (and PyTorch, when installed)')
    .option('--preset <name>', 'model preset', 'fmnist-lms')
    .option('--batch-size <n>', 'images per step', int(1, 65536), 256)
    .option('--steps <n>', 'timed steps per backend (after 2 warm-up steps); medians are reported', int(1, 1000), 5)
    .option('--rounds <n>', 'repeat PyTorch and every backend this many times, alternating, and report medians (ratios are taken within each round, so load that comes and goes hits both sides)', int(1, 100), 1)
    .option('--backend <list>', 'comma-separated backends to measure: native, native-builtin, native-openblas (native with that GEMM), wasm, cpu, tensorflow', 'native,wasm')
    .option('--no-torch', 'skip the PyTorch reference (bench/torch_step.py)')
    .option('--json', 'one JSON object per backend measured (medians over rounds)')
    .option('--profile', 'also time every kernel of the train step and print the slowest (with GFLOP/s for convolutions and matrix products); profiling adds a little time per kernel call')
    .addHelpText(
      'after',
      '\nSpeed is measured here, never in tests: the machine is shared and noisy. Quote medians and ratios from one run; on a busy machine use --rounds.' +
        '\nThreads: FASHION_NATIVE_THREADS (native; default all cores) and FASHION_WASM_THREADS (wasm; default all cores, at most 4; 1 = no worker threads).',
    )
    .action(async (o: { preset: string; batchSize: number; steps: number; rounds: number; backend: string; torch: boolean; json?: boolean; profile?: boolean }) => {
      const { benchBackend, benchPyTorch, median } = await import('../bench/bench');
      const { formatProfile } = await import('../bench/profile');
      const preset = getPreset(o.preset);
      const names = o.backend.split(',').map((s) => s.trim()).filter(Boolean);
      if (names.length === 0) throw new UserError(`--backend ${o.backend}: name at least one backend (allowed: native, wasm, cpu, tensorflow)`);
      const { BENCH_BACKENDS } = await import('../bench/bench');
      for (const n of names) if (!(BENCH_BACKENDS as readonly string[]).includes(n)) throw new UserError(`--backend ${n}: unknown backend (allowed: ${BENCH_BACKENDS.join(', ')})`);
      const withTorch = o.torch && ['fmnist-lms', 'cifar-lms', 'fashion'].includes(preset.name);
      const line = (r: { backend: string; trainImagesPerSec: number; generate64Ms: number }, ratio?: number, prefix = '') =>
        `${prefix}${preset.name} batch ${o.batchSize} on ${r.backend.padEnd(7)} train ${r.trainImagesPerSec.toFixed(1).padStart(7)} img/s  generate 64 ${r.generate64Ms.toFixed(1).padStart(7)} ms${ratio !== undefined ? `  = ${ratio.toFixed(2)}× PyTorch` : ''}`;
      const torchRuns: Array<{ trainImagesPerSec: number; generate64Ms: number; torch: string; threads: number }> = [];
      const runs = new Map<string, Array<Awaited<ReturnType<typeof benchBackend>> & { ratio?: number }>>();
      const skipped = new Set<string>();
      for (let round = 1; round <= o.rounds; round++) {
        const prefix = o.rounds > 1 ? `round ${round}: ` : '';
        const torch = withTorch ? benchPyTorch(preset.name, o.batchSize, o.steps) : null;
        if (torch && 'skipped' in torch) {
          if (round === 1 && !o.json) say(`pytorch: skipped (${torch.skipped})`);
        } else if (torch) torchRuns.push(torch);
        const torchNow = torch && !('skipped' in torch) ? torch : undefined;
        for (const n of names) {
          if (skipped.has(n)) continue;
          let r;
          try {
            r = await benchBackend(preset, n as BackendName, o.batchSize, o.steps, 2, !!o.profile);
          } catch (err) {
            if (!(err instanceof UserError)) throw err;
            say(`${n}: skipped (${err.message})`);
            skipped.add(n);
            continue;
          }
          const ratio = torchNow ? r.trainImagesPerSec / torchNow.trainImagesPerSec : undefined;
          runs.set(r.backend, [...(runs.get(r.backend) ?? []), { ...r, ratio }]);
          if (!o.json) {
            console.log(line(r, ratio, prefix));
            if (r.profile) console.log(formatProfile(r.profile, (1000 * r.batchSize) / r.trainImagesPerSec));
          }
        }
        if (torchNow && !o.json) console.log(`${prefix}${preset.name} batch ${o.batchSize} on pytorch ${torchNow.torch} (${torchNow.threads} threads) train ${torchNow.trainImagesPerSec.toFixed(1)} img/s  generate 64 ${torchNow.generate64Ms.toFixed(1)} ms`);
      }
      const torchMedian = torchRuns.length ? median(torchRuns.map((t) => t.trainImagesPerSec)) : undefined;
      for (const [backend, rs] of runs) {
        const ratios = rs.map((r) => r.ratio).filter((x): x is number => x !== undefined);
        const summary = {
          preset: preset.name,
          backend,
          batchSize: o.batchSize,
          trainImagesPerSec: median(rs.map((r) => r.trainImagesPerSec)),
          generate64Ms: median(rs.map((r) => r.generate64Ms)),
          ...(ratios.length ? { pytorchImagesPerSec: torchMedian, ratioToPyTorch: median(ratios) } : {}),
          ...(o.rounds > 1 ? { rounds: rs.map((r) => ({ trainImagesPerSec: r.trainImagesPerSec, generate64Ms: r.generate64Ms, ...(r.ratio !== undefined ? { ratioToPyTorch: r.ratio } : {}) })) } : {}),
          numTensorsBefore: rs[0]!.numTensorsBefore,
          numTensorsAfter: rs[rs.length - 1]!.numTensorsAfter,
          ...(rs[0]!.profile ? { profile: rs[0]!.profile } : {}),
        };
        if (o.json) console.log(JSON.stringify(summary));
        else if (o.rounds > 1) {
          const range = ratios.length ? ` (rounds: ${ratios.map((x) => x.toFixed(2)).join(', ')})` : '';
          console.log(`median of ${rs.length} rounds: ${line(summary, summary.ratioToPyTorch)}${range}`);
        }
      }
      if (torchRuns.length) {
        const t = torchRuns[0]!;
        if (o.json) console.log(JSON.stringify({ preset: preset.name, backend: `pytorch-${t.torch}`, batchSize: o.batchSize, trainImagesPerSec: torchMedian, generate64Ms: median(torchRuns.map((x) => x.generate64Ms)), threads: t.threads, ...(o.rounds > 1 ? { rounds: torchRuns.map((x) => x.trainImagesPerSec) } : {}) }));
        else if (o.rounds > 1) console.log(`median of ${torchRuns.length} rounds: ${preset.name} batch ${o.batchSize} on pytorch ${t.torch} (${t.threads} threads) train ${torchMedian!.toFixed(1)} img/s  generate 64 ${median(torchRuns.map((x) => x.generate64Ms)).toFixed(1)} ms`);
      }
    });

  program
    .command('generate')
    .description('draw new designs from a trained generator into a PNG grid (or an interpolation strip)')
    .option('--run <dir>', 'run folder (default: the shipped model in models/fashion)', nonEmpty)
    .option('--count <n>', 'how many images', int(1, 4096), 16)
    .option('--seed <n>', 'design i uses seed n+i, the same rule as the app', int(0, 0xffffffff), 0)
    .option('--out <file>', 'PNG file to write', 'generated.png')
    .option('--interpolate', 'a strip of --count images walking from design --seed to design --seed+1')
    .option('--class <name|index>', 'for a conditional model: the category to design')
    .addOption(backendOption())
    .action(async (o: { run?: string; count: number; seed: number; out: string; interpolate?: boolean; class?: string; backend: BackendName }) => {
      if (!o.out.toLowerCase().endsWith('.png')) throw new UserError(`--out ${o.out}: must be a .png file`);
      await useBackend(o.backend, true);
      let classIndex: number | null = null;
      if (o.class !== undefined) {
        const { readRunConfig } = await import('../run/config');
        const { runPaths } = await import('../run/paths');
        const { DEFAULT_MODEL_DIR } = await import('../generate');
        const cfg = readRunConfig(runPaths(o.run ?? DEFAULT_MODEL_DIR).config);
        if (!cfg.conditional) throw new UserError(`--class: the model in ${o.run ?? DEFAULT_MODEL_DIR} is not class-conditional`);
        classIndex = resolveClass(cfg.dataset, o.class);
      }
      const r = await generateToFile({ run: o.run, count: o.count, seed: o.seed, out: o.out, interpolate: !!o.interpolate, classIndex });
      say(`wrote ${r.count} ${o.interpolate ? 'interpolated ' : ''}designs to ${o.out} (model: ${relative(r.runDir)}, seeds ${o.seed}…${o.seed + (o.interpolate ? 1 : o.count - 1)})`);
      void tf;
    });
}
