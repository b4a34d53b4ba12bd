/**
 * Leak check: runs many train steps of the seed GAN and prints tf.memory().numTensors and RSS.
 *   npx tsx src/backends/native/soak-step.ts [--backend native] [--steps 500] [--batch 256] [--every 25]
 */
import * as tf from '@tensorflow/tfjs';
import { registerNativeBackend } from './index';
import { createGanStep } from './gan-step';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}
const backend = arg('backend', 'native');
const steps = Number(arg('steps', '500'));
const batch = Number(arg('batch', '256'));
const every = Number(arg('every', '25'));

const why = registerNativeBackend();
if (why && backend === 'native') throw new Error(why);
await tf.setBackend(backend);
const gan = createGanStep('fmnist-lms', batch, 1, arg('dropout', 'layers') as 'layers' | 'mask');
const mb = (b: number) => (b / 2 ** 20).toFixed(0);
let t0 = performance.now();
for (let i = 1; i <= steps; i++) {
  gan.step();
  if (i % every === 0 || i === 1) {
    const m = process.memoryUsage();
    const dt = performance.now() - t0;
    console.log(
      `step ${String(i).padStart(4)}: numTensors ${tf.memory().numTensors}, rss ${mb(m.rss)} MiB, heapUsed ${mb(m.heapUsed)} MiB, ` +
        `external ${mb(m.external)} MiB, ${i === 1 ? '-' : ((every * batch * 1000) / dt).toFixed(1)} img/s`,
    );
    t0 = performance.now();
  }
}
gan.dispose();
console.log(`after dispose: numTensors ${tf.memory().numTensors}`);
