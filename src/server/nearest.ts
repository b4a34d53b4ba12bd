import { loadDataset, type DatasetName, type Split } from '../data/dataset';
import { nearestNeighbours } from '../metrics/nearest';

/** Rows per chunk when scanning the training set: the float copy of one chunk is all we allocate. */
const CHUNK = 4096;

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

interface Pool {
  split: Split;
  test: Split;
  classNames: string[];
  source: string;
}

/**
 * Nearest training images for designs. The training split of each data set is loaded once
 * (uint8, as on disk) and kept in memory; distances are computed chunk by chunk in [-1, 1]
 * scale with `nearestNeighbours`, so no float copy of the whole set is ever held.
 */
export class NeighbourIndex {
  private pools = new Map<DatasetName, Promise<Pool>>();
  private references = new Map<string, Promise<{ median: number; count: number }>>();
  /** One computation at a time: they are CPU-bound and would only slow each other down. */
  private queue: Promise<unknown> = Promise.resolve();
  private pending = 0;

  constructor(private readonly opts: { dataDir?: string; maxPending?: number } = {}) {}

  get busy(): boolean {
    return this.pending >= (this.opts.maxPending ?? 8);
  }

  private pool(dataset: DatasetName): Promise<Pool> {
    let p = this.pools.get(dataset);
    if (!p) {
      p = loadDataset({ dataset, dataDir: this.opts.dataDir, allowDownload: false }).then((d) => ({ split: d.train, test: d.test, classNames: d.classNames, source: d.source }));
      // A failed load (data set missing) is not cached: the user may install it and retry.
      p.catch(() => this.pools.delete(dataset));
      this.pools.set(dataset, p);
    }
    return p;
  }

  private serial<T>(fn: () => Promise<T> | T): Promise<T> {
    this.pending++;
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run.finally(() => this.pending--);
  }

  /** Indices of the training images a run with `classFilter` trained on. */
  private static members(split: Split, classFilter: number | null): Int32Array | null {
    if (classFilter === null) return null;
    const keep: number[] = [];
    for (let i = 0; i < split.count; i++) if (split.labels[i] === classFilter) keep.push(i);
    return Int32Array.from(keep);
  }

  /** k nearest of each query (rows of `dim` values in [-1, 1]) among the split's rows (optionally a subset). */
  private static scan(split: Split, members: Int32Array | null, queries: Float32Array, k: number): { index: number; distance: number }[][] {
    const dim = split.shape[0] * split.shape[1] * split.shape[2];
    const n = members ? members.length : split.count;
    const nQ = queries.length / dim;
    const best: { index: number; distance: number }[][] = Array.from({ length: nQ }, () => []);
    const chunk = new Float32Array(Math.min(CHUNK, Math.max(1, n)) * dim);
    for (let start = 0; start < n; start += CHUNK) {
      const rows = Math.min(CHUNK, n - start);
      for (let r = 0; r < rows; r++) {
        const src = (members ? members[start + r]! : start + r) * dim;
        const dst = r * dim;
        for (let p = 0; p < dim; p++) chunk[dst + p] = (split.images[src + p]! - 127.5) / 127.5;
      }
      const found = nearestNeighbours(queries, chunk.subarray(0, rows * dim), dim, Math.min(k, rows));
      found.forEach((list, q) => {
        const merged = best[q]!.concat(list.map((h) => ({ index: members ? members[start + h.index]! : start + h.index, distance: h.distance })));
        merged.sort((a, b) => a.distance - b.distance);
        best[q] = merged.slice(0, k);
      });
    }
    return best;
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
        const d = NeighbourIndex.scan(split, NeighbourIndex.members(split, classFilter), q, 1)
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
  async query(opts: { dataset: DatasetName; classFilter: number | null; imageShape: [number, number, number]; pixels: Float32Array; k: number }) {
    const pool = await this.pool(opts.dataset);
    const { split } = pool;
    const [h, w, c] = split.shape;
    if (opts.imageShape[0] !== h || opts.imageShape[1] !== w || opts.imageShape[2] !== c) {
      throw new Error(`the model makes ${opts.imageShape.join('×')} images but ${opts.dataset} images are ${split.shape.join('×')}`);
    }
    const dim = h * w * c;
    return this.serial(async () => {
      const t0 = performance.now();
      const members = NeighbourIndex.members(split, opts.classFilter);
      const hits = NeighbourIndex.scan(split, members, opts.pixels, opts.k)[0]!;
      const ms = performance.now() - t0;
      const reference = await this.reference(opts.dataset, opts.classFilter);
      const neighbours: Neighbour[] = hits.map((hit) => {
        const label = split.labels[hit.index]!;
        return {
          index: members ? members.indexOf(hit.index) : hit.index,
          datasetIndex: hit.index,
          label,
          className: pool.classNames[label] ?? String(label),
          distance: hit.distance,
          pixels: Buffer.from(split.images.subarray(hit.index * dim, (hit.index + 1) * dim)).toString('base64'),
        };
      });
      return {
        dataset: opts.dataset,
        source: pool.source,
        poolSize: members ? members.length : split.count,
        imageShape: split.shape,
        neighbours,
        /** Root-mean-square per-value difference to the nearest image ([-1, 1] scale). */
        rms: hits.length ? hits[0]!.distance / Math.sqrt(dim) : null,
        reference: { medianTestDistance: reference.median, testImages: reference.count },
        ms: Math.round(ms),
      };
    });
  }
}
