/**
 * Per-kernel time profile of the seed GAN train step on one backend.
 *   npx tsx src/backends/native/profile-step.ts [--backend native] [--preset fmnist-lms] [--batch 256] [--steps 3]
 * Every kernel registered for the backend is wrapped with a timer (kernels that call other
 * kernels directly, not through the registry, are counted once, in the outer kernel).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import { registerNativeBackend } from './index';
import { createGanStep, type Preset } from './gan-step';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}

const backend = arg('backend', 'native');
const preset = arg('preset', 'fmnist-lms') as Preset;
const batch = Number(arg('batch', '256'));
const steps = Number(arg('steps', '3'));

const why = registerNativeBackend();
if (why && backend === 'native') throw new Error(why);
if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} failed`);

type Stat = { calls: number; ms: number; faults: number; shapes: Map<string, number> };
const stats = new Map<string, Stat>();
let recording = false;
for (const k of tf.getKernelsForBackend(backend)) {
  const inner = k.kernelFunc;
  tf.unregisterKernel(k.kernelName, backend);
  tf.registerKernel({
    ...k,
    kernelFunc: ((args: Parameters<tf.KernelFunc>[0]) => {
      if (!recording) return inner(args);
      const f0 = process.resourceUsage().minorPageFault;
      const t0 = performance.now();
      const res = inner(args);
      const ms = performance.now() - t0;
      const s = stats.get(k.kernelName) ?? { calls: 0, ms: 0, faults: 0, shapes: new Map() };
      s.faults += process.resourceUsage().minorPageFault - f0;
      s.calls++;
      s.ms += ms;
      const key = Object.values(args.inputs).map((t) => (t ? `${t.dtype[0]}[${t.shape}]` : '-')).join(' ');
      s.shapes.set(key, (s.shapes.get(key) ?? 0) + ms);
      stats.set(k.kernelName, s);
      return res;
    }) as tf.KernelFunc,
  });
}

const gan = createGanStep(preset, batch, 1, arg('dropout', 'layers') as 'layers' | 'mask');
gan.step(); // warm-up
recording = true;
const faults0 = process.resourceUsage().minorPageFault;
const t0 = performance.now();
for (let i = 0; i < steps; i++) gan.step();
const wall = (performance.now() - t0) / steps;
const faultsPerStep = (process.resourceUsage().minorPageFault - faults0) / steps;
recording = false;
const kernelTotal = [...stats.values()].reduce((a, s) => a + s.ms, 0) / steps;
console.log(`backend=${backend} preset=${preset} batch=${batch}: ${wall.toFixed(0)} ms/step (${((batch * 1000) / wall).toFixed(1)} img/s), kernels ${kernelTotal.toFixed(0)} ms/step, other ${(wall - kernelTotal).toFixed(0)} ms/step, ${faultsPerStep.toFixed(0)} page faults/step`);
const rows = [...stats.entries()].sort((a, b) => b[1].ms - a[1].ms);
for (const [name, s] of rows.slice(0, 40)) {
  const top = [...s.shapes.entries()].sort((a, b) => b[1] - a[1]).slice(0, 2).map(([k, ms]) => `${k} ${(ms / steps).toFixed(1)}ms`).join(' | ');
  console.log(`${(s.ms / steps).toFixed(1).padStart(8)} ms ${String(s.calls / steps).padStart(5)}x ${String(Math.round(s.faults / steps)).padStart(6)}pf  ${name.padEnd(22)} ${top}`);
}
gan.dispose();
