import { fitGaussian, type Gaussian } from './gaussian';
import { traceSqrtProduct } from './linalg';
import type { MetricSpec } from './types';

export { fitGaussian, type Gaussian } from './gaussian';

/**
 * Fréchet distance between two Gaussians (the FID formula, in whatever feature space they were
 * fitted): ‖μ1 − μ2‖² + tr(Σ1 + Σ2 − 2(Σ1 Σ2)^{1/2}).
 */
export function frechetDistance(a: Gaussian, b: Gaussian): number {
  const n = a.dim;
  let meanTerm = 0;
  for (let i = 0; i < n; i++) meanTerm += (a.mean[i]! - b.mean[i]!) ** 2;
  let trace = 0;
  for (let i = 0; i < n; i++) trace += a.cov[i * n + i]! + b.cov[i * n + i]!;
  return Math.max(0, meanTerm + trace - 2 * traceSqrtProduct(a.cov, b.cov, n));
}

/** FD of feature rows [n, dim] to a reference Gaussian. */
export function fdTo(reference: Gaussian, features: Float32Array, n: number): number {
  return frechetDistance(fitGaussian(features, n, reference.dim), reference);
}

export const fdMetric: MetricSpec = {
  name: 'fd',
  description: 'Fréchet distance between Gaussians fitted to sample and test-set features (FID with our classifier); lower is better',
  cheap: true,
  compute: ({ real, fake }) => ({ fd: fdTo(real.test.gaussian, fake.features, fake.n) }),
};

export const fdFloorMetric: MetricSpec = {
  name: 'fdFloor',
  description: 'FD between as many real training images as samples and the test set: the FD a perfect generator would get',
  cheap: true,
  compute: async ({ real, fake }) => {
    const n = Math.min(fake.n, real.data.train.count);
    return { fdFloor: fdTo(real.test.gaussian, await real.trainFeatures(n), n) };
  },
};
