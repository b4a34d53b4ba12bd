import type { MetricSpec } from './types';
/**
 * Recognisability: the mean top-class probability the project classifier gives the samples.
 * 1 = every sample is, to the classifier, unmistakably some garment; 1/classes = pure guessing.
 * Real Fashion-MNIST test images score about 0.93 with the shipped classifier.
 *
 * @param probs class probabilities, row-major [n, classes]
 */
export function recognisability(probs: Float32Array, n: number, classes: number): number {
  if (n === 0) return NaN;
  let top = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 0; c < classes; c++) best = Math.max(best, probs[i * classes + c]!);
    top += best;
  }
  return top / n;
}

export const recognisabilityMetric: MetricSpec = {
  name: 'recognisability',
  description: 'mean top-class probability the classifier gives the samples (real test images: see `classifier evaluate`)',
  cheap: true,
  compute: ({ real, fake }) => ({ recognisability: recognisability(fake.probs, fake.n, real.classes) }),
};
