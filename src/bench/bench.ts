import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../backends/index';
import { UserError } from '../errors';
import { buildDiscriminator, buildGenerator } from '../models/builder';
import type { Preset } from '../models/spec';
import { Adam } from '../training/adam';
import { trainStep, type Gan } from '../training/step';
import { Rng } from '../util/rng';
import { KernelProfiler, type KernelRow } from './profile';
import { PREDICT_BATCH, readTidy } from '../util/tensors';

export interface BenchResult {
  preset: string;
  backend: string;
  batchSize: number;
  trainImagesPerSec: number;
  generate64Ms: number;
  /** Per-step seconds, for the record. */
  stepSeconds: number[];
  numTensorsBefore: number;
  numTensorsAfter: number;
  /** Per-kernel times per timed step, with `profile`. */
  profile?: KernelRow[];
}

/** What bench can time: a backend, or the native backend with one GEMM (native-builtin, native-openblas). */
export const BENCH_BACKENDS = ['native', 'native-builtin', 'native-openblas', 'wasm', 'cpu', 'tensorflow'] as const;
export type BenchBackend = (typeof BENCH_BACKENDS)[number];

/** Activates `name`; for native-<gemm>, the native backend with that GEMM. Returns the name to report and how to undo the GEMM choice. */
async function useBenchBackend(name: BenchBackend | BackendName): Promise<{ name: string; restore: () => void }> {
  const gemm = name === 'native-builtin' ? 'builtin' : name === 'native-openblas' ? 'openblas' : null;
  const chosen = await initBackend(gemm ? 'native' : (name as BackendName));
  if (!gemm) return { name: chosen.name, restore: () => {} };
  const { setNativeGemm } = await import('../backends/native/index');
  const why = setNativeGemm(gemm);
  if (why) throw new UserError(`--backend ${name}: ${why}`);
  return { name, restore: () => void setNativeGemm('default') };
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * Times the preset's full train step (G and D forward, backward and Adam updates, on random
 * data of the right shape) and the generation of 64 images, after `warmup` untimed steps.
 * Reports medians.
 */
export async function benchBackend(preset: Preset, backend: BenchBackend | BackendName, batchSize: number, steps: number, warmup = 2, profile = false): Promise<BenchResult> {
  const chosen = await useBenchBackend(backend);
  const { model } = preset;
  const rng = new Rng(1);
  const generator = buildGenerator(model, 1);
  const discriminator = buildDiscriminator(model, 2);
  const gan: Gan = { generator, discriminator, optG: new Adam(preset.optimizerG, generator.trainableWeights), optD: new Adam(preset.optimizerD, discriminator.trainableWeights) };
  const real = tf.tensor4d(rng.normal(batchSize * model.imageShape.reduce((a, b) => a * b, 1)).map((v) => Math.tanh(v)), [batchSize, ...model.imageShape]);
  const profiler = profile ? new KernelProfiler(tf.getBackend()) : null;
  try {
    const stepSeconds: number[] = [];
    let numTensorsBefore = 0;
    for (let i = 0; i < warmup + steps; i++) {
      if (i === warmup) {
        numTensorsBefore = tf.memory().numTensors;
        profiler?.start();
      }
      const z = tf.tensor2d(rng.normal(batchSize * model.latentDim), [batchSize, model.latentDim]);
      const t0 = performance.now();
      trainStep(gan, { real, z }, rng, preset.recipe);
      const dt = (performance.now() - t0) / 1000;
      z.dispose();
      if (i >= warmup) stepSeconds.push(dt);
    }
    profiler?.stop();
    const numTensorsAfter = tf.memory().numTensors;
    const z64 = rng.normal(64 * model.latentDim);
    const genMs: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t0 = performance.now();
      readTidy(() => generator.predict(tf.tensor2d(z64, [64, model.latentDim]), { batchSize: PREDICT_BATCH }) as tf.Tensor);
      genMs.push(performance.now() - t0);
    }
    return {
      preset: preset.name,
      backend: chosen.name,
      batchSize,
      trainImagesPerSec: batchSize / median(stepSeconds),
      generate64Ms: median(genMs.slice(2)),
      stepSeconds,
      numTensorsBefore,
      numTensorsAfter,
      ...(profiler ? { profile: profiler.rows(steps) } : {}),
    };
  } finally {
    profiler?.stop();
    chosen.restore();
    tf.dispose(real);
    gan.optG.dispose();
    gan.optD.dispose();
    generator.dispose();
    discriminator.dispose();
  }
}

const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench');

/**
 * Runs the PyTorch reference (bench/torch_step.py) on the same preset and batch, when python3
 * with torch is installed. Returns null (and why) otherwise.
 */
export function benchPyTorch(preset: string, batchSize: number, steps: number): { trainImagesPerSec: number; generate64Ms: number; torch: string; threads: number } | { skipped: string } {
  // Debian's python3-torch lives in the system python, which a pyenv or venv python3 on PATH hides.
  const python = ['python3', '/usr/bin/python3'].find((py) => spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0);
  if (!python) return { skipped: 'python3 with torch is not installed (apt-get install python3-torch)' };
  const r = spawnSync(python, [path.join(BENCH_DIR, 'torch_step.py'), '--preset', preset, '--batch-size', String(batchSize), '--steps', String(steps)], { encoding: 'utf8', timeout: 1_800_000 });
  if (r.status !== 0) return { skipped: `torch_step.py failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}` };
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

/** Presets bench/torch_step.py rebuilds in PyTorch. */
export const TORCH_PRESETS = ['fmnist-lms', 'cifar-lms', 'fashion'];

export type TorchRun = { trainImagesPerSec: number; generate64Ms: number; torch: string; threads: number };

export interface BenchOptions {
  preset: Preset;
  backends: BenchBackend[];
  batchSize: number;
  steps: number;
  /** alternate PyTorch and every backend this many times */
  rounds: number;
  /** run the PyTorch reference (for the presets it knows) */
  torch: boolean;
  profile: boolean;
}

/** What bench reports as it goes: a measurement, or something skipped (and why). */
export type BenchEvent =
  | { type: 'torch-skipped'; reason: string }
  | { type: 'backend-skipped'; backend: string; reason: string }
  | { type: 'backend'; round: number; result: BenchResult; ratio?: number }
  | { type: 'torch'; round: number; result: TorchRun };

/** One backend over all rounds: medians, the ratio to PyTorch (median of the per-round ratios). */
export interface BenchSummary {
  preset: string;
  backend: string;
  batchSize: number;
  trainImagesPerSec: number;
  generate64Ms: number;
  pytorchImagesPerSec?: number;
  ratioToPyTorch?: number;
  rounds?: { trainImagesPerSec: number; generate64Ms: number; ratioToPyTorch?: number }[];
  numTensorsBefore: number;
  numTensorsAfter: number;
  profile?: KernelRow[];
  /** the per-round ratios (for the "rounds:" list) */
  ratios: number[];
  roundsRun: number;
}

export interface TorchSummary {
  preset: string;
  backend: string;
  batchSize: number;
  trainImagesPerSec: number;
  generate64Ms: number;
  threads: number;
  torch: string;
  rounds?: number[];
  roundsRun: number;
}

/**
 * Times PyTorch (when asked and installed) and every backend, `rounds` times alternating, so
 * load that comes and goes hits both sides; each backend's ratio to PyTorch is taken within
 * its round. A backend that is not available here is skipped (reported once).
 */
export async function benchRounds(opts: BenchOptions, onEvent: (e: BenchEvent) => void = () => {}): Promise<{ backends: BenchSummary[]; torch?: TorchSummary }> {
  const { preset, batchSize, steps, rounds } = opts;
  const withTorch = opts.torch && TORCH_PRESETS.includes(preset.name);
  const torchRuns: TorchRun[] = [];
  const runs = new Map<string, (BenchResult & { ratio?: number })[]>();
  const skipped = new Set<string>();
  for (let round = 1; round <= rounds; round++) {
    const torch = withTorch ? benchPyTorch(preset.name, batchSize, steps) : null;
    if (torch && 'skipped' in torch) {
      if (round === 1) onEvent({ type: 'torch-skipped', reason: torch.skipped });
    } else if (torch) torchRuns.push(torch);
    const torchNow = torch && !('skipped' in torch) ? torch : undefined;
    for (const name of opts.backends) {
      if (skipped.has(name)) continue;
      let r: BenchResult;
      try {
        r = await benchBackend(preset, name, batchSize, steps, 2, opts.profile);
      } catch (err) {
        if (!(err instanceof UserError)) throw err;
        onEvent({ type: 'backend-skipped', backend: name, reason: err.message });
        skipped.add(name);
        continue;
      }
      const ratio = torchNow ? r.trainImagesPerSec / torchNow.trainImagesPerSec : undefined;
      runs.set(r.backend, [...(runs.get(r.backend) ?? []), { ...r, ratio }]);
      onEvent({ type: 'backend', round, result: r, ratio });
    }
    if (torchNow) onEvent({ type: 'torch', round, result: torchNow });
  }
  const torchMedian = torchRuns.length ? median(torchRuns.map((t) => t.trainImagesPerSec)) : undefined;
  const backends: BenchSummary[] = [...runs].map(([backend, rs]) => {
    const ratios = rs.map((r) => r.ratio).filter((x): x is number => x !== undefined);
    return {
      preset: preset.name,
      backend,
      batchSize,
      trainImagesPerSec: median(rs.map((r) => r.trainImagesPerSec)),
      generate64Ms: median(rs.map((r) => r.generate64Ms)),
      ...(ratios.length ? { pytorchImagesPerSec: torchMedian, ratioToPyTorch: median(ratios) } : {}),
      ...(rounds > 1 ? { rounds: rs.map((r) => ({ trainImagesPerSec: r.trainImagesPerSec, generate64Ms: r.generate64Ms, ...(r.ratio !== undefined ? { ratioToPyTorch: r.ratio } : {}) })) } : {}),
      numTensorsBefore: rs[0]!.numTensorsBefore,
      numTensorsAfter: rs[rs.length - 1]!.numTensorsAfter,
      ...(rs[0]!.profile ? { profile: rs[0]!.profile } : {}),
      ratios,
      roundsRun: rs.length,
    };
  });
  const t = torchRuns[0];
  const torch: TorchSummary | undefined = t
    ? {
        preset: preset.name,
        backend: `pytorch-${t.torch}`,
        batchSize,
        trainImagesPerSec: torchMedian!,
        generate64Ms: median(torchRuns.map((x) => x.generate64Ms)),
        threads: t.threads,
        torch: t.torch,
        ...(rounds > 1 ? { rounds: torchRuns.map((x) => x.trainImagesPerSec) } : {}),
        roundsRun: torchRuns.length,
      }
    : undefined;
  return { backends, torch };
}
