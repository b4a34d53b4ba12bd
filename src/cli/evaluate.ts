import * as path from 'node:path';
import type { Command } from 'commander';
import type { BackendName } from '../backends/index';
import { DEFAULT_MODEL_DIR, loadGenerator } from '../generate';
import { runPaths } from '../run/paths';
import { writeFileAtomic } from '../util/atomic';
import { backendOption, relative, say, useBackend } from './main';
import { int } from './options';

/** `--metrics a,b`: a comma-separated list (names are checked against the registry when the command runs). */
function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** `fashion-gan evaluate`: every quality number for a run's generator (or the shipped one). */
export function register(program: Command): void {
  program
    .command('evaluate')
    .description('measure a generator: FD, KID, recognisability, coverage, precision/recall and novelty against the test set')
    .option('--run <dir>', 'run folder (default: the shipped model in models/fashion)')
    .option('--samples <n>', 'generated images to measure', int(10, 50000), 2000)
    .option('--seed <n>', 'sample i uses design seed n + i (as `generate`), so results repeat exactly', int(0, 0xffffffff), 1000000)
    .option('--metrics <list>', 'comma-separated extra metrics (default: all); fd, fdFloor, kid, recognisability, classifierScore, coverage always run', list)
    .option('--quick', 'only the cheap metrics (what training-time --eval-every computes)')
    .option('--data-dir <dir>', 'where the data set files are')
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
  kid ± kidStd      kernel distance (unbiased MMD², cubic kernel) over 10 subsets; ≈ 0 when the sets match
  recognisability   mean top-class probability of the samples (0.1 … 1)
  classifierScore   Inception-Score formula with our classifier (1 … 10)
  coverage          share of samples per predicted class (0.1 each is even; zeros are dropped modes)
  precision/recall  k-NN manifolds (k = 3): realistic samples / covered data (0 … 1)
  memorisationRate  share of samples nearer (pixels) to a training image than the closest 1 % of
                    real test images are: about 0.01 means new designs, much more means copies
The JSON also lists the nearest training image (in pixels and in features) of a few samples.
The result is written to RUN/evaluation.json as well. src/metrics/README.md has the details.`,
    )
    .action(async (o: { run?: string; samples: number; seed: number; metrics?: string[]; quick?: boolean; dataDir?: string; json?: boolean; backend: BackendName }) => {
      const backend = await useBackend(o.backend, !!o.json);
      const { evaluateGenerator, resolveMetricNames } = await import('../metrics/index');
      resolveMetricNames(o.metrics); // a typo fails before anything is loaded
      const gen = await loadGenerator(o.run);
      try {
        const t0 = Date.now();
        const r = await evaluateGenerator(gen, { samples: o.samples, seed: o.seed, full: !o.quick, metrics: o.metrics, dataDir: o.dataDir });
        const record = {
          run: o.run ?? path.relative(process.cwd(), DEFAULT_MODEL_DIR),
          preset: gen.config.preset,
          seed: o.seed,
          backend,
          seconds: (Date.now() - t0) / 1000,
          command: ['fashion-gan', ...process.argv.slice(2)].join(' '),
          evaluatedAt: new Date().toISOString(),
          ...r,
        };
        writeFileAtomic(runPaths(gen.runDir).evaluation, `${JSON.stringify(record, null, 2)}\n`);
        if (o.json) {
          console.log(JSON.stringify(r));
          return;
        }
        const f = (v: number | undefined, d = 3) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));
        const rows: [string, string, string][] = [
          ['FD', f(r.fd, 2), `floor (real train vs test, ${r.samples} images): ${f(r.fdFloor, 2)}`],
          ['KID', `${f(r.kid, 4)} ± ${f(r.kidStd, 4)}`, '≈ 0 when samples and test set match'],
          ['recognisability', f(r.recognisability), 'mean top-class probability'],
          ['classifier score', f(r.classifierScore, 2), `1 … ${gen.numClasses}`],
        ];
        if (r.precision !== undefined) rows.push(['precision / recall', `${f(r.precision)} / ${f(r.recall)}`, 'realistic samples / covered test images']);
        if (r.memorisationRate !== undefined) {
          rows.push(['memorisation rate', f(r.memorisationRate), `samples nearer a training image than ${f(r.memorisationThreshold, 2)} (1st percentile of test images)`]);
          rows.push(['nearest-train distance', `${f(r.sampleNearestMedian, 2)}`, `median over samples; real test images: ${f(r.testNearestMedian, 2)}`]);
        }
        console.log(`${relative(gen.runDir)} (${gen.config.preset}): ${r.samples} samples, seeds ${o.seed}…${o.seed + r.samples - 1}`);
        const acc = r.classifier.testAccuracy === undefined ? '' : `, ${(r.classifier.testAccuracy * 100).toFixed(2)} % test accuracy`;
        console.log(`features: ${r.classifier.dir} (weights ${r.classifier.weights}${acc}); reference: ${gen.config.dataset} test set`);
        const w = Math.max(...rows.map((x) => x[0].length));
        const wv = Math.max(...rows.map((x) => x[1].length));
        for (const [name, value, note] of rows) console.log(`  ${name.padEnd(w)}  ${value.padStart(wv)}   ${note}`);
        console.log(`  ${'coverage'.padEnd(w)}  ${r.coverage.map((c, i) => `${gen.classNames[i] ?? i} ${(c * 100).toFixed(0)}%`).join(', ')}`);
        for (const e of r.nearest ?? []) {
          console.log(`  sample ${e.sample} (${e.sampleClass}): nearest train #${e.trainIndex} (${e.trainClass}) at ${e.pixelDistance.toFixed(2)} px, #${e.featureTrainIndex} (${e.featureTrainClass}) at ${e.featureDistance.toFixed(2)} in features`);
        }
        say(`wrote ${relative(runPaths(gen.runDir).evaluation)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      } finally {
        gen.model.dispose();
      }
    });
}
