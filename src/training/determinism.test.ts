/**
 * Same seed, same bits — on every backend users get: two straight runs, and a run split by a
 * resume, give byte-identical checkpoints, exported generators, history and metrics, with every
 * recipe feature on (dropout masks, WGAN-GP's per-step ε, EMA with standing statistics, spectral
 * norm, DiffAugment, conditioning, class batch norm) and `--eval-every`. Results may differ
 * between backends, never between runs; on native, not between thread counts either.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeTinyFashion } from '../../test/fixtures';
import { initBackend } from '../backends/index';
import { registerNativeBackend, setNativeThreads } from '../backends/native/index';
import { trainingEvaluator } from '../metrics/evaluate';
import { applyOverrides } from '../models/overrides';
import { getPreset } from '../models/presets';
import type { Recipe } from '../models/spec';
import { runPaths } from '../run/paths';
import { loadCheckpoint } from './checkpoint';
import { train, type TrainOptions } from './loop';

const tmp = tempDir();
const dataDir = path.join(tmp.dir, 'data');
const shippedClassifier = fs.existsSync(path.join(__dirname, '../../models/classifier-fashion-mnist/model.json'));

beforeAll(() => writeTinyFashion(dataDir, 36, 24)); // 36 images, batch 8: 5 steps an epoch, the last one partial
afterAll(tmp.cleanup);

// fmnist-lms narrowed 8× keeps the seed's D dropout (masks from the run's RNG) and G batch norm.
const RECIPES: [string, Partial<Recipe>][] = [
  ['WGAN-GP, EMA, spectral norm, DiffAugment, class batch norm, auxiliary classifier', { loss: 'wgan-gp', ema: 0.9, spectralNorm: true, diffAugment: ['translation', 'cutout', 'color'], conditional: true, classBatchNorm: true, auxClassifier: 0.5 }],
  ['BCE with label smoothing and D dropout', { loss: 'bce', labelSmoothing: 0.1 }],
];

/** Every file whose bytes must repeat (wall-clock fields are stripped from the JSONL rows). */
function fingerprint(dir: string): Record<string, string> {
  const p = runPaths(dir);
  const rows = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.stringify({ ...JSON.parse(l), seconds: undefined })).join('\n') : '');
  const bytes = (file: string) => fs.readFileSync(file).toString('base64');
  const samples = fs.readdirSync(p.samples).sort();
  const ck = loadCheckpoint(p.checkpoint);
  return {
    checkpointStep: String(ck.meta.step),
    checkpointTensors: [...ck.tensors].map(([k, t]) => `${k}=${Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength).toString('base64')}`).join(';'),
    generator: bytes(path.join(p.generator, 'weights.bin')),
    history: rows(p.history),
    metrics: rows(p.metrics),
    lastGrid: bytes(path.join(p.samples, samples.at(-1)!)),
    grids: samples.join(','),
  };
}

function suite(backend: 'wasm' | 'native', available: () => boolean) {
  describe.runIf(available())(`on ${backend}`, () => {
    let name = '';
    beforeAll(async () => {
      name = (await initBackend(backend)).name;
    });
    const opts = (recipe: Partial<Recipe>, extra: Partial<TrainOptions>): TrainOptions => ({
      preset: applyOverrides(getPreset('fmnist-lms'), { filtersScale: 0.125, batchSize: 8, recipe }),
      dataDir,
      seed: 21,
      sampleEvery: 3,
      checkpointEvery: 4,
      evalEvery: shippedClassifier ? 3 : undefined,
      evaluate: shippedClassifier ? trainingEvaluator({ samples: 24, dataDir }) : undefined,
      backend: name,
      command: 'test',
      ...extra,
    });

    it.each(RECIPES)('%s: straight twice, and 4 + resume + 4, give the same bits', async (label, recipe) => {
      const slug = `${backend}-${label.replace(/\W+/g, '-')}`;
      const [a, b, c] = ['a', 'b', 'c'].map((x) => path.join(tmp.dir, `${slug}-${x}`));
      await train(opts(recipe, { out: a!, steps: 8 }));
      await train(opts(recipe, { out: b!, steps: 8 }));
      await train(opts(recipe, { out: c!, steps: 4 }));
      await train({ ...opts(recipe, { resume: c!, steps: 8 }), preset: undefined, seed: undefined });
      const fa = fingerprint(a!);
      expect(fa.history.split('\n')).toHaveLength(8);
      if (shippedClassifier) expect(fa.metrics.split('\n').length).toBeGreaterThanOrEqual(2);
      const differ = (x: Record<string, string>) => Object.keys(fa).filter((k) => x[k] !== fa[k]);
      expect(differ(fingerprint(b!)), 'straight vs straight').toEqual([]);
      // The split run also sampled and evaluated where its first invocation ended (step 4):
      // everything else is the same, and so are the rows and grids both runs have.
      const fc = fingerprint(c!);
      expect(differ(fc).filter((k) => k !== 'metrics' && k !== 'grids'), 'straight vs resumed').toEqual([]);
      expect(fc.grids.split(',').filter((g) => g !== 'e0001-s00000004.png')).toEqual(fa.grids.split(','));
      expect(fc.metrics.split('\n').filter((r) => JSON.parse(r).step !== 4)).toEqual(fa.metrics.split('\n').filter((r) => JSON.parse(r).step !== 4));
    }, 120_000);

    if (backend === 'native') {
      it('gives the same bits on 1, 2 and 3 threads', async () => {
        const runs: Record<string, string>[] = [];
        try {
          for (const threads of [1, 2, 3]) {
            setNativeThreads(threads);
            const dir = path.join(tmp.dir, `native-threads-${threads}`);
            await train(opts(RECIPES[0]![1], { out: dir, steps: 6 }));
            runs.push(fingerprint(dir));
          }
        } finally {
          setNativeThreads(Number(process.env.FASHION_NATIVE_THREADS) || (await import('node:os')).availableParallelism());
        }
        const differ = (x: Record<string, string>) => Object.keys(runs[0]!).filter((k) => x[k] !== runs[0]![k]);
        expect(differ(runs[1]!), '2 threads vs 1').toEqual([]);
        expect(differ(runs[2]!), '3 threads vs 1').toEqual([]);
      }, 120_000);
    }
  });
}

suite('wasm', () => true);
suite('native', () => registerNativeBackend() === null);
