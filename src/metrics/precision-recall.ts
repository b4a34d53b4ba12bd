import type { MetricSpec } from './types';
/** Squared norms of the rows of x [n, dim]. */
function rowNorms(x: Float32Array, n: number, dim: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += x[i * dim + d]! ** 2;
    out[i] = s;
  }
  return out;
}

/** Squared distance between row i of a and row j of b, given their squared norms. */
function dist2(a: Float32Array, i: number, an: Float64Array, b: Float32Array, j: number, bn: Float64Array, dim: number): number {
  let dot = 0;
  const ai = i * dim;
  const bj = j * dim;
  for (let d = 0; d < dim; d++) dot += a[ai + d]! * b[bj + d]!;
  return Math.max(0, an[i]! + bn[j]! - 2 * dot);
}

/** For each row, the squared distance to its k-th nearest other row of the same set. */
export function kthNeighbourRadii(x: Float32Array, n: number, dim: number, k: number): Float64Array {
  const norms = rowNorms(x, n, dim);
  const kk = Math.max(1, Math.min(k, n - 1));
  const radii = new Float64Array(n);
  const best = new Float64Array(kk);
  for (let i = 0; i < n; i++) {
    best.fill(Infinity);
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const d = dist2(x, i, norms, x, j, norms, dim);
      if (d >= best[kk - 1]!) continue;
      let at = kk - 1;
      while (at > 0 && best[at - 1]! > d) {
        best[at] = best[at - 1]!;
        at--;
      }
      best[at] = d;
    }
    radii[i] = best[kk - 1]!;
  }
  return radii;
}

/** Share of the rows of q that fall inside at least one ball (centre row j of x, squared radius radii[j]). */
function shareInside(q: Float32Array, nq: number, x: Float32Array, n: number, radii: Float64Array, dim: number): number {
  const qn = rowNorms(q, nq, dim);
  const xn = rowNorms(x, n, dim);
  // Largest balls first: a query inside any ball is usually inside a big one, so the scan stops early.
  const order = Array.from({ length: n }, (_, j) => j).sort((a, b) => radii[b]! - radii[a]!);
  let count = 0;
  for (let i = 0; i < nq; i++) {
    for (const j of order) {
      if (dist2(q, i, qn, x, j, xn, dim) <= radii[j]!) {
        count++;
        break;
      }
    }
  }
  return count / nq;
}

/**
 * Improved precision and recall (Kynkäänniemi et al., 2019) in feature space: each set's
 * manifold is the union of balls around its points reaching each point's k-th nearest neighbour
 * within the set (k = 3 as in the paper).
 * precision = share of generated points inside the real manifold (are the samples realistic?);
 * recall = share of real points inside the generated manifold (do the samples cover the data?).
 *
 * @param real [nReal, dim] row-major; fake [nFake, dim]
 */
export function precisionRecall(real: Float32Array, nReal: number, fake: Float32Array, nFake: number, dim: number, k = 3): { precision: number; recall: number } {
  if (nReal < 2 || nFake < 2) return { precision: NaN, recall: NaN };
  const realR = kthNeighbourRadii(real, nReal, dim, k);
  const fakeR = kthNeighbourRadii(fake, nFake, dim, k);
  return { precision: shareInside(fake, nFake, real, nReal, realR, dim), recall: shareInside(real, nReal, fake, nFake, fakeR, dim) };
}

/**
 * Density and coverage (Naeem et al., 2020), the outlier-robust successors of precision and
 * recall, on the real set's k-NN balls only:
 * density = Σ_fake (number of real balls holding it) / (k · nFake) — about 1 when samples sit
 * where real data is dense, near 0 for samples that only a few outliers' huge balls reach;
 * coverage = share of real balls holding at least one sample.
 */
export function densityCoverage(real: Float32Array, nReal: number, fake: Float32Array, nFake: number, dim: number, k = 3): { density: number; coverage: number } {
  if (nReal < 2 || nFake < 1) return { density: NaN, coverage: NaN };
  const radii = kthNeighbourRadii(real, nReal, dim, k);
  const rn = rowNorms(real, nReal, dim);
  const fn = rowNorms(fake, nFake, dim);
  const covered = new Uint8Array(nReal);
  let inside = 0;
  for (let i = 0; i < nFake; i++) {
    for (let j = 0; j < nReal; j++) {
      if (dist2(fake, i, fn, real, j, rn, dim) <= radii[j]!) {
        inside++;
        covered[j] = 1;
      }
    }
  }
  return { density: inside / (k * nFake), coverage: covered.reduce((a, b) => a + b, 0) / nReal };
}

export const precisionRecallMetric: MetricSpec = {
  name: 'precisionRecall',
  description: 'improved precision/recall (Kynkäänniemi et al. 2019, k = 3) in features on ≤ 2000 samples and as many test images',
  cheap: false,
  compute: ({ real, fake, options }) => {
    const n = Math.min(options.prSamples, fake.n, real.test.n);
    const r = real.test.features.subarray(0, n * real.dim);
    const f = fake.features.subarray(0, n * real.dim);
    const dc = densityCoverage(r, n, f, n, real.dim, 3);
    return { ...precisionRecall(r, n, f, n, real.dim, 3), density: dc.density, manifoldCoverage: dc.coverage };
  },
};
