import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilterHeap } from './conv-filter';
import { conv2dBackpropInputHeap } from './conv-input';
import { patchWasmJsKernels, type WasmHeap } from './js-kernels';
import { splitKernel } from './workers';

/**
 * Kernels that `@tensorflow/tfjs-backend-wasm` 4.22 lacks or runs as slow scalar loops,
 * re-expressed through its fast (XNNPACK) conv2d and matmul:
 *
 * - Conv2DBackpropFilter (missing, tfjs issue #8474): stride-1 convolutions over groups of the
 *   batch, operands transposed on the wasm heap (wasm-conv-filter.ts).
 * - Conv2DBackpropInput (a scalar loop): the sub-pixel decomposition, one small stride-1
 *   convolution per stride phase, interleaved on the heap (wasm-conv-input.ts). No
 *   multiplications by inserted zeros (stride 2 used to waste 3/4) or by padded phase taps.
 * - BatchMatMul with a transposed operand (a scalar loop): transpose first, then multiply.
 *
 * The conv gradients call the wasm Conv2D kernel on heap buffers directly and free their own
 * intermediates; BatchMatMul's are freed by tf.tidy. All four convolution kernels cut big
 * batches into chunks that this thread and the worker threads share (workers.ts).
 * Elementwise and reduction kernels that wasm runs slowly are replaced in wasm-js-kernels.ts.
 */

type ConvAttrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

type KernelArgs = Parameters<tf.KernelFunc>[0];
const size = tf.util.sizeFromShape;

function convInfo(xShape: number[], filterShape: number[], attrs: ConvAttrs) {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') throw new Error('wasm patch: only NHWC is supported');
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/** out[s] = Σ_{i: ids[i] = s} x[i] over the first axis; ids outside [0, numSegments) are dropped, as in TF. */
export function unsortedSegmentSum(x: ArrayLike<number>, xShape: number[], ids: ArrayLike<number>, numSegments: number): Float32Array {
  const inner = xShape.slice(1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(numSegments * inner);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue;
    for (let k = 0; k < inner; k++) out[s * inner + k]! += x[i * inner + k]!;
  }
  return out;
}

const segmentSumPatched = new Set<string>();

/**
 * Registers the one-pass UnsortedSegmentSum on `backendName` (gather's gradient). The pure-JS
 * cpu kernel makes one masked pass per segment through other kernels, seconds per step for an
 * embedding table; the 'cpu' reference backend itself is left alone.
 */
export function patchSegmentSum(backendName: string): void {
  if (segmentSumPatched.has(backendName)) return;
  segmentSumPatched.add(backendName);
  const original = tf.getKernel('UnsortedSegmentSum', backendName);
  if (original) tf.unregisterKernel('UnsortedSegmentSum', backendName);
  tf.registerKernel({ ...original, kernelName: 'UnsortedSegmentSum', backendName, kernelFunc: segmentSumKernel });
}

const segmentSumKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = attrs as unknown as { numSegments: number };
  const read = (t: tf.TensorInfo) => (backend as unknown as { readSync(id: object): tf.TypedArray }).readSync(t.dataId);
  // ids cover x's first ids.rank axes; fold those into one.
  const inner = x.shape.slice(segmentIds.shape.length);
  const count = segmentIds.shape.reduce((a, b) => a * b, 1);
  return tf.tensor(unsortedSegmentSum(read(x) as Float32Array, [count, ...inner], read(segmentIds) as Int32Array, numSegments), [numSegments, ...inner], 'float32');
};

let patched = false;

/** Registers the replacement kernels on the 'wasm' backend (idempotent). */
export function patchWasmKernels(): void {
  if (patched) return;
  patched = true;
  patchWasmJsKernels();
  const replace = (kernelName: string, kernelFunc: tf.KernelFunc) => {
    const original = tf.getKernel(kernelName, 'wasm');
    if (original) tf.unregisterKernel(kernelName, 'wasm');
    // Keep the original's setupFunc: the wasm backend binds its C functions there.
    tf.registerKernel({ ...original, kernelName, backendName: 'wasm', kernelFunc });
  };
  const wasmConv2d = tf.getKernel('Conv2D', 'wasm')!.kernelFunc;
  const wasmFusedConv2d = tf.getKernel('FusedConv2D', 'wasm')!.kernelFunc;
  const forward = (args: KernelArgs) => {
    const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    return { x, filter, attrs: args.attrs as unknown as ConvAttrs };
  };
  const forwardSpec = {
    batched: ['x'],
    combine: 'concat' as const,
    outShape: (args: KernelArgs, images: number) => {
      const { x, filter, attrs } = forward(args);
      return convInfo([images, ...x.shape.slice(1)], filter.shape, attrs).outShape;
    },
    macs: (args: KernelArgs) => {
      const { x, filter, attrs } = forward(args);
      return size(convInfo(x.shape, filter.shape, attrs).outShape) * size(filter.shape.slice(0, 3));
    },
  };
  replace('Conv2D', splitKernel('Conv2D', wasmConv2d, forwardSpec));
  replace('FusedConv2D', splitKernel('FusedConv2D', wasmFusedConv2d, forwardSpec));
  // Both gradients cost one multiply-add per dy value and filter tap per input channel.
  const gradMacs = (args: KernelArgs) => {
    const { dy } = args.inputs as { dy: tf.TensorInfo };
    const a = args.attrs as unknown as { filterShape?: number[] };
    const filterShape = a.filterShape ?? (args.inputs as { filter: tf.TensorInfo }).filter.shape;
    return size(dy.shape) * size(filterShape.slice(0, 3));
  };
  const filterGrad: tf.KernelFunc = ({ inputs, attrs, backend }) => {
    const { x, dy } = inputs as { x: tf.Tensor4D; dy: tf.Tensor4D };
    const a = attrs as unknown as ConvAttrs & { filterShape: number[] };
    const info = convInfo(x.shape, a.filterShape, a);
    if (info.dilationHeight !== 1 || info.dilationWidth !== 1) throw new Error('wasm patch: dilated conv gradients are not supported');
    return conv2dBackpropFilterHeap(backend as unknown as WasmHeap, wasmConv2d, x, dy, {
      strideH: info.strideHeight,
      strideW: info.strideWidth,
      filterH: info.filterHeight,
      filterW: info.filterWidth,
      outH: info.outHeight,
      outW: info.outWidth,
      padTop: info.padInfo.top,
      padLeft: info.padInfo.left,
    });
  };
  replace('Conv2DBackpropFilter', splitKernel('Conv2DBackpropFilter', filterGrad, {
    batched: ['x', 'dy'],
    combine: 'sum',
    outShape: (args) => (args.attrs as unknown as { filterShape: number[] }).filterShape,
    macs: gradMacs,
  }));
  const inputGrad: tf.KernelFunc = ({ inputs, attrs, backend }) => {
    const { dy, filter } = inputs as { dy: tf.Tensor4D; filter: tf.Tensor4D };
    const a = attrs as unknown as ConvAttrs & { inputShape: number[] };
    const info = convInfo(a.inputShape, filter.shape, a);
    if (info.dilationHeight !== 1 || info.dilationWidth !== 1) throw new Error('wasm patch: dilated conv gradients are not supported');
    const geometry = { strideH: info.strideHeight, strideW: info.strideWidth, padTop: info.padInfo.top, padLeft: info.padInfo.left };
    return conv2dBackpropInputHeap(backend as unknown as WasmHeap, wasmConv2d, dy, filter, a.inputShape, geometry);
  };
  const inputShapeOf = (attrs: tf.NamedAttrMap) => (attrs as unknown as { inputShape: number[] }).inputShape;
  replace('Conv2DBackpropInput', splitKernel('Conv2DBackpropInput', inputGrad, {
    batched: ['dy'],
    combine: 'concat',
    outShape: (args, images) => [images, ...inputShapeOf(args.attrs as tf.NamedAttrMap).slice(1)],
    attrsFor: (attrs, images) => ({ ...attrs, inputShape: [images, ...inputShapeOf(attrs).slice(1)] }),
    macs: gradMacs,
  }));
  // Missing on wasm; needed by gather's gradient (embeddings, DiffAugment's translation).
  replace('UnsortedSegmentSum', segmentSumKernel);
  const wasmBatchMatMul = tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc;
  replace('BatchMatMul', (args) => {
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return wasmBatchMatMul(args);
    const { a, b } = args.inputs as { a: tf.Tensor; b: tf.Tensor };
    return tf.tidy(() => {
      const swapLast = (t: tf.Tensor) => {
        const perm = t.shape.map((_, i) => i);
        [perm[perm.length - 1], perm[perm.length - 2]] = [perm[perm.length - 2]!, perm[perm.length - 1]!];
        return tf.transpose(t, perm);
      };
      return tf.matMul(transposeA ? swapLast(a) : a, transposeB ? swapLast(b) : b);
    });
  });
}
