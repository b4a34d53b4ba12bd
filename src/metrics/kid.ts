import { Rng } from '../util/rng';

/**
 * Kernel Inception Distance (Bińkowski et al., 2018): the unbiased estimate of MMD² with the
 * cubic polynomial kernel k(x, y) = (x·y / d + 1)³, averaged over `subsets` random subsets of
 * `subsetSize` rows from each set; returns the mean and the standard deviation over subsets.
 */
export function kernelDistance(x: Float32Array, nx: number, y: Float32Array, ny: number, dim: number, subsets = 10, subsetSize = 1000, seed = 0): { kid: number; kidStd: number } {
  const m = Math.min(subsetSize, nx, ny);
  if (m < 2) return { kid: NaN, kidStd: NaN };
  const rng = new Rng(seed);
  const k = (a: Float32Array, i: number, b: Float32Array, j: number) => {
    let dot = 0;
    for (let d = 0; d < dim; d++) dot += a[i * dim + d]! * b[j * dim + d]!;
    return (dot / dim + 1) ** 3;
  };
  const values: number[] = [];
  for (let s = 0; s < subsets; s++) {
    const ix = rng.shuffle(Uint32Array.from({ length: nx }, (_, i) => i)).subarray(0, m);
    const iy = rng.shuffle(Uint32Array.from({ length: ny }, (_, i) => i)).subarray(0, m);
    let kxx = 0;
    let kyy = 0;
    let kxy = 0;
    for (let a = 0; a < m; a++) {
      for (let b = 0; b < m; b++) {
        if (a !== b) {
          kxx += k(x, ix[a]!, x, ix[b]!);
          kyy += k(y, iy[a]!, y, iy[b]!);
        }
        kxy += k(x, ix[a]!, y, iy[b]!);
      }
    }
    values.push(kxx / (m * (m - 1)) + kyy / (m * (m - 1)) - (2 * kxy) / (m * m));
  }
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  return { kid: mean, kidStd: std };
}
