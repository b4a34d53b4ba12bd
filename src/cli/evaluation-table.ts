import * as path from 'node:path';
import type { Evaluation } from '../metrics/types';
import { print, showPath } from './shared';

/** What was measured, for the lines above the table. */
export interface EvaluatedSource {
  /** e.g. "models/fashion (fashion) at step 36,000 …: 2000 samples, seeds 1000000…1001999" */
  title: string;
  dataset: string;
  classNames: string[];
}

/** Prints `evaluate`'s human-readable report: the FD line with its yardsticks, then one row a metric with what it means. */
export function printEvaluation(r: Evaluation, source: EvaluatedSource): void {
  const f = (v: number | undefined, d = 3) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));
  const y = r.yardsticks;
  const g = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
  print(`FD ${f(r.fd, 2)}${y ? `  (real ${g(y.real)} · pixelated ${g(y.pixelated)} · blurred ${g(y.blurred)} · noisy ${g(y.noisy)})` : ''}`);
  const rows: [string, string, string][] = [
    ['FD', f(r.fd, 2), `floor (real train vs test, ${r.samples} images): ${f(r.fdFloor, 2)}`],
    ['KID', `${f(r.kid, 4)} ± ${f(r.kidStd, 4)}`, '≈ 0 when samples and test set match'],
    ['recognisability', f(r.recognisability), 'mean top-class probability'],
    ['classifier score', f(r.classifierScore, 2), `1 … ${source.classNames.length}`],
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
  print(source.title);
  const acc = r.classifier.testAccuracy === undefined ? '' : `, ${(r.classifier.testAccuracy * 100).toFixed(2)} % test accuracy`;
  print(`features: ${showPath(path.resolve(r.classifier.dir))} (weights ${r.classifier.weights}${acc}); reference: ${source.dataset} test set`);
  const w = Math.max(...rows.map((x) => x[0].length));
  const wv = Math.max(...rows.map((x) => x[1].length));
  for (const [name, value, note] of rows) print(`  ${name.padEnd(w)}  ${value.padStart(wv)}   ${note}`);
  print(`  ${'coverage'.padEnd(w)}  ${r.coverage.map((c, i) => `${source.classNames[i] ?? i} ${(c * 100).toFixed(0)}%`).join(', ')}`);
  if (r.classFidelityPerClass) {
    const real = r.classFidelityRealPerClass;
    const per = r.classFidelityPerClass.map((v, i) => `${source.classNames[i] ?? i} ${f(v, 2)}${real ? ` (${f(real[i], 2)})` : ''}`);
    print(`  ${'per class'.padEnd(w)}  ${per.join(', ')}${real ? '   (real test images)' : ''}`);
  }
  for (const e of r.nearest ?? []) {
    print(`  sample ${e.sample} (${e.sampleClass}): nearest train #${e.trainIndex} (${e.trainClass}) at ${e.pixelDistance.toFixed(2)} px, #${e.featureTrainIndex} (${e.featureTrainClass}) at ${e.featureDistance.toFixed(2)} in features`);
  }}
