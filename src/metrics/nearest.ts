/**
 * Nearest neighbours by Euclidean distance between rows of two row-major matrices.
 * Used by `evaluate`'s novelty measures and the app's "never existed" view.
 *
 * @param queries  [nQueries, dim] row-major
 * @param pool     [nPool, dim] row-major (e.g. the training set, pixels in [-1, 1] or features)
 * @param k        neighbours per query
 * @returns for each query, the k nearest pool rows (index and distance), nearest first
 */
export function nearestNeighbours(
  queries: Float32Array,
  pool: Float32Array,
  dim: number,
  k: number,
): { index: number; distance: number }[][] {
  const nQ = queries.length / dim;
  const nP = pool.length / dim;
  if (!Number.isInteger(nQ) || !Number.isInteger(nP)) throw new Error('nearestNeighbours: length not a multiple of dim');
  const poolNorms = new Float64Array(nP);
  for (let j = 0; j < nP; j++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += pool[j * dim + d]! ** 2;
    poolNorms[j] = s;
  }
  const result: { index: number; distance: number }[][] = [];
  for (let i = 0; i < nQ; i++) {
    let qNorm = 0;
    for (let d = 0; d < dim; d++) qNorm += queries[i * dim + d]! ** 2;
    // Keep the k best in a small sorted array: k is tiny next to the pool.
    const best: { index: number; d2: number }[] = [];
    for (let j = 0; j < nP; j++) {
      let dot = 0;
      const qo = i * dim;
      const po = j * dim;
      for (let d = 0; d < dim; d++) dot += queries[qo + d]! * pool[po + d]!;
      const d2 = Math.max(0, qNorm + poolNorms[j]! - 2 * dot);
      if (best.length < k || d2 < best[best.length - 1]!.d2) {
        let at = best.length < k ? best.length : best.length - 1;
        if (best.length < k) best.push({ index: j, d2 });
        while (at > 0 && best[at - 1]!.d2 > d2) {
          best[at] = best[at - 1]!;
          at--;
        }
        best[at] = { index: j, d2 };
      }
    }
    result.push(best.map((b) => ({ index: b.index, distance: Math.sqrt(b.d2) })));
  }
  return result;
}
