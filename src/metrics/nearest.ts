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

/**
 * `nearestNeighbours` over a pool delivered in chunks, so no float copy of the whole pool is
 * held (e.g. uint8 training images converted to [-1, 1] a chunk at a time). The one
 * nearest-neighbour scan of the project: `evaluate`'s worked examples and the app's "never
 * existed" look-ups both call it. Ties keep the earlier pool row.
 *
 * @param queries   [nQueries, dim] row-major
 * @param poolRows  rows in the pool
 * @param poolChunk returns pool rows [start, start + count) as a row-major Float32Array
 * @returns for each query, the k nearest pool rows (index in the pool and distance), nearest first
 */
export function nearestNeighboursChunked(
  queries: Float32Array,
  dim: number,
  poolRows: number,
  poolChunk: (start: number, count: number) => Float32Array,
  k: number,
  chunk = 4096,
): { index: number; distance: number }[][] {
  const nQ = queries.length / dim;
  const best: { index: number; distance: number }[][] = Array.from({ length: nQ }, () => []);
  for (let start = 0; start < poolRows; start += chunk) {
    const rows = Math.min(chunk, poolRows - start);
    const found = nearestNeighbours(queries, poolChunk(start, rows), dim, Math.min(k, rows));
    found.forEach((list, q) => {
      // A stable sort of (earlier best, this chunk's): equal distances keep the earlier row.
      const merged = best[q]!.concat(list.map((h) => ({ index: start + h.index, distance: h.distance })));
      merged.sort((a, b) => a.distance - b.distance);
      best[q] = merged.slice(0, k);
    });
  }
  return best;
}
