import * as tf from '@tensorflow/tfjs';
import { type Override, f32, out, size, alloc } from './kernel-util';

const { backend_util, util } = tf;

// ------------------------------------------------------------------------------------------
// Unary elementwise (codes shared with native/src/elementwise.cc `Unary`).

export const UNARY: Record<string, number> = {
  Relu: 1, Relu6: 2, LeakyRelu: 3, Sigmoid: 4, Elu: 5, Tanh: 6, Neg: 7, Exp: 8, Log: 9, Sqrt: 10,
  Rsqrt: 11, Square: 12, Abs: 13, Reciprocal: 14, Softplus: 15, Log1p: 16, Expm1: 17, Step: 18,
  Sign: 19, Floor: 20, Ceil: 21, Sin: 22, Cos: 23,
};

export function unary(op: number, alphaAttr?: string, alphaDefault = 0): Override {
  return (addon, args, fallback) => {
    const { inputs, backend, attrs = {} } = args;
    const x = f32(backend, inputs.x);
    if (!x) return fallback(args);
    const y = alloc(x.length);
    const alpha = alphaAttr ? ((attrs[alphaAttr] as number | undefined) ?? alphaDefault) : 0;
    addon.unary(op, x, y, alpha);
    return out(backend, inputs.x!.shape, y);
  };
}

// ------------------------------------------------------------------------------------------
// Binary elementwise with broadcasting (codes shared with native/src/elementwise.cc `Binary`).

export const BINARY: Record<string, number> = {
  Add: 1, Sub: 2, Multiply: 3, RealDiv: 4, Maximum: 5, Minimum: 6, SquaredDifference: 7, Pow: 8,
};
export const COMPARE: Record<string, number> = {
  Greater: 100, GreaterEqual: 101, Less: 102, LessEqual: 103, Equal: 104, NotEqual: 105,
};

/** Output shape plus a collapsed (shape, aStrides, bStrides) iteration plan; stride 0 broadcasts. */
export function broadcastPlan(aShape: number[], bShape: number[]) {
  const outShape = backend_util.assertAndGetBroadcastShape(aShape, bShape);
  const r = outShape.length;
  const stridesFor = (s: number[]) => {
    const st = new Array<number>(r).fill(0);
    let acc = 1;
    for (let d = s.length - 1; d >= 0; d--) {
      const od = d + (r - s.length);
      st[od] = s[d] === 1 ? 0 : acc;
      acc *= s[d];
    }
    return st;
  };
  const sa = stridesFor(aShape);
  const sb = stridesFor(bShape);
  const shape: number[] = [];
  const ca: number[] = [];
  const cb: number[] = [];
  for (let d = 0; d < r; d++) {
    const n = outShape[d];
    if (n === 1) continue;
    const last = shape.length - 1;
    if (last >= 0 && ca[last] === sa[d] * n && cb[last] === sb[d] * n) {
      shape[last] *= n;
      ca[last] = sa[d];
      cb[last] = sb[d];
    } else {
      shape.push(n);
      ca.push(sa[d]);
      cb.push(sb[d]);
    }
  }
  if (shape.length === 0) {
    shape.push(1);
    ca.push(0);
    cb.push(0);
  }
  return { outShape, shape: Int32Array.from(shape), aStrides: Int32Array.from(ca), bStrides: Int32Array.from(cb) };
}

export function binary(op: number, compare: boolean): Override {
  return (addon, args, fallback) => {
    const { inputs, backend } = args;
    const a = f32(backend, inputs.a);
    const b = f32(backend, inputs.b);
    if (!a || !b) return fallback(args);
    const plan = broadcastPlan(inputs.a!.shape, inputs.b!.shape);
    const n = size(plan.outShape);
    const y = compare ? new Uint8Array(n) : alloc(n);
    if (n > 0) addon.binary(op, a, b, y, plan.shape, plan.aStrides, plan.bStrides);
    return out(backend, plan.outShape, y, compare ? 'bool' : 'float32');
  };
}

// ------------------------------------------------------------------------------------------
// Reductions: Sum, Mean, Max, Min, Prod over any axes, as a few [outer, mid, inner] passes.

export function reduction(op: number, mean: boolean): Override {
  return (addon, args, fallback) => {
    const { inputs, backend, attrs = {} } = args;
    const x = f32(backend, inputs.x);
    if (!x || x.length === 0) return fallback(args);
    const shape = inputs.x!.shape;
    const axis = (attrs.axis ?? attrs.reductionIndices) as number | number[]; // Max calls it reductionIndices
    const axes = [...new Set(util.parseAxisParam(axis, shape))].sort((p, q) => p - q);
    if (axes.length === 0) return fallback(args);
    const [outShape] = backend_util.computeOutAndReduceShapes(shape, axes);
    const finalShape = attrs.keepDims ? backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
    // Contiguous runs of reduced axes, innermost first.
    const blocks: Array<[number, number]> = [];
    for (const ax of axes) {
      const last = blocks[blocks.length - 1];
      if (last && last[1] === ax) last[1] = ax + 1;
      else blocks.push([ax, ax + 1]);
    }
    blocks.reverse();
    let cur = shape.slice();
    let src = x;
    let result: Float32Array | null = null;
    for (let i = 0; i < blocks.length; i++) {
      const [s, e] = blocks[i];
      const outer = size(cur.slice(0, s));
      const mid = size(cur.slice(s, e));
      const inner = size(cur.slice(e));
      const dst = alloc(outer * inner);
      addon.reduce(op, src, dst, outer, mid, inner, mean ? 1 / mid : 1);
      cur = [...cur.slice(0, s), ...cur.slice(e)];
      src = dst;
      result = dst;
    }
    return out(backend, finalShape, result!);
  };
}
