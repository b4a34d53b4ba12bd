/**
 * Long-run check: trains N steps in-process (the real train() loop, with its checkpoints, sample
 * grids and GIF) and samples tf.memory().numTensors and process RSS every --every steps, to show
 * that neither tensors nor memory grow with the length of a run.
 *
 *   npx tsx scripts/long-run.ts                          # 2,000 steps of fmnist-lms (8× narrower), batch 8, wasm
 *   npx tsx scripts/long-run.ts --steps 500 --batch-size 32 --preset cifar-lms --backend cpu
 *   npx tsx scripts/long-run.ts --filters-scale 1 --batch-size 16 --minutes 5 --json-only
 *   npx tsx scripts/long-run.ts --backend native --filters-scale 1 --batch-size 256 --steps 600 [--class sneaker]
 *
 * --class trains on one class, so an epoch end (grid, history.png, GIF frame, generator export,
 * checkpoint) comes every ~23 steps at batch 256 instead of every ~234.
 *
 * Prints a table and a JSON summary: first/last/max of both series and the slope of RSS over the
 * second half (MB per 1,000 steps, least squares).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../src/backends/index';
import { applyOverrides } from '../src/models/overrides';
import { getPreset } from '../src/models/presets';
import { train } from '../src/training/loop';

const { values: o } = parseArgs({
  options: {
    steps: { type: 'string', default: '2000' },
    preset: { type: 'string', default: 'fmnist-lms' },
    'batch-size': { type: 'string', default: '8' },
    // fmnist-lms narrowed 8× by default so 2,000 steps take minutes on a shared 2-core machine;
    // --filters-scale 1 is the seed's full width (about 1 s a step at batch 16 on wasm there).
    'filters-scale': { type: 'string', default: '0.125' },
    backend: { type: 'string', default: 'wasm' },
    'data-dir': { type: 'string' },
    class: { type: 'string' },
    every: { type: 'string', default: '50' },
    'checkpoint-every': { type: 'string', default: '200' },
    'sample-every': { type: 'string', default: '50' },
    minutes: { type: 'string' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
    'json-only': { type: 'boolean', default: false },
  },
});

const positive = (name: string, v: string | undefined) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`long-run: --${name} ${v}: must be a positive number`);
    process.exit(2);
  }
  return n;
};
const steps = positive('steps', o.steps);
const every = positive('every', o.every);

interface Sample {
  step: number;
  numTensors: number;
  rssMB: number;
  heapMB: number;
  /** ArrayBuffers, which include the WebAssembly backend's memory. */
  arrayBuffersMB: number;
  seconds: number;
}

function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const num = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

const stats = (xs: number[]) => ({ first: xs[0], last: xs.at(-1), max: Math.max(...xs), min: Math.min(...xs) });
const mb = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;

async function mainLongRun() {
  const backend = (await initBackend(o.backend as BackendName)).name;
  let preset = applyOverrides(getPreset(o.preset!), { batchSize: positive('batch-size', o['batch-size']) });
  if (o['filters-scale']) preset = applyOverrides(preset, { filtersScale: positive('filters-scale', o['filters-scale']) });
  if (o.class) preset.classFilter = o.class;
  const tmp = o.out ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'fashion-gan-long-run-'));
  const out = o.out ?? path.join(tmp!, 'run');
  const samples: Sample[] = [];
  const started = Date.now();
  const take = (step: number) => {
    const m = process.memoryUsage();
    samples.push({ step, numTensors: tf.memory().numTensors, rssMB: mb(m.rss), heapMB: mb(m.heapUsed), arrayBuffersMB: mb(m.arrayBuffers), seconds: Math.round((Date.now() - started) / 100) / 10 });
  };
  let result;
  try {
    result = await train({
      preset,
      out,
      dataDir: o['data-dir'],
      steps,
      minutes: o.minutes ? positive('minutes', o.minutes) : undefined,
      seed: Number(o.seed),
      sampleEvery: positive('sample-every', o['sample-every']),
      checkpointEvery: positive('checkpoint-every', o['checkpoint-every']),
      backend,
      command: `scripts/long-run.ts ${process.argv.slice(2).join(' ')}`,
      onStep: (p) => {
        if (p.step === 1 || p.step % every === 0) take(p.step);
      },
      log: (line) => {
        if (!o['json-only']) console.error(line);
      },
    });
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
  if (samples.at(-1)?.step !== result.step) take(result.step);

  if (!o['json-only']) {
    console.log('| step | numTensors | RSS MB | heap MB | ArrayBuffers MB | seconds |');
    console.log('|---:|---:|---:|---:|---:|---:|');
    for (const s of samples) console.log(`| ${s.step} | ${s.numTensors} | ${s.rssMB} | ${s.heapMB} | ${s.arrayBuffersMB} | ${s.seconds} |`);
  }
  const secondHalf = samples.filter((s) => s.step >= result.step / 2);
  const summary = {
    preset: preset.name,
    batchSize: preset.batchSize,
    backend,
    steps: result.step,
    stoppedBy: result.stoppedBy,
    seconds: Math.round((Date.now() - started) / 1000),
    imagesPerSec: Math.round(result.imagesPerSec * 10) / 10,
    samples: samples.length,
    numTensors: stats(samples.map((s) => s.numTensors)),
    rssMB: stats(samples.map((s) => s.rssMB)),
    heapMB: stats(samples.map((s) => s.heapMB)),
    arrayBuffersMB: stats(samples.map((s) => s.arrayBuffersMB)),
    // least-squares slope of RSS over the second half of the run
    rssSlopeMBPer1000Steps: Math.round(slope(secondHalf.map((s) => ({ x: s.step, y: s.rssMB }))) * 1000 * 100) / 100,
    heapSlopeMBPer1000Steps: Math.round(slope(secondHalf.map((s) => ({ x: s.step, y: s.heapMB }))) * 1000 * 100) / 100,
  };
  console.log(JSON.stringify(summary));
}

await mainLongRun();
