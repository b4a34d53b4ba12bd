import type { Command } from 'commander';
import type { BackendName } from '../../backends/index';
import { DEFAULT_MODEL_DIR, loadGenerator } from '../../generate';
import { runPaths } from '../../run/paths';
import { writeFileAtomic } from '../../util/atomic';
import { int, list, num } from '../options';
import { metricProgress } from '../progress';
import { backendOption, commandLine, print, printJson, say, showPath, useBackend } from '../shared';

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
    .option('--truncation <t>', 'sample as `generate --truncation t` does (latent coordinates redrawn outside ±t); written only where --out says', num(0, 10, { exclusiveMin: true }))
    .option('--data-dir <dir>', 'where the data set files are')
    .option('--out <file>', 'write the result here as JSON (default: RUN/evaluation.json with --run; nothing for the shipped model)')
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
  fashion-gan evaluate --truncation 0.7 --quick         typical designs: fidelity up, variety (recall) down`,
    )
    .action(async (o: { run?: string; samples: number; seed: number; metrics?: string[]; quick?: boolean; truncation?: number; dataDir?: string; out?: string; json?: boolean; backend: BackendName }) => {
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
        const f = (v: number | undefined, d = 3) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));
        const y = r.yardsticks;
        const g = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
        print(`FD ${f(r.fd, 2)}${y ? `  (real ${g(y.real)} · pixelated ${g(y.pixelated)} · blurred ${g(y.blurred)} · noisy ${g(y.noisy)})` : ''}`);
        const rows: [string, string, string][] = [
          ['FD', f(r.fd, 2), `floor (real train vs test, ${r.samples} images): ${f(r.fdFloor, 2)}`],
          ['KID', `${f(r.kid, 4)} ± ${f(r.kidStd, 4)}`, '≈ 0 when samples and test set match'],
          ['recognisability', f(r.recognisability), 'mean top-class probability'],
          ['classifier score', f(r.classifierScore, 2), `1 … ${gen.numClasses}`],
        ];
        if (r.classFidelity !== undefined) {
          const real = r.classFidelityReal === undefined ? '' : `; real test images: ${f(r.classFidelityReal)}`;
          rows.push(['class fidelity', f(r.classFidelity), `samples the classifier puts in the class they were asked for${real}`]);
        }
        if (r.precision !== undefined) {
          rows.push(['precision / recall', `${f(r.precision)} / ${f(r.recall)}`, 'samples near real ones / test images near samples']);
          rows.push(['density / coverage', `${f(r.density)} / ${f(r.manifoldCoverage)}`, 'outlier-robust versions (≈ 1 / 0.87 for real images; pure noise: ≈ 0.3–0.9 / 0.01)']);
        }
        if (r.memorisationRate !== undefined) {
          rows.push(['memorisation rate', f(r.memorisationRate), `samples nearer a training image than ${f(r.memorisationThreshold, 2)} (the nearest 1 % of real test images; so ≈ 0.01 for new designs)`]);
          if (r.dataCopying !== undefined) {
            const z = r.dataCopying;
            const reading = !Number.isFinite(z) ? 'too few samples per class' : z < -3 ? 'samples sit nearer the training set than unseen images: copying' : z > 3 ? 'samples sit farther from the training set than unseen images' : 'samples as near the training set as unseen images';
            rows.push(['data-copying z', f(z, 1), `${reading} (Meehan et al. 2020, per class; below −3 means copying)`]);
          }
          rows.push(['nearest-train distance', `${f(r.sampleNearestMedian, 2)}`, `median over samples; real test images: ${f(r.testNearestMedian, 2)}`]);
        }
        const at = gen.provenance ? ` at step ${gen.provenance.step.toLocaleString('en-US')} (${gen.provenance.imagesSeen.toLocaleString('en-US')} images seen)` : '';
        const trunc = o.truncation === undefined ? '' : `, latents truncated at ±${o.truncation}`;
        print(`${showPath(gen.runDir)} (${gen.config.preset})${at}: ${r.samples} samples, seeds ${o.seed}…${o.seed + r.samples - 1}${trunc}`);
        const acc = r.classifier.testAccuracy === undefined ? '' : `, ${(r.classifier.testAccuracy * 100).toFixed(2)} % test accuracy`;
        print(`features: ${r.classifier.dir} (weights ${r.classifier.weights}${acc}); reference: ${gen.config.dataset} test set`);
        const w = Math.max(...rows.map((x) => x[0].length));
        const wv = Math.max(...rows.map((x) => x[1].length));
        for (const [name, value, note] of rows) print(`  ${name.padEnd(w)}  ${value.padStart(wv)}   ${note}`);
        print(`  ${'coverage'.padEnd(w)}  ${r.coverage.map((c, i) => `${gen.classNames[i] ?? i} ${(c * 100).toFixed(0)}%`).join(', ')}`);
        if (r.classFidelityPerClass) {
          const real = r.classFidelityRealPerClass;
          const per = r.classFidelityPerClass.map((v, i) => `${gen.classNames[i] ?? i} ${f(v, 2)}${real ? ` (${f(real[i], 2)})` : ''}`);
          print(`  ${'per class'.padEnd(w)}  ${per.join(', ')}${real ? '   (real test images)' : ''}`);
        }
        for (const e of r.nearest ?? []) {
          print(`  sample ${e.sample} (${e.sampleClass}): nearest train #${e.trainIndex} (${e.trainClass}) at ${e.pixelDistance.toFixed(2)} px, #${e.featureTrainIndex} (${e.featureTrainClass}) at ${e.featureDistance.toFixed(2)} in features`);
        }
        say(out ? `wrote ${showPath(out)} (${((Date.now() - t0) / 1000).toFixed(0)} s)` : `(${((Date.now() - t0) / 1000).toFixed(0)} s; --out FILE keeps the result)`);
      } finally {
        gen.model.dispose();
      }
    });
}
