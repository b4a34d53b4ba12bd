import { type Override, type TensorInfo, f32, out, size, alloc } from './kernel-util';

// ------------------------------------------------------------------------------------------
// Layout and misc.

export const transpose: Override = (addon, args, fallback) => {
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

export const tile: Override = (addon, args, fallback) => {
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

export const fusedBatchNorm: Override = (addon, args, fallback) => {
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

export const select: Override = (addon, args, fallback) => {
  const { inputs, backend } = args;
  const cond = inputs.condition ? backend.data.get(inputs.condition.dataId)?.values : null;
  const t = f32(backend, inputs.t);
  const e = f32(backend, inputs.e);
  if (!(cond instanceof Uint8Array) || !t || !e || cond.length !== t.length || t.length !== e.length) return fallback(args);
  const y = alloc(t.length);
  addon.select(cond, t, e, y);
  return out(backend, inputs.t!.shape, y);
};

export const addN: Override = (addon, args, fallback) => {
  const { inputs, backend } = args;
  const list = Object.values(inputs) as TensorInfo[];
  const arrays = list.map((t) => f32(backend, t));
  if (list.length === 0 || arrays.some((a) => !a || a.length !== arrays[0]!.length)) return fallback(args);
  const y = alloc(arrays[0]!.length);
  addon.addN(arrays as Float32Array[], y);
  return out(backend, list[0].shape, y);
};
