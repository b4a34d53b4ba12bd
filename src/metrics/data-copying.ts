/**
 * The data-copying test of Meehan, Chaudhuri & Dasgupta (AISTATS 2020, "A Non-Parametric Test to
 * Detect Data-Copying in Generative Models").
 *
 * Each sample and each real *test* image has a distance to its nearest training image. Test images
 * are unseen by construction, so a generator that draws new images from the data distribution
 * gives distances distributed like theirs. The Mann–Whitney U test compares the two: Z ≈ 0 when
 * they match, Z ≪ 0 when samples sit closer to the training set than unseen images do (copying),
 * Z ≫ 0 when they sit farther (the generator has not reached the data's detail yet).
 *
 * A generator can copy in one region and underfit in another, which would cancel in one global Z,
 * so the test is run per cell and the cells' Z averaged with the test set's weights (C_T). The
 * paper's cells are k-means cells of the training set; ours are the classifier's predicted class,
 * the same rule applied to samples and test images.
 */

/** The pair counts and z-score of the Mann–Whitney U test. */
export interface MannWhitney {
  /** pairs (sample, test image) where the sample's distance is the larger; ties count ½ */
  u: number;
  /** (u − mn/2) / √(mn(m+n+1)/12); 0 without both groups */
  z: number;
}

/**
 * Mann–Whitney U of `samples` against `tests`, by ranks of the pooled values (average ranks for
 * ties, so a tie counts ½ a pair), O((m+n) log(m+n)). Negative z: samples are the smaller values.
 */
export function mannWhitney(samples: ArrayLike<number>, tests: ArrayLike<number>): MannWhitney {
  const m = samples.length;
  const n = tests.length;
  if (m === 0 || n === 0) return { u: 0, z: 0 };
  const pooled = Array.from({ length: m + n }, (_, i) => ({ v: i < m ? samples[i]! : tests[i - m]!, sample: i < m }));
  pooled.sort((a, b) => a.v - b.v);
  let rankSum = 0;
  for (let i = 0; i < pooled.length; ) {
    let j = i;
    while (j + 1 < pooled.length && pooled[j + 1]!.v === pooled[i]!.v) j++;
    const rank = (i + j) / 2 + 1; // ranks are 1-based; a run of ties shares their mean
    for (let k = i; k <= j; k++) if (pooled[k]!.sample) rankSum += rank;
    i = j + 1;
  }
  const u = rankSum - (m * (m + 1)) / 2;
  const z = (u - (m * n) / 2) / Math.sqrt((m * n * (m + n + 1)) / 12);
  return { u, z };
}

export interface DataCopying {
  /** C_T: the cells' z-scores averaged with the test images' share of each cell */
  statistic: number;
  /** z-score per cell (NaN where a group has fewer than `minPerCell` members) */
  cellZ: number[];
  /** cells that took part */
  cellsUsed: number;
}

/**
 * C_T over `cells` cells: Mann–Whitney z of the samples' nearest-training distances against the
 * test images' within each cell, averaged with weights = the test images' share of the cell
 * (renormalised over the cells used). Cells with fewer than `minPerCell` samples or test images
 * are left out (the paper drops sparsely sampled cells too), and so are points whose cell is not
 * in 0 … cells − 1. NaN when no cell qualifies.
 */
export function dataCopying(
  sampleDistances: ArrayLike<number>,
  sampleCells: ArrayLike<number>,
  testDistances: ArrayLike<number>,
  testCells: ArrayLike<number>,
  cells: number,
  minPerCell = 20,
): DataCopying {
  if (sampleCells.length !== sampleDistances.length || testCells.length !== testDistances.length) {
    throw new Error('dataCopying: one cell per distance');
  }
  const group = (d: ArrayLike<number>, c: ArrayLike<number>) => {
    const out: number[][] = Array.from({ length: cells }, () => []);
    for (let i = 0; i < d.length; i++) out[c[i]!]?.push(d[i]!);
    return out;
  };
  const s = group(sampleDistances, sampleCells);
  const t = group(testDistances, testCells);
  const cellZ: number[] = [];
  let weighted = 0;
  let weight = 0;
  let cellsUsed = 0;
  for (let c = 0; c < cells; c++) {
    if (s[c]!.length < minPerCell || t[c]!.length < minPerCell) {
      cellZ.push(NaN);
      continue;
    }
    const { z } = mannWhitney(s[c]!, t[c]!);
    cellZ.push(z);
    weighted += t[c]!.length * z;
    weight += t[c]!.length;
    cellsUsed++;
  }
  return { statistic: weight > 0 ? weighted / weight : NaN, cellZ, cellsUsed };
}
