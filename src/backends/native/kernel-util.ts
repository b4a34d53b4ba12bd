import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './addon';

/**
 * What every native override shares: its signature, reading float32 inputs, making outputs, and
 * where output arrays come from. Each override checks dtypes and shapes, takes the fast path for
 * float32 only, and otherwise calls `fallback` — the pure-JS cpu kernel for the same name.
 */

export type TensorInfo = tf.TensorInfo;
export type Attrs = Record<string, unknown>;
export type Inputs = Record<string, TensorInfo | null | undefined>;
export type KernelArgs = { inputs: Inputs; backend: MathBackendCPU; attrs?: Attrs };
export type KernelImpl = (args: KernelArgs) => TensorInfo | TensorInfo[];
export type Override = (addon: NativeAddon, args: KernelArgs, fallback: KernelImpl) => TensorInfo | TensorInfo[];

export function f32(backend: MathBackendCPU, t: TensorInfo | null | undefined): Float32Array | null {
  if (!t || t.dtype !== 'float32') return null;
  const v = backend.data.get(t.dataId)?.values;
  return v instanceof Float32Array ? v : null;
}

export function out(backend: MathBackendCPU, shape: number[], values: Float32Array | Uint8Array | Int32Array, dtype: tf.DataType = 'float32'): TensorInfo {
  return backend.makeTensorInfo(shape, dtype, values);
}

export const size = (shape: number[]) => tf.util.sizeFromShape(shape);

let allocator: (n: number) => Float32Array = (n) => new Float32Array(n);

/**
 * A Float32Array for a kernel output that the addon overwrites completely (contents are garbage).
 * `nativeOverrides` sets where they come from: the recycler of the backend that registers them.
 */
export const alloc = (n: number): Float32Array => allocator(n);

export function setAllocator(allocate: (n: number) => Float32Array): void {
  allocator = allocate;
}

// ------------------------------------------------------------------------------------------
// Activations (codes shared with native/src/gemm.h `Act`).
const ACT: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, sigmoid: 4, elu: 5 };

export function actCode(activation: unknown): number | null {
  if (activation == null) return 0;
  const code = ACT[activation as string];
  return code === undefined ? null : code;
}

