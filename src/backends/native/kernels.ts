import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './addon';
import { FUSED_ADAM, LEAKY_RELU_GRAD } from '../kernel-names';

export { FUSED_ADAM, LEAKY_RELU_GRAD };

/**
 * Native overrides for the 'native' backend. Each one checks dtypes and shapes, takes the fast
 * path for float32 only, and otherwise calls `fallback` — the pure-JS cpu kernel for the same
 * name. Outputs are allocated here (Float32Array) and filled by the addon.
 */

type TensorInfo = tf.TensorInfo;
type Attrs = Record<string, unknown>;
type Inputs = Record<string, TensorInfo | null | undefined>;
export type KernelArgs = { inputs: Inputs; backend: MathBackendCPU; attrs?: Attrs };
export type KernelImpl = (args: KernelArgs) => TensorInfo | TensorInfo[];
export type Override = (addon: NativeAddon, args: KernelArgs, fallback: KernelImpl) => TensorInfo | TensorInfo[];

const { backend_util, util } = tf;

function f32(backend: MathBackendCPU, t: TensorInfo | null | undefined): Float32Array | null {
  if (!t || t.dtype !== 'float32') return null;
  const v = backend.data.get(t.dataId)?.values;
  return v instanceof Float32Array ? v : null;
}

function out(backend: MathBackendCPU, shape: number[], values: Float32Array | Uint8Array | Int32Array, dtype: tf.DataType = 'float32'): TensorInfo {
  return backend.makeTensorInfo(shape, dtype, values);
}

const size = (shape: number[]) => util.sizeFromShape(shape);

/**
 * A Float32Array for a kernel output that the addon overwrites completely (contents are garbage).
 * `nativeOverrides` sets where they come from: the recycler of the backend that registers them.
 */
let alloc: (n: number) => Float32Array = (n) => new Float32Array(n);

// ------------------------------------------------------------------------------------------
// Activations (codes shared with addon.cc `Act`).
const ACT: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, sigmoid: 4, elu: 5 };

function actCode(activation: unknown): number | null {
  if (activation == null) return 0;
  const code = ACT[activation as string];
  return code === undefined ? null : code;
}

// ------------------------------------------------------------------------------------------
// Convolutions.

type ConvInfo = ReturnType<typeof backend_util.computeConv2DInfo>;

function convParams(c: ConvInfo): Int32Array {
  return Int32Array.from([
    c.batchSize, c.inHeight, c.inWidth, c.inChannels,
    c.outHeight, c.outWidth, c.outChannels,
    c.filterHeight, c.filterWidth, c.strideHeight, c.strideWidth,
    c.dilationHeight, c.dilationWidth, c.padInfo.top, c.padInfo.left,
  ]);
}

function isNHWC(dataFormat: unknown): boolean {
  return dataFormat === undefined || dataFormat === 'NHWC' || dataFormat === 'channelsLast';
}

function conv2dInfo(xShape: number[], filterShape: number[], attrs: Attrs, dilations: unknown): ConvInfo {
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number] | number,
    (dilations ?? 1) as [number, number] | number,
    attrs.pad as 'valid' | 'same' | number | tf.backend_util.ExplicitPadding,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    'channelsLast',
  );
}

const conv2D: Override = (addon, args, fallback) => {
  const { inputs, backend, attrs = {} } = args;
  const x = f32(backend, inputs.x);
  const w = f32(backend, inputs.filter);
  if (!x || !w || !isNHWC(attrs.dataFormat) || inputs.x!.shape.length !== 4) return fallback(args);
  const c = conv2dInfo(inputs.x!.shape, inputs.filter!.shape, attrs, attrs.dilations);
  const y = alloc(size(c.outShape));
  addon.conv2d(x, w, y, convParams(c), null, 0, 0);
  return out(backend, c.outShape, y);
};

const fusedConv2D: Override = (addon, args, fallback) => {
  const { inputs, backend, attrs = {} } = args;
  const x = f32(backend, inputs.x);
  const w = f32(backend, inputs.filter);
  const act = actCode(attrs.activation);
  if (!x || !w || act === null || !isNHWC(attrs.dataFormat) || inputs.x!.shape.length !== 4) return fallback(args);
  const c = conv2dInfo(inputs.x!.shape, inputs.filter!.shape, attrs, attrs.dilations);
  let bias: Float32Array | null = null;
  if (inputs.bias) {
    bias = f32(backend, inputs.bias);
    const bs = inputs.bias.shape;
    if (!bias || bias.length !== c.outChannels || (bs.length > 0 && bs[bs.length - 1] !== c.outChannels)) return fallback(args);
  }
  const y = alloc(size(c.outShape));
  addon.conv2d(x, w, y, convParams(c), bias, act, (attrs.leakyreluAlpha as number | undefined) ?? 0.2);
  return out(backend, c.outShape, y);
};

const conv2DBackpropInput: Override = (addon, args, fallback) => {
  const { inputs, backend, attrs = {} } = args;
  const dy = f32(backend, inputs.dy);
  const w = f32(backend, inputs.filter);
  if (!dy || !w || !isNHWC(attrs.dataFormat)) return fallback(args);
  const inputShape = attrs.inputShape as number[];
  const c = conv2dInfo(inputShape, inputs.filter!.shape, attrs, 1);
  const dx = alloc(size(c.inShape));
  addon.conv2dBackpropInput(dy, w, dx, convParams(c));
  return out(backend, c.inShape, dx);
};

const conv2DBackpropFilter: Override = (addon, args, fallback) => {
  const { inputs, backend, attrs = {} } = args;
  const x = f32(backend, inputs.x);
  const dy = f32(backend, inputs.dy);
  if (!x || !dy || !isNHWC(attrs.dataFormat)) return fallback(args);
  const filterShape = attrs.filterShape as number[];
  const c = conv2dInfo(inputs.x!.shape, filterShape, attrs, 1);
  const dw = alloc(size(c.filterShape));
  addon.conv2dBackpropFilter(x, dy, dw, convParams(c));
  return out(backend, c.filterShape, dw);
};

// ------------------------------------------------------------------------------------------
// Matrix multiplication.

function matMulImpl(addon: NativeAddon, args: KernelArgs, fallback: KernelImpl, fused: boolean): TensorInfo | TensorInfo[] {
  const { inputs, backend, attrs = {} } = args;
  const a = f32(backend, inputs.a);
  const b = f32(backend, inputs.b);
  const act = fused ? actCode(attrs.activation) : 0;
  if (!a || !b || act === null) return fallback(args);
  const aShape = inputs.a!.shape;
  const bShape = inputs.b!.shape;
  const ar = aShape.length;
  const br = bShape.length;
  if (ar < 2 || br < 2) return fallback(args);
  const tA = !!attrs.transposeA;
  const tB = !!attrs.transposeB;
  const kA = tA ? aShape[ar - 2] : aShape[ar - 1];
  const kB = tB ? bShape[br - 1] : bShape[br - 2];
  const m = tA ? aShape[ar - 1] : aShape[ar - 2];
  const n = tB ? bShape[br - 2] : bShape[br - 1];
  if (kA !== kB) return fallback(args); // let the reference kernel throw its error
  const batchA = size(aShape.slice(0, -2));
  const batchB = size(bShape.slice(0, -2));
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return fallback(args);
  const outer = backend_util.assertAndGetBroadcastShape(aShape.slice(0, -2), bShape.slice(0, -2));
  const outShape = [...outer, m, n];
  let bias: Float32Array | null = null;
  if (fused && inputs.bias) {
    bias = f32(backend, inputs.bias);
    const bs = inputs.bias.shape;
    if (!bias || bias.length !== n || (bs.length > 0 && bs[bs.length - 1] !== n)) return fallback(args);
  }
  const c = alloc(size(outShape));
  addon.matMul(a, b, c, batchA, batchB, m, n, kA, tA, tB, bias, act ?? 0, (attrs.leakyreluAlpha as number | undefined) ?? 0.2);
  return out(backend, outShape, c);
}

const batchMatMul: Override = (addon, args, fallback) => matMulImpl(addon, args, fallback, false);
const fusedMatMul: Override = (addon, args, fallback) => matMulImpl(addon, args, fallback, true);

// ------------------------------------------------------------------------------------------
// Unary elementwise (codes shared with addon.cc `Unary`).

export const UNARY: Record<string, number> = {
  Relu: 1, Relu6: 2, LeakyRelu: 3, Sigmoid: 4, Elu: 5, Tanh: 6, Neg: 7, Exp: 8, Log: 9, Sqrt: 10,
  Rsqrt: 11, Square: 12, Abs: 13, Reciprocal: 14, Softplus: 15, Log1p: 16, Expm1: 17, Step: 18,
  Sign: 19, Floor: 20, Ceil: 21, Sin: 22, Cos: 23,
};

function unary(op: number, alphaAttr?: string, alphaDefault = 0): Override {
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
// Binary elementwise with broadcasting (codes shared with addon.cc `Binary`).

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

function binary(op: number, compare: boolean): Override {
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

function reduction(op: number, mean: boolean): Override {
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

// ------------------------------------------------------------------------------------------
// Layout and misc.

const transpose: Override = (addon, args, fallback) => {
  const { inputs, backend, attrs = {} } = args;
  const xi = inputs.x!;
  const perm = attrs.perm as number[];
  const v = backend.data.get(xi.dataId)?.values;
  const ok = (xi.dtype === 'float32' && v instanceof Float32Array) || (xi.dtype === 'int32' && v instanceof Int32Array);
  if (!ok || xi.shape.length === 0 || size(xi.shape) === 0) return fallback(args);
  const newShape = perm.map((p) => xi.shape[p]);
  const y = xi.dtype === 'float32' ? alloc(v.length) : new Int32Array(v.length);
  addon.transpose(v, y, Int32Array.from(xi.shape), Int32Array.from(perm));
  return out(backend, newShape, y, xi.dtype);
};

const tile: Override = (addon, args, fallback) => {
  const { inputs, backend, attrs = {} } = args;
  const xi = inputs.x!;
  const reps = attrs.reps as number[];
  const v = backend.data.get(xi.dataId)?.values;
  const ok = (xi.dtype === 'float32' && v instanceof Float32Array) || (xi.dtype === 'int32' && v instanceof Int32Array);
  if (!ok || xi.shape.length === 0 || reps.length !== xi.shape.length || size(xi.shape) === 0) return fallback(args);
  const outShape = xi.shape.map((d, i) => d * reps[i]);
  const n = size(outShape);
  if (n === 0) return fallback(args);
  const y = xi.dtype === 'float32' ? alloc(n) : new Int32Array(n);
  addon.tile(v, y, Int32Array.from(xi.shape), Int32Array.from(outShape));
  return out(backend, outShape, y, xi.dtype);
};

const fusedBatchNorm: Override = (addon, args, fallback) => {
  const { inputs, backend, attrs = {} } = args;
  const x = f32(backend, inputs.x);
  const mean = f32(backend, inputs.mean);
  const variance = f32(backend, inputs.variance);
  const offset = inputs.offset ? f32(backend, inputs.offset) : null;
  const scale = inputs.scale ? f32(backend, inputs.scale) : null;
  if (!x || !mean || !variance || (inputs.offset && !offset) || (inputs.scale && !scale)) return fallback(args);
  const shape = inputs.x!.shape;
  const channels = shape.length > 0 ? shape[shape.length - 1] : 1;
  if (x.length === 0 || channels === 0) return fallback(args);
  for (const p of [mean, variance, offset, scale]) {
    if (p && p.length !== channels && p.length !== 1) return fallback(args);
  }
  const eps = (attrs.varianceEpsilon as number | undefined) ?? 0.001;
  const y = alloc(x.length);
  addon.batchNorm(x, mean, variance, offset, scale, eps, y, channels);
  return out(backend, shape, y);
};

const select: Override = (addon, args, fallback) => {
  const { inputs, backend } = args;
  const cond = inputs.condition ? backend.data.get(inputs.condition.dataId)?.values : null;
  const t = f32(backend, inputs.t);
  const e = f32(backend, inputs.e);
  if (!(cond instanceof Uint8Array) || !t || !e || cond.length !== t.length || t.length !== e.length) return fallback(args);
  const y = alloc(t.length);
  addon.select(cond, t, e, y);
  return out(backend, inputs.t!.shape, y);
};

const addN: Override = (addon, args, fallback) => {
  const { inputs, backend } = args;
  const list = Object.values(inputs) as TensorInfo[];
  const arrays = list.map((t) => f32(backend, t));
  if (list.length === 0 || arrays.some((a) => !a || a.length !== arrays[0]!.length)) return fallback(args);
  const y = alloc(arrays[0]!.length);
  addon.addN(arrays as Float32Array[], y);
  return out(backend, list[0].shape, y);
};

// ------------------------------------------------------------------------------------------
// Fused optimiser update (a kernel of its own; src/training/adam.ts calls it when registered).

/** A kernel that does a whole Adam update in one pass; src/training/adam.ts uses it where a backend registers it. */

/** inputs {w, g, m, v}; attrs {beta1, beta2, lr, eps} → [w', m', v']. */
export function fusedAdam(addon: NativeAddon, args: KernelArgs): TensorInfo[] {
  const { inputs, backend, attrs = {} } = args;
  const [w, g, m, v] = (['w', 'g', 'm', 'v'] as const).map((k) => f32(backend, inputs[k]));
  if (!w || !g || !m || !v) throw new Error(`${FUSED_ADAM}: float32 inputs w, g, m, v expected`);
  const n = w.length;
  if (g.length !== n || m.length !== n || v.length !== n) throw new Error(`${FUSED_ADAM}: w, g, m, v differ in size`);
  const [wo, mo, vo] = [alloc(n), alloc(n), alloc(n)];
  const f = Math.fround;
  const { beta1, beta2, lr, eps } = attrs as { beta1: number; beta2: number; lr: number; eps: number };
  addon.adam(w, g, m, v, wo, mo, vo, f(beta1), f(1 - beta1), f(beta2), f(1 - beta2), f(lr), f(eps));
  const shape = inputs.w!.shape;
  return [out(backend, shape, wo), out(backend, shape, mo), out(backend, shape, vo)];
}

/** The LeakyRelu gradient in one pass (see registerLeakyReluGradient). */

/** inputs {dy, x}; attrs {alpha} → dx. */
export function leakyReluGrad(addon: NativeAddon, args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs = {} } = args;
  const dy = f32(backend, inputs.dy);
  const x = f32(backend, inputs.x);
  if (!dy || !x || dy.length !== x.length) throw new Error(`${LEAKY_RELU_GRAD}: float32 dy and x of one size expected`);
  const dx = alloc(dy.length);
  addon.leakyReluGrad(dy, x, dx, Math.fround(attrs.alpha as number));
  return out(backend, inputs.x!.shape, dx);
}

/**
 * Replaces TF.js's LeakyRelu gradient — where(x > 0, dy, dy·alpha), three passes and three
 * outputs — by one kernel on backends that register LEAKY_RELU_GRAD; elsewhere the same formula
 * as TF.js's.
 */
export function registerLeakyReluGradient(): void {
  tf.registerGradient({
    kernelName: 'LeakyRelu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const alpha = (attrs as { alpha: number }).alpha;
      const dyT = dy as tf.Tensor;
      if (tf.getKernel(LEAKY_RELU_GRAD, tf.getBackend()) && dyT.dtype === 'float32' && x!.dtype === 'float32') {
        return { x: () => tf.engine().runKernel(LEAKY_RELU_GRAD, { dy: dyT, x: x! }, { alpha }) as tf.Tensor };
      }
      return { x: () => tf.where(tf.greater(x!, 0), dyT, tf.mul(dyT, alpha)) };
    },
  });
}

/**
 * TF.js's Sum and Mean gradients multiply the gradient by a `ones` tensor of the input's size
 * (filled by a JS loop) before broadcasting; on the native backend they broadcast directly
 * (a Tile), which gives the same numbers: dy·1 is dy, and Mean divides the small tensor first.
 */
export function registerReductionGradients(): void {
  for (const kernelName of ['Sum', 'Mean'] as const) {
    tf.registerGradient({
      kernelName,
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved as tf.Tensor[];
        const axes = util.parseAxisParam((attrs as { axis: number | number[] }).axis, x!.shape);
        const expandedShape = x!.shape.map((d, i) => (axes.includes(i) ? 1 : d));
        const reduceSize = util.sizeFromShape(axes.map((a) => x!.shape[a]!));
        const expandedDy = tf.reshape(dy as tf.Tensor, expandedShape);
        if (tf.getBackend() !== 'native') {
          // TF.js's own formulas.
          const spread = () => tf.mul(expandedDy, tf.ones(x!.shape, 'float32'));
          return { x: () => (kernelName === 'Mean' ? tf.div(spread(), reduceSize) : spread()) };
        }
        return { x: () => tf.broadcastTo(kernelName === 'Mean' ? tf.div(expandedDy, reduceSize) : expandedDy, x!.shape) };
      },
    });
  }
}

/** Kernel name → native override; outputs come from `allocate` (default: fresh zeroed arrays). */
export function nativeOverrides(allocate?: (n: number) => Float32Array): Record<string, Override> {
  if (allocate) alloc = allocate;
  const o: Record<string, Override> = {
    Conv2D: conv2D,
    FusedConv2D: fusedConv2D,
    Conv2DBackpropInput: conv2DBackpropInput,
    Conv2DBackpropFilter: conv2DBackpropFilter,
    BatchMatMul: batchMatMul,
    _FusedMatMul: fusedMatMul,
    Sum: reduction(0, false),
    Mean: reduction(0, true),
    Max: reduction(1, false),
    Min: reduction(2, false),
    Prod: reduction(3, false),
    Transpose: transpose,
    Tile: tile,
    FusedBatchNorm: fusedBatchNorm,
    Select: select,
    AddN: addN,
  };
  for (const [name, code] of Object.entries(UNARY)) {
    o[name] = name === 'LeakyRelu' ? unary(code, 'alpha', 0.2) : name === 'Step' ? unary(code, 'alpha', 0) : unary(code);
  }
  for (const [name, code] of Object.entries(BINARY)) o[name] = binary(code, false);
  for (const [name, code] of Object.entries(COMPARE)) o[name] = binary(code, true);
  return o;
}
