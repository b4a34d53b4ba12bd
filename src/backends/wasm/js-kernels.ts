import * as tf from '@tensorflow/tfjs';
import { LEAKY_RELU_GRAD } from '../kernel-names';
import { registerLeakyReluGradient } from '../native/kernels';

/**
 * Kernels that tfjs-backend-wasm 4.22 runs as slow generic loops (5–60 ns per element, against
 * ~0.5 for its XNNPACK add/multiply), rewritten as plain JS loops over the wasm heap. Each takes
 * the cases the train step produces and hands everything else to the original kernel.
 *
 * Heap views are taken after the output is allocated: an allocation can grow the wasm memory,
 * which detaches every earlier view.
 */

/** The parts of tfjs-backend-wasm's backend object that the project's wasm kernels use. */
export interface WasmHeap {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray;
  incRef(dataId: object): void;
  disposeData(dataId: object): boolean;
}

type KernelArgs = Parameters<tf.KernelFunc>[0];
const heapOf = (args: KernelArgs) => args.backend as unknown as WasmHeap;
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const numeric = (t: tf.TensorInfo) => t.dtype === 'float32' || t.dtype === 'int32' || t.dtype === 'bool';

/** Identity without the copy: tensors are immutable, so the output can share the input's memory (as on 'cpu'). */
function identity(args: KernelArgs, original: tf.KernelFunc) {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype === 'string') return original(args);
  heapOf(args).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Writes tile(x, reps) for axes ≥ axis at out[outOff…]; returns how many values it wrote. */
function tileInto(x: tf.TypedArray, xOff: number, shape: number[], reps: number[], axis: number, out: tf.TypedArray, outOff: number): number {
  let block: number;
  if (axis === shape.length - 1) {
    block = shape[axis]!;
    out.set(x.subarray(xOff, xOff + block), outOff);
  } else {
    const innerX = size(shape.slice(axis + 1));
    let innerOut = 0;
    for (let i = 0; i < shape[axis]!; i++) innerOut = tileInto(x, xOff + i * innerX, shape, reps, axis + 1, out, outOff + i * innerOut);
    block = shape[axis]! * innerOut;
  }
  // Repeat the block reps[axis] times by doubling.
  const total = block * reps[axis]!;
  for (let done = block; done < total; done *= 2) out.copyWithin(outOff + done, outOff, outOff + Math.min(done, total - done));
  return total;
}

function tile(args: KernelArgs, original: tf.KernelFunc) {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { reps } = args.attrs as unknown as { reps: number[] };
  if (!numeric(x) || x.shape.length === 0 || size(x.shape) === 0 || reps.length !== x.shape.length) return original(args);
  const heap = heapOf(args);
  const out = heap.makeOutput(x.shape.map((s, i) => s * reps[i]!), x.dtype);
  if (size(out.shape) > 0) tileInto(heap.typedArrayFromHeap(x), 0, x.shape, reps, 0, heap.typedArrayFromHeap(out), 0);
  return out;
}

/**
 * Sum and Mean over leading axes (bias and batch-norm gradients, batch statistics): the wasm
 * kernels transpose the reduced axes to the back first.
 */
function reduceLeading(args: KernelArgs, original: tf.KernelFunc, mean: boolean) {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const k = axes.length;
  if (x.dtype !== 'float32' || k === 0 || k === x.shape.length || axes.some((a, i) => a !== i)) return original(args);
  const rows = size(x.shape.slice(0, k));
  const cols = size(x.shape.slice(k));
  const acc = new Float64Array(cols);
  const heap = heapOf(args);
  const out = heap.makeOutput(keepDims ? x.shape.map((s, i) => (i < k ? 1 : s)) : x.shape.slice(k), 'float32');
  const xs = heap.typedArrayFromHeap(x);
  for (let r = 0, off = 0; r < rows; r++, off += cols) for (let c = 0; c < cols; c++) acc[c]! += xs[off + c]!;
  const scale = mean ? 1 / rows : 1;
  const res = heap.typedArrayFromHeap(out);
  for (let c = 0; c < cols; c++) res[c] = acc[c]! * scale;
  return out;
}

function leakyRelu(args: KernelArgs, original: tf.KernelFunc) {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { alpha } = args.attrs as unknown as { alpha: number };
  if (x.dtype !== 'float32') return original(args);
  const heap = heapOf(args);
  const out = heap.makeOutput(x.shape, 'float32');
  const xs = heap.typedArrayFromHeap(x);
  const ys = heap.typedArrayFromHeap(out);
  // Branch-free (a table lookup): the signs of activations are a coin toss for the branch predictor.
  const factor = Float64Array.of(1, alpha);
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    ys[i] = v * factor[+(v < 0)]!;
  }
  return out;
}

/**
 * LeakyReLU's gradient where(x > 0, dy, dy·alpha) in one pass (TF.js's formula takes a Greater,
 * a Multiply and a Select). The same numbers: dy·alpha is a product of two float32 values,
 * exact in a double and rounded once, as the float32 Multiply does.
 */
function leakyReluGrad(args: KernelArgs) {
  const { dy, x } = args.inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
  if (dy.dtype !== 'float32' || x.dtype !== 'float32' || size(dy.shape) !== size(x.shape)) throw new Error(`${LEAKY_RELU_GRAD}: float32 dy and x of one size expected`);
  const heap = heapOf(args);
  const out = heap.makeOutput(x.shape, 'float32');
  const xs = heap.typedArrayFromHeap(x);
  const dys = heap.typedArrayFromHeap(dy);
  const dx = heap.typedArrayFromHeap(out);
  const factor = Float64Array.of(Math.fround((args.attrs as unknown as { alpha: number }).alpha), 1);
  for (let i = 0; i < xs.length; i++) dx[i] = dys[i]! * factor[+(xs[i]! > 0)]!;
  return out;
}

/** a > b for float32 a and a scalar or same-shape b (LeakyReLU's and ReLU's gradient masks). */
function greater(args: KernelArgs, original: tf.KernelFunc) {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const scalarB = size(b.shape) === 1 && b.shape.length <= a.shape.length;
  const sameShape = tf.util.arraysEqual(a.shape, b.shape);
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || !(scalarB || sameShape)) return original(args);
  const heap = heapOf(args);
  const out = heap.makeOutput(a.shape, 'bool');
  const as = heap.typedArrayFromHeap(a);
  const bs = heap.typedArrayFromHeap(b);
  const res = heap.typedArrayFromHeap(out);
  if (scalarB && !sameShape) {
    const t = bs[0]!;
    for (let i = 0; i < as.length; i++) res[i] = +(as[i]! > t);
  } else {
    for (let i = 0; i < as.length; i++) res[i] = +(as[i]! > bs[i]!);
  }
  return out;
}

/** where(condition, t, e) with all three of one shape. */
function select(args: KernelArgs, original: tf.KernelFunc) {
  const { condition, t, e } = args.inputs as { condition: tf.TensorInfo; t: tf.TensorInfo; e: tf.TensorInfo };
  const same = tf.util.arraysEqual(condition.shape, t.shape) && tf.util.arraysEqual(t.shape, e.shape);
  if (!same || t.dtype !== 'float32' || e.dtype !== 'float32' || condition.dtype !== 'bool') return original(args);
  const heap = heapOf(args);
  const out = heap.makeOutput(t.shape, 'float32');
  const cs = heap.typedArrayFromHeap(condition);
  // Picks bit patterns through a mask (exact for every value, NaN and ±0 included) instead of a branch.
  const bits = (v: tf.TensorInfo) => {
    const f = heap.typedArrayFromHeap(v);
    return new Int32Array(f.buffer, f.byteOffset, f.length);
  };
  const ts = bits(t);
  const es = bits(e);
  const res = bits(out);
  for (let i = 0; i < cs.length; i++) {
    const m = -cs[i]!;
    res[i] = (ts[i]! & m) | (es[i]! & ~m);
  }
  return out;
}

/** Registers the JS kernels on 'wasm', each falling back to the kernel it replaces. */
export function patchWasmJsKernels(): void {
  const kernels: Record<string, (args: KernelArgs, original: tf.KernelFunc) => tf.TensorInfo | tf.TensorInfo[]> = {
    Identity: identity,
    Tile: tile,
    Sum: (args, original) => reduceLeading(args, original, false),
    Mean: (args, original) => reduceLeading(args, original, true),
    LeakyRelu: leakyRelu,
    Greater: greater,
    Select: select,
  };
  for (const [kernelName, fn] of Object.entries(kernels)) {
    const config = tf.getKernel(kernelName, 'wasm');
    if (!config) continue;
    const original = config.kernelFunc;
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ ...config, kernelFunc: (args) => fn(args, original) });
  }
  if (!tf.getKernel(LEAKY_RELU_GRAD, 'wasm')) tf.registerKernel({ kernelName: LEAKY_RELU_GRAD, backendName: 'wasm', kernelFunc: leakyReluGrad });
  registerLeakyReluGradient();
}
