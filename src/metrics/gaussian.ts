import { meanCov } from './linalg';

/** A Gaussian fitted to feature rows: mean [dim] and covariance [dim, dim] row-major. */
export interface Gaussian {
  mean: Float64Array;
  cov: Float64Array;
  dim: number;
}

/** Fits a Gaussian to feature rows [count, dim]. */
export function fitGaussian(features: ArrayLike<number>, count: number, dim: number): Gaussian {
  return { ...meanCov(features, count, dim), dim };
}
