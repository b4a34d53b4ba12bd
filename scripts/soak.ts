/**
 * Memory soak of the real train loop (data, steps, sample grids, checkpoints): trains a preset
 * for --steps steps into a scratch folder and prints tf.memory().numTensors and the process RSS
 * every --every steps, then the RSS slope over the second half.
 *   npx tsx scripts/soak.ts [--preset fmnist-lms] [--steps 600] [--every 50] [--backend native]
 *       [--batch-size 256] [--class sneaker] [--out .tmp/soak] [--json]
 */
import * as fs from 'node:fs';
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../src/backends/index';
import { int, nonEmpty } from '../src/cli/options';
import { applyOverrides } from '../src/models/overrides';
import { getPreset } from '../src/models/presets';
import { train } from '../src/training/loop';

const o = new Command()
  .option('--preset <name>', 'model preset', 'fmnist-lms')
  .option('--steps <n>', 'train steps', int(2), 600)
  .option('--every <n>', 'record every n steps', int(1), 50)
  .option('--backend <name>', 'TF.js backend', 'native')
  .option('--batch-size <n>', 'images per step', int(1), 256)
  .option('--out <dir>', 'scratch run folder (replaced)', nonEmpty, '.tmp/soak')
  .option('--class <name>', 'train on one class: an epoch (with its grid, chart, GIF frame, export and checkpoint) every ~23 steps at batch 256', nonEmpty)
  .option('--json', 'one JSON object per record')
  .parse()
  .opts<{ preset: string; steps: number; every: number; backend: string; batchSize: number; out: string; class?: string; json?: boolean }>();

const backend = await initBackend(o.backend as BackendName);
fs.rmSync(o.out, { recursive: true, force: true });
const preset = applyOverrides(getPreset(o.preset), { batchSize: o.batchSize });
if (o.class) preset.classFilter = o.class;
const mib = (b: number) => b / 2 ** 20;
const rows: Array<{ step: number; numTensors: number; rssMiB: number; heapUsedMiB: number; seconds: number }> = [];
const t0 = performance.now();
await train({
  preset,
  out: o.out,
  steps: o.steps,
  seed: 1,
  sampleEvery: 50,
  checkpointEvery: 200,
  backend: backend.name,
  command: 'soak',
  onStep: (p) => {
    if (p.step !== 1 && p.step % o.every !== 0) return;
    const m = process.memoryUsage();
    const row = { step: p.step, numTensors: tf.memory().numTensors, rssMiB: Math.round(mib(m.rss)), heapUsedMiB: Math.round(mib(m.heapUsed)), seconds: Math.round((performance.now() - t0) / 1000) };
    rows.push(row);
    console.log(o.json ? JSON.stringify(row) : `step ${String(row.step).padStart(5)}  numTensors ${row.numTensors}  rss ${row.rssMiB} MiB  heapUsed ${row.heapUsedMiB} MiB  ${row.seconds} s`);
  },
});
const half = rows.filter((r) => r.step >= o.steps / 2);
if (half.length >= 2) {
  const first = half[0]!;
  const last = half[half.length - 1]!;
  const slope = ((last.rssMiB - first.rssMiB) / (last.step - first.step)) * 1000;
  const tensors = new Set(rows.slice(1).map((r) => r.numTensors));
  console.log(`${preset.name} on ${backend.name}, batch ${o.batchSize}: numTensors ${[...tensors].join('/')} after step 1; RSS ${rows[0]!.rssMiB} → ${last.rssMiB} MiB, second half ${first.rssMiB} → ${last.rssMiB} MiB (${slope.toFixed(1)} MiB per 1,000 steps)`);
}
