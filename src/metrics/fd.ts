import { meanCov, traceSqrtProduct } from './linalg';

export interface Gaussian {
  mean: Float64Array;
  cov: Float64Array;
  dim: number;
}

/** Fits a Gaussian to feature rows [count, dim]. */
export function fitGaussian(features: ArrayLike<number>, count: number, dim: number): Gaussian {
  return { ...meanCov(features, count, dim), dim };
}

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
