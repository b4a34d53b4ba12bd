/**
 * Train-step throughput of the seed GAN on TF.js backends.
 *   npx tsx src/backends/native/bench-step.ts [--preset fmnist-lms] [--batch 256] [--steps 7] [--cpu-batch 8] [--cpu-steps 2] [--backends native,wasm,cpu] [--wasm-steps 3] [--dropout layers|mask]
 * Prints median img/s for the train step and the median time to generate 64 images.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import { pathToFileURL } from 'node:url';
import { registerNativeBackend } from './index';
import { createGanStep, type Preset } from './gan-step';

export interface BenchOptions {
  backend: string;
  batchSize: number;
  steps: number;
  preset?: Preset;
  /** 'layers' (tf.layers Dropout, JS RNG; default) or 'mask' (masks from the addon's RNG). */
  dropout?: 'layers' | 'mask';
  /** Untimed steps first (default 1). */
  warmup?: number;
}

export interface BenchResult {
  backend: string;
  batchSize: number;
  steps: number;
  /** batchSize / median step time. */
  imagesPerSec: number;
  medianStepMs: number;
  stepMs: number[];
  /** Median time to generate 64 images (inference mode). */
  generate64Ms: number;
  /** Median process CPU time (user + system, all threads) per step: with other load on the machine, batchSize / (cpu / cores) bounds img/s. */
  medianStepCpuMs: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Times `steps` train steps of the seed GAN on `backend` (activating it; 'native' is registered on demand). */
export async function benchTrainStep(opts: BenchOptions): Promise<BenchResult> {
  if (opts.backend === 'native') {
    const why = registerNativeBackend();
    if (why) throw new Error(why);
  }
  if (opts.backend === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
    (await import('../wasm-kernels')).patchWasmKernels();
  }
  const prev = tf.getBackend();
  if (!(await tf.setBackend(opts.backend))) throw new Error(`backend ${opts.backend} failed to initialise`);
  try {
    const gan = createGanStep(opts.preset ?? 'fmnist-lms', opts.batchSize, 1, opts.dropout ?? 'layers');
    try {
      for (let i = 0; i < (opts.warmup ?? 1); i++) gan.step();
      const stepMs: number[] = [];
      const cpuMs: number[] = [];
      for (let i = 0; i < opts.steps; i++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        gan.step();
        stepMs.push(performance.now() - t0);
        const c = process.cpuUsage(c0);
        cpuMs.push((c.user + c.system) / 1000);
      }
      const gen: number[] = [];
      gan.generate(64);
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        gan.generate(64);
        gen.push(performance.now() - t0);
      }
      const medianStepMs = median(stepMs);
      return {
        backend: opts.backend,
        batchSize: opts.batchSize,
        steps: opts.steps,
        imagesPerSec: (opts.batchSize * 1000) / medianStepMs,
        medianStepMs,
        stepMs,
        generate64Ms: median(gen),
        medianStepCpuMs: median(cpuMs),
      };
    } finally {
      gan.dispose();
    }
  } finally {
    if (prev && prev !== opts.backend) await tf.setBackend(prev);
  }
}

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}

async function main() {
  const preset = arg('preset', 'fmnist-lms') as Preset;
  const batch = Number(arg('batch', '256'));
  const steps = Number(arg('steps', '7'));
  const cpuBatch = Number(arg('cpu-batch', '8'));
  const cpuSteps = Number(arg('cpu-steps', '2'));
  const wasmSteps = Number(arg('wasm-steps', '3'));
  const backends = arg('backends', 'native,cpu').split(',');
  const dropout = arg('dropout', 'layers') as 'layers' | 'mask';
  const rows: BenchResult[] = [];
  for (const backend of backends) {
    const isCpu = backend === 'cpu';
    const r = await benchTrainStep({
      backend,
      preset,
      dropout,
      batchSize: isCpu ? cpuBatch : batch,
      steps: isCpu ? cpuSteps : backend === 'wasm' ? wasmSteps : steps,
    });
    rows.push(r);
    console.log(
      `${preset} dropout=${dropout} ${backend.padEnd(6)} batch ${String(r.batchSize).padStart(3)}: ${r.imagesPerSec.toFixed(1).padStart(7)} img/s ` +
        `(median ${r.medianStepMs.toFixed(0)} ms/step of ${r.steps}, cpu ${r.medianStepCpuMs.toFixed(0)} ms/step; steps ${r.stepMs.map((x) => x.toFixed(0)).join(' ')}), ` +
        `generate 64: ${r.generate64Ms.toFixed(1)} ms`,
    );
  }
  console.log(`machine load average (1 min) at the end: ${(await import('node:os')).loadavg()[0].toFixed(2)} on ${(await import('node:os')).cpus().length} cores`);
  if (rows.length > 1) {
    const [a, b] = rows;
    console.log(`${a.backend} / ${b.backend} speed-up: ${(a.imagesPerSec / b.imagesPerSec).toFixed(1)}×`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
