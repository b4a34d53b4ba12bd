import { coverage } from './coverage';
import { recognisability } from './recognisability';
import type { MetricSpec } from './types';

/**
 * Classifier score: the Inception Score's formula with the project classifier,
 * exp(E_x KL(p(y|x) ‖ p(y))), where p(y) is the mean of p(y|x) over the samples.
 * From 1 (all samples alike, or the classifier unsure of each) to the number of classes
 * (each sample sure of one class, and the classes balanced).
 *
 * @param probs class probabilities, row-major [n, classes]
 */
export function classifierScore(probs: Float32Array, n: number, classes: number): number {
  if (n === 0) return NaN;
  const marginal = new Float64Array(classes);
  for (let i = 0; i < n; i++) for (let c = 0; c < classes; c++) marginal[c]! += probs[i * classes + c]! / n;
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < classes; c++) {
      const p = probs[i * classes + c]!;
      if (p > 0) kl += p * (Math.log(p) - Math.log(Math.max(marginal[c]!, 1e-30)));
    }
  }
  return Math.exp(kl / n);
}

/** The three numbers computed from class probabilities alone. */
export function classifierScores(probs: Float32Array, n: number, classes: number): { recognisability: number; classifierScore: number; coverage: number[] } {
  return { recognisability: recognisability(probs, n, classes), classifierScore: classifierScore(probs, n, classes), coverage: coverage(probs, n, classes) };
}

export const classifierScoreMetric: MetricSpec = {
  name: 'classifierScore',
  description: 'Inception-Score formula with our classifier, exp(E KL(p(y|x) ‖ p(y))): 1 (alike or unsure) … 10 (sure and balanced)',
  cheap: true,
  compute: ({ real, fake }) => ({ classifierScore: classifierScore(fake.probs, fake.n, real.classes) }),
};
