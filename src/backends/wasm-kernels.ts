import * as tf from '@tensorflow/tfjs';

/**
 * Kernels that `@tensorflow/tfjs-backend-wasm` 4.22 lacks or runs as slow scalar loops,
 * re-expressed through its fast (XNNPACK) conv2d and matmul:
 *
 * - Conv2DBackpropFilter (missing, tfjs issue #8474): the filter gradient is a stride-1
 *   convolution of the input (channels as batch, batch as channels) with the output gradient
 *   as the filter, dilated by the forward stride.
 * - Conv2DBackpropInput (a scalar loop): the input gradient is a stride-1 convolution of the
 *   zero-upsampled output gradient with the spatially flipped, in/out-swapped filter.
 * - BatchMatMul with a transposed operand (a scalar loop): transpose first, then multiply.
 *
 * Each kernel returns a tensor made by other ops; intermediates are freed by tf.tidy.
 */

type Pad4 = { top: number; bottom: number; left: number; right: number };

/** Pads (positive) or crops (negative) the H and W axes of an NHWC tensor. */
function padOrCrop(x: tf.Tensor4D, p: Pad4): tf.Tensor4D {
  const [, h, w] = x.shape;
  const crop = (a: number) => Math.max(0, -a);
  const padN = (a: number) => Math.max(0, a);
  let y = x;
  if (p.top < 0 || p.bottom < 0 || p.left < 0 || p.right < 0) {
    y = tf.slice(y, [0, crop(p.top), crop(p.left), 0], [-1, h - crop(p.top) - crop(p.bottom), w - crop(p.left) - crop(p.right), -1]);
  }
  if (p.top > 0 || p.bottom > 0 || p.left > 0 || p.right > 0) {
    y = tf.pad(y, [[0, 0], [padN(p.top), padN(p.bottom)], [padN(p.left), padN(p.right)], [0, 0]]);
  }
  return y;
}

/** Inserts (s - 1) zeros between neighbouring pixels along H and W. [n,h,w,c] → [n,(h-1)s+1,(w-1)s+1,c] */
function upsampleWithZeros(x: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return x;
  const [n, h, w, c] = x.shape;
  const spread = tf.pad(tf.reshape(x, [n, h, 1, w, 1, c]), [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
  const flat = tf.reshape(spread, [n, h * sh, w * sw, c]);
  return tf.slice(flat, [0, 0, 0, 0], [n, (h - 1) * sh + 1, (w - 1) * sw + 1, c]) as tf.Tensor4D;
}

type ConvAttrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

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

/** dW[kh,kw,ci,co] = Σ_{n,oh,ow} x[n, oh·s+kh−top, ow·s+kw−left, ci] · dy[n,oh,ow,co] */
export function conv2dBackpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], attrs: ConvAttrs): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(x.shape, filterShape, attrs);
    if (info.dilationHeight !== 1 || info.dilationWidth !== 1) throw new Error('wasm patch: dilated conv gradients are not supported');
    const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow } = info;
    const { top, left } = info.padInfo;
    // Rows of padded x that the forward pass reads: [0, (oh-1)·sh + kh).
    const needH = (oh - 1) * sh + kh;
    const needW = (ow - 1) * sw + kw;
    const xp = padOrCrop(x, { top, left, bottom: needH - top - x.shape[1], right: needW - left - x.shape[2] });
    const xT = tf.transpose(xp, [3, 1, 2, 0]); // [ci, H', W', n]
    const dyT = tf.transpose(dy, [1, 2, 0, 3]); // [oh, ow, n, co]
    const g = tf.conv2d(xT, dyT as tf.Tensor4D, 1, 'valid', 'NHWC', [sh, sw]); // [ci, kh, kw, co]
    return tf.transpose(g, [1, 2, 0, 3]);
  });
}

/** dx = conv2dTranspose(dy, W): a stride-1 conv of zero-upsampled dy with the flipped, swapped filter. */
export function conv2dBackpropInput(dy: tf.Tensor4D, filter: tf.Tensor4D, inputShape: number[], attrs: ConvAttrs): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(inputShape, filter.shape, attrs);
    if (info.dilationHeight !== 1 || info.dilationWidth !== 1) throw new Error('wasm patch: dilated conv gradients are not supported');
    const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
    const { top, left } = info.padInfo;
    const [, h, w] = inputShape as [number, number, number, number];
    const up = upsampleWithZeros(dy, sh, sw);
    const padTop = kh - 1 - top;
    const padLeft = kw - 1 - left;
    const padded = padOrCrop(up, {
      top: padTop,
      left: padLeft,
      bottom: h + kh - 1 - padTop - up.shape[1],
      right: w + kw - 1 - padLeft - up.shape[2],
    });
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D; // [kh,kw,co,ci]
    return tf.conv2d(padded, flipped, 1, 'valid');
  });
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
  const replace = (kernelName: string, kernelFunc: tf.KernelFunc) => {
    const original = tf.getKernel(kernelName, 'wasm');
    if (original) tf.unregisterKernel(kernelName, 'wasm');
    // Keep the original's setupFunc: the wasm backend binds its C functions there.
    tf.registerKernel({ ...original, kernelName, backendName: 'wasm', kernelFunc });
  };
  replace('Conv2DBackpropFilter', ({ inputs, attrs }) => {
    const { x, dy } = inputs as { x: tf.Tensor4D; dy: tf.Tensor4D };
    const a = attrs as unknown as ConvAttrs & { filterShape: number[] };
    return conv2dBackpropFilter(x, dy, a.filterShape, a);
  });
  replace('Conv2DBackpropInput', ({ inputs, attrs }) => {
    const { dy, filter } = inputs as { dy: tf.Tensor4D; filter: tf.Tensor4D };
    const a = attrs as unknown as ConvAttrs & { inputShape: number[] };
    return conv2dBackpropInput(dy, filter, a.inputShape, a);
  });
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
