import * as tf from '@tensorflow/tfjs';
import type { WasmHeap } from './js-kernels';

/**
 * Conv2DBackpropInput on the wasm heap, one stride-1 XNNPACK convolution per output phase.
 *
 * Input row i = s·q + p (phase p) receives dy[q + c_p − j] · W[r_p + s·j] for j in [0, J_p),
 * r_p = (p + top) mod s, c_p = ⌊(p + top) / s⌋: a correlation of dy (zero-padded by J_p − 1 − c_p
 * rows on top) with the J_p filter rows r_p + s·(J_p − 1 − u). Each of the sh·sw phases gets its
 * own small filter (5×5 stride 2: 3×3, 3×2, 2×3, 2×2 taps), so no multiplication is by a padded
 * zero tap, and one JS pass interleaves the phase outputs into dx.
 */

interface AxisPhase {
  /** dx rows of this phase, ⌈(size − p) / s⌉ */
  rows: number;
  /** filter taps (rows of W) in correlation order, top to bottom */
  taps: number[];
  /** zero rows above dy */
  padBefore: number;
  /** zero rows below dy */
  padAfter: number;
}

/** The s phases of one axis of dx (size rows; dy has dySize rows; kernel k; padding top). */
function axisPhases(size: number, dySize: number, k: number, s: number, top: number): AxisPhase[] {
  const phases: AxisPhase[] = [];
  for (let p = 0; p < s; p++) {
    const r = (p + top) % s;
    const c = Math.floor((p + top) / s);
    const count = r < k ? Math.ceil((k - r) / s) : 0;
    const rows = Math.ceil((size - p) / s);
    const padBefore = count - 1 - c;
    const padAfter = Math.max(0, rows - 1 + c - (dySize - 1));
    // Only explicit padding of ≥ k rows gets here (same/valid pad at most k − 1).
    if (count > 0 && padBefore < 0) throw new Error(`wasm patch: conv padding ${top} ≥ kernel size ${k} is not supported`);
    phases.push({ rows, taps: [...Array(count).keys()].map((u) => r + s * (count - 1 - u)), padBefore, padAfter });
  }
  return phases;
}

export interface InputGradGeometry {
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
}

/**
 * dx [n, h, w, ci] = conv2dTranspose(dy [n, oh, ow, co], W [kh, kw, ci, co]) with all three on the
 * wasm heap. `conv2d` is the wasm backend's own Conv2D kernel.
 */
export function conv2dBackpropInputHeap(backend: WasmHeap, conv2d: tf.KernelFunc, dy: tf.TensorInfo, filter: tf.TensorInfo, inputShape: number[], g: InputGradGeometry): tf.TensorInfo {
  const [n, h, w, ci] = inputShape as [number, number, number, number];
  const [kh, kw, , co] = filter.shape as [number, number, number, number];
  const [, oh, ow] = dy.shape as [number, number, number, number];
  const rowPhases = axisPhases(h, oh, kh, g.strideH, g.padTop);
  const colPhases = axisPhases(w, ow, kw, g.strideW, g.padLeft);
  const dx = backend.makeOutput([n, h, w, ci], 'float32');
  const single = g.strideH === 1 && g.strideW === 1;
  for (let a = 0; a < g.strideH; a++) {
    for (let b = 0; b < g.strideW; b++) {
      const ph = rowPhases[a]!;
      const pw = colPhases[b]!;
      if (ph.taps.length === 0 || pw.taps.length === 0) {
        if (ph.rows > 0 && pw.rows > 0) interleave(backend, null, dx, ph.rows, pw.rows, a, b, g.strideH, g.strideW);
        continue;
      }
      const f = backend.makeOutput([ph.taps.length, pw.taps.length, co, ci], 'float32');
      const fs = backend.typedArrayFromHeap(f) as Float32Array;
      const ws = backend.typedArrayFromHeap(filter) as Float32Array;
      // f[u, v, o, c] = W[taps_h[u], taps_w[v], c, o]
      let dst = 0;
      for (const y of ph.taps) {
        for (const x of pw.taps) {
          const base = (y * kw + x) * ci * co;
          for (let o = 0; o < co; o++) for (let c = 0; c < ci; c++) fs[dst++] = ws[base + c * co + o]!;
        }
      }
      const out = conv2d({
        inputs: { x: dy, filter: f },
        attrs: { strides: 1, pad: [[0, 0], [ph.padBefore, ph.padAfter], [pw.padBefore, pw.padAfter], [0, 0]], dataFormat: 'NHWC', dilations: 1, dimRoundingMode: undefined } as unknown as tf.NamedAttrMap,
        backend: backend as unknown as tf.KernelBackend,
      }) as tf.TensorInfo;
      backend.disposeData(f.dataId);
      if (single && out.shape[1] === h && out.shape[2] === w) {
        backend.disposeData(dx.dataId);
        return out;
      }
      interleave(backend, out, dx, ph.rows, pw.rows, a, b, g.strideH, g.strideW);
      backend.disposeData(out.dataId);
    }
  }
  return dx;
}

/** dx[:, sh·q + a, sw·v + b, :] = phase[:, q, v, :] (zeros when `phase` is null). */
function interleave(backend: WasmHeap, phase: tf.TensorInfo | null, dx: tf.TensorInfo, rows: number, cols: number, a: number, b: number, sh: number, sw: number) {
  const [n, h, w, ci] = dx.shape as [number, number, number, number];
  const ds = backend.typedArrayFromHeap(dx) as Float32Array;
  const ps = phase ? (backend.typedArrayFromHeap(phase) as Float32Array) : null;
  const [, ph, pw] = phase ? phase.shape : [0, rows, cols];
  for (let i = 0; i < n; i++) {
    for (let q = 0; q < rows; q++) {
      let d = ((i * h + sh * q + a) * w + b) * ci;
      let s = ((i * ph! + q) * pw!) * ci;
      for (let v = 0; v < cols; v++, d += sw * ci, s += ci) {
        if (ps) for (let c = 0; c < ci; c++) ds[d + c] = ps[s + c]!;
        else ds.fill(0, d, d + ci);
      }
    }
  }
}
