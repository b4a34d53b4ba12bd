/**
 * Improved precision and recall (Kynkäänniemi et al., 2019) in feature space: each set's
 * manifold is the union of balls reaching every point's k-th nearest neighbour in its own set.
 * precision = share of generated points inside the real manifold (are the samples realistic?);
 * recall = share of real points inside the generated manifold (do the samples cover the data?).
 */
export function precisionRecall(real: Float32Array, nReal: number, fake: Float32Array, nFake: number, dim: number, k = 3): { precision: number; recall: number } {
  const d2 = (a: Float32Array, i: number, b: Float32Array, j: number) => {
    let s = 0;
    for (let d = 0; d < dim; d++) s += (a[i * dim + d]! - b[j * dim + d]!) ** 2;
    return s;
  };
  const kthRadius = (x: Float32Array, n: number) => {
    const radii = new Float64Array(n);
    const row = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) row[j] = i === j ? Infinity : d2(x, i, x, j);
      radii[i] = Float64Array.from(row).sort()[Math.min(k - 1, n - 2)]!;
    }
    return radii;
  };
  const inside = (q: Float32Array, nq: number, x: Float32Array, n: number, radii: Float64Array) => {
    let count = 0;
    for (let i = 0; i < nq; i++) {
      for (let j = 0; j < n; j++) {
        if (d2(q, i, x, j) <= radii[j]!) {
          count++;
          break;
        }
      }
    }
    return count / nq;
  };
  const realR = kthRadius(real, nReal);
  const fakeR = kthRadius(fake, nFake);
  return { precision: inside(fake, nFake, real, nReal, realR), recall: inside(real, nReal, fake, nFake, fakeR) };
}
