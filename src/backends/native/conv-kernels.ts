import * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from './addon';
import { type Override, type KernelArgs, type KernelImpl, type Attrs, type TensorInfo, f32, out, size, alloc, actCode } from './kernel-util';

const { backend_util } = tf;

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

export const conv2D: Override = (addon, args, fallback) => {
  const { inputs, backend, attrs = {} } = args;
  const x = f32(backend, inputs.x);
  const w = f32(backend, inputs.filter);
  if (!x || !w || !isNHWC(attrs.dataFormat) || inputs.x!.shape.length !== 4) return fallback(args);
  const c = conv2dInfo(inputs.x!.shape, inputs.filter!.shape, attrs, attrs.dilations);
  const y = alloc(size(c.outShape));
  addon.conv2d(x, w, y, convParams(c), null, 0, 0);
  return out(backend, c.outShape, y);
};

export const fusedConv2D: Override = (addon, args, fallback) => {
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

export const conv2DBackpropInput: Override = (addon, args, fallback) => {
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

export const conv2DBackpropFilter: Override = (addon, args, fallback) => {
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

export const batchMatMul: Override = (addon, args, fallback) => matMulImpl(addon, args, fallback, false);
export const fusedMatMul: Override = (addon, args, fallback) => matMulImpl(addon, args, fallback, true);
