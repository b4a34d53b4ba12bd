import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { batchPixels, loadDataset, type DatasetName } from '../data/dataset';
import { classifierDir, loadFeatureNet } from '../classifier/model';
import { extractFeatures } from './features';
import { fitGaussian } from './gaussian';
import { nearestOnBackend } from './novelty';
import type { ClassifierIdentity, RealStats, Yardsticks } from './types';
import { cachedYardsticks } from './yardsticks';

/** Which classifier measures: its folder, a hash of its weights, its test accuracy. */
function identify(dir: string): ClassifierIdentity {
  const id: ClassifierIdentity = { dir: path.relative(process.cwd(), dir) || '.', weights: 'unknown' };
  try {
    id.weights = createHash('sha256').update(fs.readFileSync(path.join(dir, 'weights.bin'))).digest('hex').slice(0, 16);
  } catch {
    // the loader has already complained about a missing or unreadable model
  }
  try {
    const t = JSON.parse(fs.readFileSync(path.join(dir, 'training.json'), 'utf8')) as { testAccuracy?: unknown };
    if (typeof t.testAccuracy === 'number') id.testAccuracy = t.testAccuracy;
  } catch {
    // training.json is documentation; a model without one still measures
  }
  return id;
}

const range = (start: number, count: number) => Int32Array.from({ length: count }, (_, i) => start + i);

const cache = new Map<string, Promise<RealStats>>();

/** Drops the cached real statistics (and disposes their classifiers). */
export async function clearRealStats(): Promise<void> {
  const all = [...cache.values()];
  cache.clear();
  for (const s of all) (await s.catch(() => null))?.net.dispose();
}

export interface RealStatsOptions {
  dataset: DatasetName;
  dataDir?: string;
  /** class index the run trained on (null/undefined: all classes) */
  classFilter?: number | null;
  /** test images used as the reference (default: all, up to 10,000) */
  realImages?: number;
  /** classifier folder (default: the shipped models/classifier-DATASET) */
  classifierDir?: string;
}

/** Loads the classifier and the real test statistics of a data set (cached per process). */
export function realStats(o: RealStatsOptions): Promise<RealStats> {
  const realImages = o.realImages ?? 10000;
  const key = JSON.stringify([o.dataset, o.dataDir ?? '', o.classFilter ?? null, realImages, o.classifierDir ?? '']);
  if (!cache.has(key)) {
    const p = (async (): Promise<RealStats> => {
      const data = await loadDataset({ dataset: o.dataset, dataDir: o.dataDir, classFilter: o.classFilter ?? undefined });
      const dir = o.classifierDir ?? classifierDir(o.dataset);
      const net = await loadFeatureNet(o.dataset, dir);
      const nTest = Math.min(realImages, data.test.count);
      const shape = data.test.shape;
      const t = await extractFeatures(net, { split: data.test, indices: range(0, nTest) }, shape);
      const trainCache = new Map<number, Float32Array>();
      const poolCache = new Map<number, Float32Array>();
      const nnCache = new Map<string, Float32Array>();
      const yardstickCache = new Map<number, Promise<Yardsticks>>();
      const px = shape[0] * shape[1] * shape[2];
      const stats: RealStats = {
        dataset: o.dataset,
        data,
        net,
        classifier: identify(dir),
        test: { features: t.features, probs: t.probs, n: nTest, gaussian: fitGaussian(t.features, nTest, t.dim) },
        dim: t.dim,
        classes: t.classes,
        async trainFeatures(n) {
          if (!trainCache.has(n)) {
            const step = data.train.count / n;
            trainCache.set(n, (await extractFeatures(net, { split: data.train, indices: Int32Array.from({ length: n }, (_, i) => Math.floor(i * step)) }, shape)).features);
          }
          return trainCache.get(n)!;
        },
        async poolFeatures(pool) {
          if (!poolCache.has(pool)) poolCache.set(pool, (await extractFeatures(net, { split: data.train, indices: range(0, pool) }, shape)).features);
          return poolCache.get(pool)!;
        },
        async testNearestTrain(n, pool, progress) {
          const key = `${n}/${pool}`;
          if (!nnCache.has(key)) {
            const q = batchPixels(data.test, range(0, n));
            nnCache.set(key, (await nearestOnBackend(q, n, px, pool, (s, c) => batchPixels(data.train, range(s, c)), undefined, progress)).distance);
          }
          return nnCache.get(key)!;
        },
        yardsticks(n) {
          if (!yardstickCache.has(n)) yardstickCache.set(n, cachedYardsticks(stats, n, o.classFilter ?? null));
          return yardstickCache.get(n)!;
        },
      };
      return stats;
    })();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return cache.get(key)!;
}
