import * as tf from '@tensorflow/tfjs';
import { patchWasmJsKernels } from './wasm-js-kernels';

/**
 * Kernels that `@tensorflow/tfjs-backend-wasm` 4.22 lacks or runs as slow scalar loops,
 * re-expressed through its fast (XNNPACK) conv2d and matmul:
 *
 * - Conv2DBackpropFilter (missing, tfjs issue #8474): the filter gradient is a stride-1
 *   convolution of the input (channels as batch, batch as channels) with the output gradient
 *   as the filter, dilated by the forward stride.
 * - Conv2DBackpropInput (a scalar loop): the sub-pixel decomposition, one stride-1 convolution
 *   of dy with a phase filter that yields every stride phase of dx as channels, interleaved by a
 *   reshape/transpose. No multiplications by inserted zeros (stride 2 used to waste 3/4).
 * - BatchMatMul with a transposed operand (a scalar loop): transpose first, then multiply.
 *
 * Each kernel returns a tensor made by other ops; intermediates are freed by tf.tidy.
 * Elementwise and reduction kernels that wasm runs slowly are replaced in wasm-js-kernels.ts.
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

/**
 * How one spatial axis of a stride-s input gradient splits into s phases. Input row i = s·q + p
 * (phase p) receives dy[q + c_p − j] · W[r_p + s·j] for j in [0, J_p), where r_p = (p + top) mod s
 * and c_p = ⌊(p + top) / s⌋. All phases read the same window of T dy rows, q + lo … q + lo + T − 1,
 * so they become one stride-1 convolution with s·s times the channels and no inserted zeros.
 */
interface PhasePlan {
  s: number;
  /** rows of the gradient per phase, ⌈size / s⌉ */
  q: number;
  /** window length in dy rows (the phase filter's size) */
  t: number;
  /** dy row that window position 0 of output row 0 reads (negative: zero padding) */
  lo: number;
  /** for phase p and window position u, the filter tap it multiplies, or −1 */
  tap: (p: number, u: number) => number;
}

function phasePlan(size: number, k: number, s: number, top: number): PhasePlan {
  const r: number[] = [];
  const c: number[] = [];
  const count: number[] = [];
  for (let p = 0; p < s; p++) {
    r.push((p + top) % s);
    c.push(Math.floor((p + top) / s));
    count.push(r[p]! < k ? Math.ceil((k - r[p]!) / s) : 0);
  }
  const used = [...Array(s).keys()].filter((p) => count[p]! > 0);
  const lo = Math.min(...used.map((p) => c[p]! - count[p]! + 1));
  const hi = Math.max(...used.map((p) => c[p]!));
  return {
    s,
    q: Math.ceil(size / s),
    t: hi - lo + 1,
    lo,
    tap: (p, u) => {
      const j = c[p]! - lo - u;
      return j >= 0 && j < count[p]! ? r[p]! + s * j : -1;
    },
  };
}

/**
 * The sub-pixel filter [th, tw, co, sh·sw·ci] from W [kh, kw, ci, co]: output channel
 * (ph·sw + pw)·ci + c of window tap (u, v) holds W[tap_h(ph, u), tap_w(pw, v), c, :], or 0.
 */
function phaseFilter(w: Float32Array, [, kw, ci, co]: number[], ph: PhasePlan, pw: PhasePlan): tf.Tensor4D {
  const phases = ph.s * pw.s;
  const out = new Float32Array(ph.t * pw.t * co * phases * ci);
  for (let u = 0; u < ph.t; u++) {
    for (let v = 0; v < pw.t; v++) {
      for (let a = 0; a < ph.s; a++) {
        const y = ph.tap(a, u);
        if (y < 0) continue;
        for (let b = 0; b < pw.s; b++) {
          const x = pw.tap(b, v);
          if (x < 0) continue;
          const phase = a * pw.s + b;
          for (let c = 0; c < ci; c++) {
            const src = ((y * kw + x) * ci + c) * co;
            const dst = (u * pw.t + v) * co * phases * ci + phase * ci + c;
            for (let o = 0; o < co; o++) out[dst + o * phases * ci] = w[src + o]!;
          }
        }
      }
    }
  }
  return tf.tensor4d(out, [ph.t, pw.t, co, phases * ci]);
}

/**
 * dx = conv2dTranspose(dy, W), by the sub-pixel decomposition: one stride-1 convolution of dy
 * (not upsampled) with the phase filter gives every phase of dx as channels; depth-to-space
 * interleaves them. For stride 1 this is the plain convolution with the flipped filter.
 */
export function conv2dBackpropInput(dy: tf.Tensor4D, filterValues: Float32Array, filterShape: number[], inputShape: number[], attrs: ConvAttrs): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(inputShape, filterShape, attrs);
    if (info.dilationHeight !== 1 || info.dilationWidth !== 1) throw new Error('wasm patch: dilated conv gradients are not supported');
    const [n, h, w, ci] = inputShape as [number, number, number, number];
    const ph = phasePlan(h, info.filterHeight, info.strideHeight, info.padInfo.top);
    const pw = phasePlan(w, info.filterWidth, info.strideWidth, info.padInfo.left);
    const filter = phaseFilter(filterValues, filterShape, ph, pw);
    // dy rows lo … q − 1 + lo + t − 1; those outside [0, oh) are zeros.
    const pads: Pad4 = {
      top: -ph.lo,
      left: -pw.lo,
      bottom: ph.q - 1 + ph.lo + ph.t - dy.shape[1],
      right: pw.q - 1 + pw.lo + pw.t - dy.shape[2],
    };
    const cropped = padOrCrop(dy, { top: Math.min(0, pads.top), left: Math.min(0, pads.left), bottom: Math.min(0, pads.bottom), right: Math.min(0, pads.right) });
    const explicit: tf.backend_util.ExplicitPadding = [[0, 0], [Math.max(0, pads.top), Math.max(0, pads.bottom)], [Math.max(0, pads.left), Math.max(0, pads.right)], [0, 0]];
    const phases = tf.conv2d(cropped, filter, 1, explicit); // [n, qh, qw, sh·sw·ci]
    // Depth-to-space as reshape + transpose: the wasm DepthToSpace kernel is ~40× slower.
    const dx: tf.Tensor4D = ph.s === 1 && pw.s === 1
      ? phases
      : tf.reshape(tf.transpose(tf.reshape(phases, [n, ph.q, pw.q, ph.s, pw.s, ci]), [0, 1, 3, 2, 4, 5]), [n, ph.q * ph.s, pw.q * pw.s, ci]);
    return dx.shape[1] === h && dx.shape[2] === w ? dx : tf.slice(dx, [0, 0, 0, 0], [n, h, w, ci]);
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

/** A float32 tensor's values, copied off the backend (filters are small). */
function readFloats(backend: unknown, t: tf.TensorInfo): Float32Array {
  return (backend as { readSync(id: object): Float32Array }).readSync(t.dataId);
}

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
  replace('Conv2DBackpropFilter', ({ inputs, attrs }) => {
    const { x, dy } = inputs as { x: tf.Tensor4D; dy: tf.Tensor4D };
    const a = attrs as unknown as ConvAttrs & { filterShape: number[] };
    return conv2dBackpropFilter(x, dy, a.filterShape, a);
  });
  replace('Conv2DBackpropInput', ({ inputs, attrs, backend }) => {
    const { dy, filter } = inputs as { dy: tf.Tensor4D; filter: tf.Tensor4D };
    const a = attrs as unknown as ConvAttrs & { inputShape: number[] };
    return conv2dBackpropInput(dy, readFloats(backend, filter), filter.shape, a.inputShape, a);
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
