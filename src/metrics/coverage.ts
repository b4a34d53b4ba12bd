import type { MetricSpec } from './types';
/**
 * Coverage: the share of samples the classifier assigns (argmax) to each class — `classes`
 * numbers summing to 1. A generator that covers the data set evenly gives 0.1 each on the
 * balanced 10-class sets; mode collapse shows as a few large shares and zeros.
 *
 * @param probs class probabilities, row-major [n, classes]
 */
export function coverage(probs: Float32Array, n: number, classes: number): number[] {
  const out = new Array<number>(classes).fill(0);
  if (n === 0) return out;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (probs[i * classes + c]! > probs[i * classes + best]!) best = c;
    out[best]! += 1;
  }
  return out.map((v) => v / n);
}

export const coverageMetric: MetricSpec = {
  name: 'coverage',
  description: 'share of samples the classifier puts in each class (10 numbers; 0.1 each is even)',
  cheap: true,
  compute: ({ real, fake }) => ({ coverage: coverage(fake.probs, fake.n, real.classes) }),
};
