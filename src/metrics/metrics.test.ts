import { describe, expect, it } from 'vitest';
import { initBackend } from '../backends/index';
import { UserError } from '../errors';
import { Rng } from '../util/rng';
import { classFidelity } from './class-fidelity';
import { classifierScore, classifierScores } from './classifier-score';
import { coverage } from './coverage';
import { fitGaussian, frechetDistance, type Gaussian } from './fd';
import { ALL_METRICS, CHEAP_METRICS, listMetrics, resolveMetricNames } from './index';
import { kernelDistance } from './kid';
import { matmul, sqrtPsd, symmetricEigen } from './linalg';
import { nearestNeighbours } from './nearest';
import { memorisationRate, nearestInPool, percentile } from './novelty';
import { densityCoverage, precisionRecall } from './precision-recall';
import { recognisability } from './recognisability';
import { addNoise, boxBlur3x3, pixelate2x2 } from './yardsticks';

const gaussian = (mean: number[], cov: number[][]): Gaussian => ({ mean: Float64Array.from(mean), cov: Float64Array.from(cov.flat()), dim: mean.length });
const transpose = (a: Float64Array, n: number) => Float64Array.from({ length: n * n }, (_, i) => a[(i % n) * n + Math.floor(i / n)]!);
const diag = (d: number[]) => Float64Array.from({ length: d.length ** 2 }, (_, i) => (i % (d.length + 1) === 0 ? d[i / (d.length + 1)]! : 0));

/** A random rotation (orthonormal Q from the eigenvectors of a random symmetric matrix). */
function rotation(n: number, seed: number): Float64Array {
  const a = Float64Array.from(new Rng(seed).normal(n * n));
  return symmetricEigen(matmul(a, transpose(a, n), n), n).vectors;
}

/** Samples [count, dim] from N(mean, L Lᵀ). */
function sampleGaussian(mean: number[], l: Float64Array, count: number, seed: number): Float32Array {
  const dim = mean.length;
  const z = new Rng(seed).normal(count * dim);
  const out = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    for (let a = 0; a < dim; a++) {
      let s = mean[a]!;
      for (let b = 0; b < dim; b++) s += l[a * dim + b]! * z[i * dim + b]!;
      out[i * dim + a] = s;
    }
  }
  return out;
}

describe('linear algebra', () => {
  it('the eigen-decomposition reconstructs the matrix: V diag(λ) Vᵀ = M, Vᵀ V = I', () => {
    const n = 7;
    const a = Float64Array.from(new Rng(2).normal(n * n));
    const m = matmul(a, transpose(a, n), n);
    const { values, vectors } = symmetricEigen(m, n);
    const back = matmul(matmul(vectors, diag([...values]), n), transpose(vectors, n), n);
    const eye = matmul(transpose(vectors, n), vectors, n);
    for (let i = 0; i < n * n; i++) {
      expect(back[i]).toBeCloseTo(m[i]!, 9);
      expect(eye[i]).toBeCloseTo(i % (n + 1) === 0 ? 1 : 0, 12);
    }
  });

  it('the matrix square root squares back to the matrix, and is itself symmetric', () => {
    const n = 5;
    const a = Float64Array.from(new Rng(3).normal(n * n));
    const m = matmul(a, transpose(a, n), n);
    const r = sqrtPsd(m, n);
    const rr = matmul(r, r, n);
    for (let i = 0; i < n * n; i++) {
      expect(rr[i]).toBeCloseTo(m[i]!, 9);
      expect(r[i]).toBeCloseTo(transpose(r, n)[i]!, 12);
    }
  });
});

describe('Fréchet distance', () => {
  it('of two diagonal Gaussians is ‖μ1 − μ2‖² + Σ(σ1 − σ2)²', () => {
    const a = gaussian([0, 1, 2], [[4, 0, 0], [0, 1, 0], [0, 0, 9]]);
    const b = gaussian([1, 1, 0], [[1, 0, 0], [0, 1, 0], [0, 0, 4]]);
    expect(frechetDistance(a, b)).toBeCloseTo(1 + 0 + 4 + (2 - 1) ** 2 + 0 + (3 - 2) ** 2, 9);
  });

  it('of full (rotated) covariances matches the closed form ‖Δμ‖² + Σ(√λ1 − √λ2)² for commuting Σ1 = Q D1 Qᵀ, Σ2 = Q D2 Qᵀ', () => {
    const n = 6;
    const q = rotation(n, 11);
    const d1 = [1, 4, 9, 0.25, 2, 16];
    const d2 = [4, 1, 1, 1, 8, 9];
    const s1 = matmul(matmul(q, diag(d1), n), transpose(q, n), n);
    const s2 = matmul(matmul(q, diag(d2), n), transpose(q, n), n);
    const a: Gaussian = { mean: Float64Array.from([0, 0, 1, 2, 3, 0]), cov: s1, dim: n };
    const b: Gaussian = { mean: Float64Array.from([1, 0, 1, 0, 3, 0]), cov: s2, dim: n };
    const expected = 1 + 4 + d1.reduce((s, v, i) => s + (Math.sqrt(v) - Math.sqrt(d2[i]!)) ** 2, 0);
    expect(frechetDistance(a, b)).toBeCloseTo(expected, 8);
    expect(frechetDistance(b, a)).toBeCloseTo(expected, 8);
  });

  it('of non-commuting 2-D Gaussians matches the closed form tr(Σ1 + Σ2) − 2 √(tr Σ1Σ2 + 2 √det Σ1Σ2)', () => {
    // In 2-D, tr √M = √(tr M + 2 √det M) for M with non-negative eigenvalues.
    const s1 = [[2, 0.9], [0.9, 1]];
    const s2 = [[1, -0.4], [-0.4, 3]];
    const a = gaussian([0, 0], s1);
    const b = gaussian([0.5, -1], s2);
    const p = matmul(a.cov, b.cov, 2);
    const trP = p[0]! + p[3]!;
    const detP = p[0]! * p[3]! - p[1]! * p[2]!;
    const expected = 0.25 + 1 + 2 + 1 + 1 + 3 - 2 * Math.sqrt(trP + 2 * Math.sqrt(detP));
    expect(frechetDistance(a, b)).toBeCloseTo(expected, 10);
  });

  it('of samples approaches the closed form, is 0 for a set with itself, and is symmetric', () => {
    const n = 4;
    const l1 = Float64Array.from([1, 0, 0, 0, 0.5, 1, 0, 0, 0, 0.3, 2, 0, 0.2, 0, 0, 1]);
    const l2 = Float64Array.from([2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0.5]);
    const x = sampleGaussian([0, 0, 0, 0], l1, 20000, 1);
    const y = sampleGaussian([1, 0, -1, 0], l2, 20000, 2);
    const gx = fitGaussian(x, 20000, n);
    const gy = fitGaussian(y, 20000, n);
    const exact = frechetDistance(
      { mean: new Float64Array(n), cov: matmul(l1, transpose(l1, n), n), dim: n },
      { mean: Float64Array.from([1, 0, -1, 0]), cov: matmul(l2, transpose(l2, n), n), dim: n },
    );
    expect(Math.abs(frechetDistance(gx, gy) - exact)).toBeLessThan(0.05 * exact);
    expect(frechetDistance(gx, gx)).toBeLessThan(1e-9);
    expect(frechetDistance(gx, gy)).toBeCloseTo(frechetDistance(gy, gx), 9);
  });
});

describe('KID', () => {
  it('is about 0 for one distribution and clearly positive for a shifted one', () => {
    const rng = new Rng(3);
    const x = rng.normal(400 * 8);
    const y = rng.normal(400 * 8);
    const shifted = rng.normal(400 * 8).map((v) => v + 1);
    const same = kernelDistance(x, 400, y, 400, 8, 5, 200, 1);
    const diff = kernelDistance(x, 400, shifted, 400, 8, 5, 200, 1);
    expect(Math.abs(same.kid)).toBeLessThan(3 * same.kidStd + 0.02);
    expect(diff.kid).toBeGreaterThan(0.2);
    expect(diff.kid).toBeGreaterThan(10 * Math.abs(same.kid));
  });

  it('matches a direct evaluation of the unbiased MMD² formula with the cubic kernel', () => {
    const dim = 3;
    const x = new Rng(4).normal(5 * dim);
    const y = new Rng(5).normal(5 * dim).map((v) => v + 0.5);
    const k = (a: Float32Array, i: number, b: Float32Array, j: number) => {
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += a[i * dim + d]! * b[j * dim + d]!;
      return (dot / dim + 1) ** 3;
    };
    let xx = 0;
    let yy = 0;
    let xy = 0;
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 5; j++) {
        if (i !== j) {
          xx += k(x, i, x, j);
          yy += k(y, i, y, j);
        }
        xy += k(x, i, y, j);
      }
    }
    // One subset of all rows: the permutation does not change the sums.
    const r = kernelDistance(x, 5, y, 5, dim, 1, 5, 9);
    expect(r.kid).toBeCloseTo(xx / 20 + yy / 20 - (2 * xy) / 25, 10);
    expect(r.kidStd).toBe(0);
  });
});

describe('precision and recall', () => {
  it('are 1 for a set against itself and 0 against a far-away set', () => {
    const x = new Rng(4).normal(200 * 4);
    expect(precisionRecall(x, 200, x, 200, 4)).toEqual({ precision: 1, recall: 1 });
    const far = x.map((v) => v + 100);
    expect(precisionRecall(x, 200, far, 200, 4)).toEqual({ precision: 0, recall: 0 });
  });

  it('separate realism from coverage: samples from one corner of the data are precise but recall little', () => {
    const real = new Rng(5).normal(600 * 2);
    const corner = new Rng(6).normal(600 * 2).map((v) => 0.1 * v + 0.3);
    const r = precisionRecall(real, 600, corner, 600, 2);
    expect(r.precision).toBeGreaterThan(0.95);
    expect(r.recall).toBeLessThan(0.2);
  });

  it('density and coverage: known answers on hand-placed points', () => {
    // Real points 0, 1, 2, 10 on a line (k = 1): radii 1, 1, 1, 8 (squared: 1, 1, 1, 64).
    const real = Float32Array.from([0, 1, 2, 10]);
    // A sample at 0.5 sits in the balls of 0 and 1; one at 5 only in the outlier's (10, radius 8).
    const { density, coverage } = densityCoverage(real, 4, Float32Array.from([0.5, 5]), 2, 1, 1);
    expect(density).toBeCloseTo((2 + 1) / (1 * 2), 12);
    expect(coverage).toBeCloseTo(3 / 4, 12); // balls of 0, 1 and 10 hold a sample; 2's does not
    const same = new Rng(7).normal(300 * 3);
    expect(densityCoverage(same, 300, same, 300, 3, 3).coverage).toBe(1);
    expect(densityCoverage(same, 300, same.map((v) => v + 100), 300, 3, 3)).toEqual({ density: 0, coverage: 0 });
  });
});

describe('classifier score, recognisability, coverage', () => {
  it('the score is 1 for uniform predictions, 10 for sure and balanced, 1 for sure of one class', () => {
    const unsure = new Float32Array(100 * 10).fill(0.1);
    expect(classifierScore(unsure, 100, 10)).toBeCloseTo(1, 6);
    expect(recognisability(unsure, 100, 10)).toBeCloseTo(0.1, 6);
    const sure = new Float32Array(100 * 10);
    for (let i = 0; i < 100; i++) sure[i * 10 + (i % 10)] = 1;
    const s = classifierScores(sure, 100, 10);
    expect(s.classifierScore).toBeCloseTo(10, 6);
    expect(s.recognisability).toBe(1);
    expect(s.coverage.every((c) => Math.abs(c - 0.1) < 1e-12)).toBe(true);
    const oneClass = new Float32Array(100 * 10);
    for (let i = 0; i < 100; i++) oneClass[i * 10 + 3] = 1;
    expect(classifierScore(oneClass, 100, 10)).toBeCloseTo(1, 6);
    expect(coverage(oneClass, 100, 10)).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  });

  it('the score of sure predictions over k balanced classes is k', () => {
    const p = new Float32Array(60 * 10);
    for (let i = 0; i < 60; i++) p[i * 10 + (i % 4)] = 1;
    expect(classifierScore(p, 60, 10)).toBeCloseTo(4, 6);
  });
});

describe('class fidelity', () => {
  it('counts the samples whose top class is the class asked for, overall and per class', () => {
    // 4 samples over 3 classes: asked 0, 1, 2, 0; the classifier says 0, 2, 2, 1.
    const probs = Float32Array.from([0.8, 0.1, 0.1, 0.1, 0.2, 0.7, 0.0, 0.1, 0.9, 0.3, 0.6, 0.1]);
    const r = classFidelity(probs, Int32Array.from([0, 1, 2, 0]), 3);
    expect(r.overall).toBe(0.5);
    expect(r.perClass).toEqual([0.5, 0, 1]);
  });
});

describe('novelty', () => {
  it('the backend nearest-neighbour search agrees with nearestNeighbours', async () => {
    await initBackend('cpu');
    const rng = new Rng(5);
    const q = rng.normal(7 * 5);
    const p = rng.normal(50 * 5);
    const fast = await nearestInPool(q, 7, p, 50, 5, 16);
    const plain = nearestNeighbours(q, p, 5, 1);
    for (let i = 0; i < 7; i++) {
      expect(fast.index[i]).toBe(plain[i]![0]!.index);
      expect(fast.distance[i]).toBeCloseTo(plain[i]![0]!.distance, 4);
    }
  });

  it('memorisationRate counts samples below the 1st percentile of test distances', () => {
    const test = Float64Array.from({ length: 101 }, (_, i) => 1 + i / 10); // 1st percentile: 1.1
    expect(percentile(test, 0.01)).toBeCloseTo(1.1, 12);
    expect(memorisationRate([0, 0.5, 1.05, 2, 3], test)).toEqual({ rate: 0.6, threshold: percentile(test, 0.01) });
    expect(memorisationRate([5, 6], test).rate).toBe(0);
  });
});

describe('yardstick images', () => {
  const shape: [number, number, number] = [3, 3, 1];
  const img = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);

  it('pixelates 2×2 blocks to their mean (a partial block at the edge to its own mean)', () => {
    expect(Array.from(pixelate2x2(img, 1, shape))).toEqual([3, 3, 4.5, 3, 3, 4.5, 7.5, 7.5, 9]);
  });

  it('box-blurs 3×3 over the pixels inside the image', () => {
    const out = boxBlur3x3(img, 1, shape);
    expect(out[4]).toBeCloseTo(5, 6); // centre: all nine
    expect(out[0]).toBeCloseTo((1 + 2 + 4 + 5) / 4, 6); // corner: four
    expect(out[1]).toBeCloseTo((1 + 2 + 3 + 4 + 5 + 6) / 6, 6); // edge: six
  });

  it('adds clipped Gaussian noise of the given σ, repeatably', () => {
    const flat = new Float32Array(20000).fill(0);
    const a = addNoise(flat, 0.2, 5);
    const sd = Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    expect(sd).toBeGreaterThan(0.19);
    expect(sd).toBeLessThan(0.21);
    expect(Array.from(addNoise(flat, 0.2, 5))).toEqual(Array.from(a));
    expect(addNoise(new Float32Array(1000).fill(0.95), 0.2, 1).every((v) => v <= 1)).toBe(true);
  });
});

describe('the registry', () => {
  it('lists every metric once, cheap ones first-class, and rejects unknown names with a one-line UserError', () => {
    expect(ALL_METRICS()).toEqual(['fd', 'fdFloor', 'yardsticks', 'kid', 'recognisability', 'classifierScore', 'coverage', 'classFidelity', 'precisionRecall', 'novelty']);
    expect(CHEAP_METRICS()).toEqual(['fd', 'fdFloor', 'yardsticks', 'kid', 'recognisability', 'classifierScore', 'coverage', 'classFidelity']);
    expect(listMetrics().every((m) => m.description.length > 10)).toBe(true);
    expect(resolveMetricNames(['novelty'])).toEqual([...CHEAP_METRICS(), 'novelty']);
    expect(resolveMetricNames(undefined, false)).toEqual(CHEAP_METRICS());
    expect(() => resolveMetricNames(['fid'])).toThrow(UserError);
    expect(() => resolveMetricNames(['fid'])).toThrow(/unknown metric "fid" \(allowed: fd, /);
  });
});
