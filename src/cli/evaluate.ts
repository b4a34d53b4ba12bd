import * as path from 'node:path';
import type { Command } from 'commander';
import type { BackendName } from '../backends/index';
import { DEFAULT_MODEL_DIR, loadGenerator } from '../generate';
import { writeFileAtomic } from '../util/atomic';
import { backendOption, relative, say, useBackend } from './main';
import { int } from './options';

/** `fashion-gan evaluate`: every quality number for a run's generator (or the shipped one). */
export function register(program: Command): void {
  program
    .command('evaluate')
    .description('measure a generator: FD, KID, recognisability, coverage, precision/recall and novelty against the test set')
    .option('--run <dir>', 'run folder (default: the shipped model in models/fashion)')
    .option('--samples <n>', 'generated images to measure', int(10, 50000), 2000)
    .option('--seed <n>', 'samples use seeds n, n+1, … (as generate)', int(0, 0xffffffff), 1000000)
    .option('--data-dir <dir>', 'where the data set files are')
    .option('--json', 'print one JSON object')
    .addOption(backendOption())
    .addHelpText(
      'after',
      `
All distances are in the feature space of the project's classifier (models/classifier-DATASET),
against the real test set; fdFloor is the FD between real train and real test images, the best a
generator can hope for. memorisationRate is the share of samples nearer (in pixels) to a training
image than the closest 1 % of real test images are: near 0 means the designs are new.
The result is also written to RUN/evaluation.json.`,
    )
    .action(async (o: { run?: string; samples: number; seed: number; dataDir?: string; json?: boolean; backend: BackendName }) => {
      await useBackend(o.backend, !!o.json);
      const { evaluateGenerator } = await import('../metrics/index');
      const gen = await loadGenerator(o.run);
      try {
        const t0 = Date.now();
        const r = await evaluateGenerator(gen, { samples: o.samples, seed: o.seed, full: true, dataDir: o.dataDir });
        const record = { run: o.run ?? path.relative(process.cwd(), DEFAULT_MODEL_DIR), seed: o.seed, seconds: (Date.now() - t0) / 1000, ...r };
        writeFileAtomic(path.join(gen.runDir, 'evaluation.json'), `${JSON.stringify(record, null, 2)}\n`);
        if (o.json) {
          console.log(JSON.stringify(r));
          return;
        }
        const f = (v: number | undefined, d = 3) => (v === undefined ? '—' : v.toFixed(d));
        console.log(`${relative(gen.runDir)} (${gen.config.preset}), ${r.samples} samples`);
        console.log(`  FD                ${f(r.fd, 2)}   (floor, real train vs test: ${f(r.fdFloor, 2)})`);
        console.log(`  KID               ${f(r.kid, 4)} ± ${f(r.kidStd, 4)}`);
        console.log(`  recognisability   ${f(r.recognisability)}   classifier score ${f(r.classifierScore, 2)} of ${gen.numClasses}`);
        console.log(`  precision/recall  ${f(r.precision)} / ${f(r.recall)}`);
        console.log(`  memorisation rate ${f(r.memorisationRate)}`);
        console.log(`  coverage          ${r.coverage.map((c, i) => `${gen.classNames[i]} ${(c * 100).toFixed(0)}%`).join(', ')}`);
        say(`wrote ${relative(path.join(gen.runDir, 'evaluation.json'))}`);
      } finally {
        gen.model.dispose();
      }
    });
}
