import * as tf from '@tensorflow/tfjs';
import type { WasmHeap } from './js-kernels';

/**
 * Conv2DBackpropFilter on the wasm heap, as stride-1 XNNPACK convolutions over groups of the batch.
 *
 * dW[kh,kw,ci,co] = Σ_{n,oh,ow} x[n, oh·s+kh−top, ow·s+kw−left, ci] · dy[n,oh,ow,co] is a
 * convolution of x (channels as batch, batch as channels) with dy as the filter, dilated by the
 * stride. One JS pass per group of images writes both transposed (and zero-padded) operands
 * straight onto the heap, replacing the wasm Pad and Transpose kernels; the groups' results are
 * summed in JS while transposing [ci, kh, kw, co] to [kh, kw, ci, co]. Groups of
 * ≈ GROUP_REDUCTION / (oh·ow) images bound the temporary buffers; on fmnist-lms shapes the group
 * size made no measurable difference to XNNPACK's rate (≈ 20 GFLOP/s on one thread either way).
 */

/** Length of the reduction per group convolution (images · oh · ow), roughly. */
const GROUP_REDUCTION = 1568;

export interface FilterGradGeometry {
  strideH: number;
  strideW: number;
  filterH: number;
  filterW: number;
  outH: number;
  outW: number;
  padTop: number;
  padLeft: number;
}

/**
 * dW [kh, kw, ci, co] for x [n, h, w, ci] and dy [n, oh, ow, co], both float32 on the wasm heap.
 * `conv2d` is the wasm backend's own Conv2D kernel.
 */
export function conv2dBackpropFilterHeap(backend: WasmHeap, conv2d: tf.KernelFunc, x: tf.TensorInfo, dy: tf.TensorInfo, g: FilterGradGeometry): tf.TensorInfo {
  const [n, h, w, ci] = x.shape as [number, number, number, number];
  const co = dy.shape[3]!;
  const { strideH: sh, strideW: sw, filterH: kh, filterW: kw, outH: oh, outW: ow, padTop: top, padLeft: left } = g;
  // Rows and columns of padded x that the forward pass reads.
  const needH = (oh - 1) * sh + kh;
  const needW = (ow - 1) * sw + kw;
  const groups = Math.max(1, Math.round((n * oh * ow) / GROUP_REDUCTION));
  const per = Math.ceil(n / groups);
  const acc = new Float32Array(ci * kh * kw * co); // [ci, kh, kw, co]
  for (let n0 = 0; n0 < n; n0 += per) {
    const m = Math.min(per, n - n0);
    const xg = backend.makeOutput([ci, needH, needW, m], 'float32');
    const dyg = backend.makeOutput([oh, ow, m, co], 'float32');
    const xs = backend.typedArrayFromHeap(x) as Float32Array;
    const dys = backend.typedArrayFromHeap(dy) as Float32Array;
    const xT = backend.typedArrayFromHeap(xg) as Float32Array;
    const dyT = backend.typedArrayFromHeap(dyg) as Float32Array;
    // xT[c, r, q, b] = x[n0 + b, r − top, q − left, c], zero outside x.
    xT.fill(0);
    const r0 = Math.max(0, top);
    const r1 = Math.min(needH, h + top);
    const q0 = Math.max(0, left);
    const q1 = Math.min(needW, w + left);
    const planeT = needH * needW * m;
    for (let b = 0; b < m; b++) {
      for (let r = r0; r < r1; r++) {
        for (let q = q0; q < q1; q++) {
          let src = (((n0 + b) * h + r - top) * w + q - left) * ci;
          let dst = (r * needW + q) * m + b;
          for (let c = 0; c < ci; c++, src++, dst += planeT) xT[dst] = xs[src]!;
        }
      }
    }
    // dyT[p, b, :] = dy[n0 + b, p, :] for each output pixel p.
    for (let p = 0; p < oh * ow; p++) {
      for (let b = 0; b < m; b++) {
        const src = ((n0 + b) * oh * ow + p) * co;
        dyT.set(dys.subarray(src, src + co), (p * m + b) * co);
      }
    }
    const part = conv2d({
      inputs: { x: xg, filter: dyg },
      attrs: { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: [sh, sw], dimRoundingMode: undefined } as unknown as tf.NamedAttrMap,
      backend: backend as unknown as tf.KernelBackend,
    }) as tf.TensorInfo; // [ci, kh, kw, co]
    const ps = backend.typedArrayFromHeap(part) as Float32Array;
    for (let i = 0; i < acc.length; i++) acc[i]! += ps[i]!;
    for (const t of [xg, dyg, part]) backend.disposeData(t.dataId);
  }
  const out = backend.makeOutput([kh, kw, ci, co], 'float32');
  const res = backend.typedArrayFromHeap(out) as Float32Array;
  for (let c = 0; c < ci; c++) {
    for (let k = 0; k < kh * kw; k++) res.set(acc.subarray((c * kh * kw + k) * co, (c * kh * kw + k + 1) * co), (k * ci + c) * co);
  }
  return out;
}
