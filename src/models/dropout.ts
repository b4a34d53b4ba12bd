import * as tf from '@tensorflow/tfjs';
import { DROPOUT_MASK } from '../backends/kernel-names';
import type { Rng } from '../util/rng';

/**
 * Where dropout masks come from during training. TF.js's Dropout layer with a fixed seed draws
 * the same mask on every call, and without one it draws from Math.random, which no checkpoint
 * can restore. The train step points this at the step's own RNG instead.
 */
let maskRng: Rng | null = null;

/** Runs `fn` with dropout masks drawn from `rng` (restores the previous source afterwards). */
export function withDropoutRng<T>(rng: Rng, fn: () => T): T {
  const previous = maskRng;
  maskRng = rng;
  try {
    return fn();
  } finally {
    maskRng = previous;
  }
}

/** Inverted dropout: keeps each unit with probability 1 − rate and scales kept units by 1 / (1 − rate). */
export class RunDropout extends tf.layers.Layer {
  static className = 'RunDropout';
  readonly rate: number;

  constructor(args: { rate: number; name?: string }) {
    super({ name: args.name });
    this.rate = args.rate;
    this.supportsMasking = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (!kwargs.training || this.rate === 0) return x;
    if (!maskRng) throw new Error('RunDropout: called in training mode outside withDropoutRng');
    const rng = maskRng;
    // A backend with a mask kernel (native: all cores) draws it from a seed the run's RNG gives.
    if (tf.getKernel(DROPOUT_MASK, tf.getBackend())) {
      return tf.tidy(() => tf.mul(x, tf.engine().runKernel(DROPOUT_MASK, {}, { shape: x.shape, rate: this.rate, seed: rng.nextSeed() }) as tf.Tensor));
    }
    return tf.tidy(() => {
      const scale = 1 / (1 - this.rate);
      const threshold = Math.round(this.rate * 16777216);
      const mask = new Float32Array(x.size);
      for (let i = 0; i < mask.length; i++) mask[i] = rng.nextUint32() >>> 8 >= threshold ? scale : 0;
      return tf.mul(x, tf.tensor(mask, x.shape, 'float32'));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate };
  }
}
tf.serialization.registerClass(RunDropout);

/**
 * A saved model's topology with the training-only layers replaced by stock ones: RunDropout
 * becomes Keras's Dropout (the same rate; the identity at inference), so an exported generator
 * loads with a plain tf.loadLayersModel anywhere — the page needs no stand-in.
 */
export function stockTopology(topology: unknown): unknown {
  if (Array.isArray(topology)) return topology.map(stockTopology);
  if (topology === null || typeof topology !== 'object') return topology;
  const o = topology as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = stockTopology(v);
  if (o.class_name === RunDropout.className) out.class_name = 'Dropout';
  return out;
}
