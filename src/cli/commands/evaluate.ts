import { Option, type Command } from 'commander';
import type { BackendName } from '../../backends/index';
import { CLASS_NAMES, DATASETS, IMAGE_SHAPE, type DatasetName } from '../../data/dataset';
import { readImageFile, readLabelFile } from '../../data/image-file';
import { UserError } from '../../errors';
import { DEFAULT_MODEL_DIR, loadGenerator } from '../../generate';
import { runPaths } from '../../run/paths';
import { writeFileAtomic } from '../../util/atomic';
import { printEvaluation } from '../evaluation-table';
import { int, list, num } from '../options';
import { metricProgress } from '../progress';
import { backendOption, commandLine, printJson, say, showPath, useBackend } from '../shared';

interface EvaluateCliOptions {
  run?: string;
  images?: string;
  labels?: string;
  dataset?: DatasetName;
  samples: number;
  seed: number;
  metrics?: string[];
  quick?: boolean;
  truncation?: number;
  dataDir?: string;
  out?: string;
  json?: boolean;
  backend: BackendName;
}

/** `fashion-gan evaluate`: every quality number for a run's generator (or the shipped one). */
export function register(program: Command): void {
  program
    .command('evaluate')
    .description('measure a generator (or --images from anywhere): FD, KID, recognisability, coverage, precision/recall and novelty against the test set')
    .option('--run <dir>', 'run folder (default: the shipped model in models/fashion)')
    .option('--images <file>', 'measure these images instead of a generator\'s: .npy (uint8 0–255 or float in [-1, 1]; [n, H, W], [n, H, W, C] or [n, C, H, W]) or IDX, gzipped or not')
    .option('--labels <file>', 'with --images: the class each image was asked for (.npy or IDX, n whole numbers), for class fidelity')
    .addOption(new Option('--dataset <name>', 'with --images: the data set they imitate (default: fashion-mnist)').choices([...DATASETS]))
    .option('--samples <n>', 'generated images to measure (with --images: the first n of the file; all of it unless given)', int(10, 50000), 2000)
    .option('--seed <n>', 'sample i uses design seed n + i (as `generate`), so results repeat exactly', int(0, 0xffffffff), 1000000)
    .option('--metrics <list>', 'comma-separated extra metrics (default: all); fd, fdFloor, kid, recognisability, classifierScore, coverage always run', list)
    .option('--quick', 'only the cheap metrics (what training-time --eval-every computes)')
    .option('--truncation <t>', 'sample as `generate --truncation t` does (latent coordinates redrawn outside ±t); written only where --out says', num(0, 10, { exclusiveMin: true }))
    .option('--data-dir <dir>', 'where the data set files are')
    .option('--out <file>', 'write the result here as JSON (default: RUN/evaluation.json with --run; nothing for the shipped model or --images)')
    .option('--json', 'print one JSON object on stdout')
    .addOption(backendOption())
    .addHelpText(
      'after',
      `
Everything is measured in the feature space (128-d penultimate layer) of the project's classifier
(models/classifier-DATASET; \`fashion-gan classifier evaluate\` prints its accuracy), against the
real test set:
  fd                Fréchet distance of Gaussians fitted to sample and test features (lower is better)
  fdFloor           FD of as many real training images: what a perfect generator would score
  yardsticks        FD of real test images measured the same way when 2×2-pixelated, 3×3-blurred
                    or with N(0, 0.2²) noise: where the generator's FD sits among them
  kid ± kidStd      kernel distance (unbiased MMD², cubic kernel) over 10 subsets; ≈ 0 when the sets match
  recognisability   mean top-class probability of the samples (0.1 … 1)
  classifierScore   Inception-Score formula with our classifier (1 … 10)
  coverage          share of samples per predicted class (0.1 each is even; zeros are dropped modes)
  classFidelity     conditional models: share of samples classified as the class asked for
  precision/recall  k-NN manifolds (k = 3): samples inside the real manifold / test images inside
                    the samples' (0 … 1). In this classifier's features pure noise lands next to
                    real bags, so precision (and density) can read high for noise: read them with
                    recall and coverage, which are ≈ 0 for noise
  density/coverage  Naeem et al. 2020: outlier-robust precision/recall on real k-NN balls only
  memorisationRate  share of samples nearer (pixels) to a training image than the closest 1 % of
                    real test images are: about 0.01 means new designs, much more means copies
  dataCopying       Meehan et al. 2020: Mann–Whitney z of samples' nearest-training distances
                    against test images', per class: ≈ 0 as new as unseen images, below −3
                    copying, above 0 farther from the training set than unseen images
The JSON also lists the nearest training image (in pixels and in features) of a few samples.
With --run the result is written to RUN/evaluation.json too (or where --out says), with the step
and images seen of the generator it measured. src/metrics/README.md has the details.

Examples:
  fashion-gan evaluate                                  the shipped model, printed only
  fashion-gan evaluate --run runs/NAME --samples 2000   a run's generator (writes runs/NAME/evaluation.json)
  fashion-gan evaluate --quick --json                   the cheap metrics as one JSON object
  fashion-gan evaluate --truncation 2 --quick           typical designs: fidelity up, variety (recall) down
  fashion-gan evaluate --images designs.npy --labels designs-labels.npy
                                                        images from anywhere (e.g. generate --out designs.npy,
                                                        or another framework's numpy.save), measured the same way`,
    )
    .action(async (o: EvaluateCliOptions, cmd: Command) => {
      if (o.images) return evaluateImageFile(o, cmd);
      for (const flag of ['labels', 'dataset'] as const) if (o[flag] !== undefined) throw new UserError(`--${flag} goes with --images (a generator brings its own data set and classes)`);
      const backend = await useBackend(o.backend, !!o.json);
      const { evaluateGenerator, resolveMetricNames } = await import('../../metrics/index');
      resolveMetricNames(o.metrics); // a typo fails before anything is loaded
      const gen = await loadGenerator(o.run);
      try {
        const t0 = Date.now();
        const progress = metricProgress();
        const r = await evaluateGenerator(gen, { samples: o.samples, seed: o.seed, full: !o.quick, metrics: o.metrics, dataDir: o.dataDir, progress: progress.report, truncation: o.truncation });
        progress.done();
        const record = {
          run: o.run ?? showPath(DEFAULT_MODEL_DIR),
          preset: gen.config.preset,
          ...(gen.provenance ?? {}),
          seed: o.seed,
          ...(o.truncation !== undefined ? { truncation: o.truncation } : {}),
          backend,
          seconds: (Date.now() - t0) / 1000,
          command: commandLine(),
          evaluatedAt: new Date().toISOString(),
          ...r,
        };
        // A run's evaluation.json describes its plain samples: truncated ones go only where --out says.
        const out = o.out ?? (o.run && o.truncation === undefined ? runPaths(gen.runDir).evaluation : undefined);
        if (out) writeFileAtomic(out, `${JSON.stringify(record, null, 2)}\n`);
        if (o.json) return printJson(r);
        const at = gen.provenance ? ` at step ${gen.provenance.step.toLocaleString('en-US')} (${gen.provenance.imagesSeen.toLocaleString('en-US')} images seen)` : '';
        const trunc = o.truncation === undefined ? '' : `, latents truncated at ±${o.truncation}`;
        const title = `${showPath(gen.runDir)} (${gen.config.preset})${at}: ${r.samples} samples, seeds ${o.seed}…${o.seed + r.samples - 1}${trunc}`;
        printEvaluation(r, { title, dataset: gen.config.dataset, classNames: gen.config.classNames });
        sayDone(out, t0);
      } finally {
        gen.model.dispose();
      }
    });
}

/**
 * `evaluate --images FILE [--labels FILE]`: images made anywhere (another framework's generator,
 * `generate --out x.npy`, real data), measured exactly as a generator's samples are.
 */
async function evaluateImageFile(o: EvaluateCliOptions, cmd: Command): Promise<void> {
  const images = o.images!;
  for (const flag of ['run', 'truncation'] as const) if (o[flag] !== undefined) throw new UserError(`--${flag} does not go with --images (the images are already drawn)`);
  const dataset = o.dataset ?? 'fashion-mnist';
  const backend = await useBackend(o.backend, !!o.json);
  const { evaluateImages, resolveMetricNames } = await import('../../metrics/index');
  resolveMetricNames(o.metrics);
  const limit = cmd.getOptionValueSource('samples') === 'cli' ? o.samples : Infinity;
  const { pixels, n } = readImageFile(images, IMAGE_SHAPE[dataset], limit);
  const labels = o.labels === undefined ? undefined : readLabelFile(o.labels, n, CLASS_NAMES[dataset].length);
  const t0 = Date.now();
  const progress = metricProgress();
  const r = await evaluateImages(pixels, n, { samples: n, seed: o.seed, full: !o.quick, metrics: o.metrics, dataDir: o.dataDir, progress: progress.report, dataset, labels });
  progress.done();
  const record = { images, ...(o.labels ? { labels: o.labels } : {}), dataset, seed: o.seed, backend, seconds: (Date.now() - t0) / 1000, command: commandLine(), evaluatedAt: new Date().toISOString(), ...r };
  if (o.out) writeFileAtomic(o.out, `${JSON.stringify(record, null, 2)}\n`);
  if (o.json) return printJson(r);
  const title = `${showPath(images)}: ${n} images${labels ? `, classes from ${showPath(o.labels!)}` : ''}`;
  printEvaluation(r, { title, dataset, classNames: CLASS_NAMES[dataset] });
  sayDone(o.out, t0);
}

/** The last line: where the result went (or how to keep it), and how long it took. */
function sayDone(out: string | undefined, t0: number): void {
  const seconds = ((Date.now() - t0) / 1000).toFixed(0);
  say(out ? `wrote ${showPath(out)} (${seconds} s)` : `(${seconds} s; --out FILE keeps the result)`);
}
