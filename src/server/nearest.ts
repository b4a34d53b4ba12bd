/**
 * Nearest training images of a design: what the "never existed" view asks. Runs inside the
 * look-up worker (./nearest-worker.ts), never on the server's event loop.
 */
import { loadDataset, type DatasetName, type Split } from '../data/dataset';
import { nearestNeighboursChunked } from '../metrics/nearest';

export interface Neighbour {
  /** Index in the (class-filtered) training set the run trained on. */
  index: number;
  /** Index in the full training split. */
  datasetIndex: number;
  label: number;
  className: string;
  /** Euclidean distance in pixel space, pixels scaled to [-1, 1]. */
  distance: number;
  /** The training image, uint8 HWC, base64. */
  pixels: string;
}

export interface NearestQuery {
  dataset: DatasetName;
  classFilter: number | null;
  imageShape: [number, number, number];
  /** The design, HWC, in [-1, 1]. */
  pixels: Float32Array;
  k: number;
}

export interface NearestAnswer {
  dataset: DatasetName;
  source: string;
  poolSize: number;
  imageShape: [number, number, number];
  neighbours: Neighbour[];
  /** Root-mean-square per-value difference to the nearest image ([-1, 1] scale). */
  rms: number | null;
  reference: { medianTestDistance: number; testImages: number };
  ms: number;
}

/** What the look-up worker answers to message `id`. */
export type WorkerReply = { id: number; ok: true; answer: NearestAnswer } | { id: number; ok: false; kind: 'data' | 'query' | 'internal'; message: string };

/** A query the data cannot answer (the model's images are not the data set's): the client's fault. */
export class QueryMismatch extends Error {}

interface Pool {
  split: Split;
  test: Split;
  classNames: string[];
  source: string;
}

/** Indices of the images of `split` a run with `classFilter` trained on (null: all). */
function members(split: Split, classFilter: number | null): Int32Array | null {
  if (classFilter === null) return null;
  const keep: number[] = [];
  for (let i = 0; i < split.count; i++) if (split.labels[i] === classFilter) keep.push(i);
  return Int32Array.from(keep);
}

/**
 * The k nearest rows of `split` (or of its `subset`) to each query (rows of `dim` values in
 * [-1, 1]), with positions in the subset. The uint8 images are scaled a chunk at a time, so
 * no float copy of the whole set is ever held.
 */
function search(split: Split, subset: Int32Array | null, queries: Float32Array, k: number) {
  const dim = split.shape[0] * split.shape[1] * split.shape[2];
  const rows = subset ? subset.length : split.count;
  return nearestNeighboursChunked(queries, dim, rows, (start, count) => {
    const out = new Float32Array(count * dim);
    for (let r = 0; r < count; r++) {
      const src = (subset ? subset[start + r]! : start + r) * dim;
      for (let p = 0; p < dim; p++) out[r * dim + p] = (split.images[src + p]! - 127.5) / 127.5;
    }
    return out;
  }, k);
}

/**
 * Nearest training images for designs. The training split of each data set is loaded once
 * (uint8, as on disk, from the places `train` looks; never downloaded) and kept in memory.
 */
export class NeighbourIndex {
  private pools = new Map<DatasetName, Promise<Pool>>();
  private references = new Map<string, Promise<{ median: number; count: number }>>();

  constructor(private readonly dataDir?: string) {}

  private pool(dataset: DatasetName): Promise<Pool> {
    let p = this.pools.get(dataset);
    if (!p) {
      p = loadDataset({ dataset, dataDir: this.dataDir, allowDownload: false }).then((d) => ({ split: d.train, test: d.test, classNames: d.classNames, source: d.source }));
      // A failed load (data set missing) is not cached: the user may install it and retry.
      p.catch(() => this.pools.delete(dataset));
      this.pools.set(dataset, p);
    }
    return p;
  }

  /**
   * How far real unseen items sit from the training set: the median nearest-training distance
   * of a few held-out test images. Gives the page a yardstick for a design's distance.
   */
  private reference(dataset: DatasetName, classFilter: number | null): Promise<{ median: number; count: number }> {
    const key = `${dataset}:${classFilter}`;
    let r = this.references.get(key);
    if (!r) {
      r = (async () => {
        const { split, test } = await this.pool(dataset);
        const dim = split.shape[0] * split.shape[1] * split.shape[2];
        const candidates: number[] = [];
        for (let i = 0; i < test.count; i++) if (classFilter === null || test.labels[i] === classFilter) candidates.push(i);
        const count = Math.min(12, candidates.length);
        if (count === 0) return { median: NaN, count: 0 };
        const q = new Float32Array(count * dim);
        const step = Math.max(1, Math.floor(candidates.length / count));
        for (let i = 0; i < count; i++) {
          const src = candidates[i * step]! * dim;
          for (let p = 0; p < dim; p++) q[i * dim + p] = (test.images[src + p]! - 127.5) / 127.5;
        }
        const d = search(split, members(split, classFilter), q, 1)
          .map((l) => l[0]?.distance ?? NaN)
          .sort((a, b) => a - b);
        return { median: d[Math.floor(d.length / 2)]!, count };
      })();
      r.catch(() => this.references.delete(key));
      this.references.set(key, r);
    }
    return r;
  }

  /** Nearest training images of one design (pixels in [-1, 1], HWC). */
  async query(opts: NearestQuery): Promise<NearestAnswer> {
    const pool = await this.pool(opts.dataset);
    const { split } = pool;
    const [h, w, c] = split.shape;
    if (opts.imageShape[0] !== h || opts.imageShape[1] !== w || opts.imageShape[2] !== c) {
      throw new QueryMismatch(`the model makes ${opts.imageShape.join('×')} images but ${opts.dataset} images are ${split.shape.join('×')}`);
    }
    const dim = h * w * c;
    if (opts.pixels.length !== dim) throw new QueryMismatch(`pixels: expected ${dim} values (${h}×${w}×${c}), got ${opts.pixels.length}`);
    const t0 = performance.now();
    const subset = members(split, opts.classFilter);
    const hits = search(split, subset, opts.pixels, opts.k)[0]!;
    const ms = performance.now() - t0;
    const reference = await this.reference(opts.dataset, opts.classFilter);
    const neighbours: Neighbour[] = hits.map((hit) => {
      const datasetIndex = subset ? subset[hit.index]! : hit.index;
      const label = split.labels[datasetIndex]!;
      return {
        index: hit.index,
        datasetIndex,
        label,
        className: pool.classNames[label] ?? String(label),
        distance: hit.distance,
        pixels: Buffer.from(split.images.subarray(datasetIndex * dim, (datasetIndex + 1) * dim)).toString('base64'),
      };
    });
    return {
      dataset: opts.dataset,
      source: pool.source,
      poolSize: subset ? subset.length : split.count,
      imageShape: split.shape,
      neighbours,
      rms: hits.length ? hits[0]!.distance / Math.sqrt(dim) : null,
      reference: { medianTestDistance: reference.median, testImages: reference.count },
      ms: Math.round(ms),
    };
  }
}
