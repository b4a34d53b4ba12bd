import * as tf from '@tensorflow/tfjs';

/** Shared by the wasm kernel tests: run a function on a backend, compare against the cpu backend. */

export interface Input {
  shape: number[];
  values: Float32Array;
}

/** Runs `fn` on `backend` with the given input arrays and returns the outputs' values. */
export async function on(backend: string, fn: (...xs: tf.Tensor[]) => tf.Tensor[], inputs: Input[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => fn(...inputs.map((i) => tf.tensor(i.values, i.shape))).map((t) => (t.dataSync() as Float32Array).slice()));
}

/** max |a − b| / max |b|. */
export function maxRelErr(a: Float32Array, b: Float32Array): number {
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  let err = 0;
  for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i]! - b[i]!));
  return err / Math.max(scale, 1e-12);
}
