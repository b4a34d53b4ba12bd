import type { NativeAddon } from './addon';
import { type KernelArgs, type TensorInfo, f32, out, alloc } from './kernel-util';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from '../kernel-names';

/**
 * Batch norm in training mode as two kernels (src/models/batch-norm.ts calls them where a
 * backend registers them): the forward pass with the batch's statistics, and its whole gradient.
 * Channels are the last axis; every parameter holds one value per channel.
 */

function channelsOf(name: string, x: TensorInfo | null | undefined): number {
  const c = x?.shape.at(-1);
  if (!x || x.shape.length < 2 || !c) throw new Error(`${name}: x of rank 2 or more with channels expected`);
  return c;
}

function param(name: string, args: KernelArgs, key: string, channels: number): Float32Array {
  const v = f32(args.backend, args.inputs[key]);
  if (!v || v.length !== channels) throw new Error(`${name}: float32 ${key} of ${channels} values expected`);
  return v;
}

/** inputs {x, scale, offset}; attrs {epsilon} → [y, mean, variance]. */
export function batchNormTrain(addon: NativeAddon, args: KernelArgs): TensorInfo[] {
  const name = BATCH_NORM_TRAIN;
  const c = channelsOf(name, args.inputs.x);
  const x = f32(args.backend, args.inputs.x);
  if (!x) throw new Error(`${name}: float32 x expected`);
  const [scale, offset] = [param(name, args, 'scale', c), param(name, args, 'offset', c)];
  const [y, mean, variance] = [alloc(x.length), alloc(c), alloc(c)];
  addon.batchNormTrain(x, scale, offset, args.attrs?.epsilon as number, y, mean, variance, c);
  return [out(args.backend, args.inputs.x!.shape, y), out(args.backend, [c], mean), out(args.backend, [c], variance)];
}

/** inputs {dy, x, mean, variance, scale}; attrs {epsilon} → [dx, dscale, doffset]. */
export function batchNormTrainGrad(addon: NativeAddon, args: KernelArgs): TensorInfo[] {
  const name = BATCH_NORM_TRAIN_GRAD;
  const c = channelsOf(name, args.inputs.x);
  const dy = f32(args.backend, args.inputs.dy);
  const x = f32(args.backend, args.inputs.x);
  if (!dy || !x || dy.length !== x.length) throw new Error(`${name}: float32 dy and x of one size expected`);
  const [mean, variance, scale] = (['mean', 'variance', 'scale'] as const).map((k) => param(name, args, k, c));
  const [dx, dscale, doffset] = [alloc(x.length), alloc(c), alloc(c)];
  addon.batchNormTrainGrad(dy, x, mean!, variance!, scale!, args.attrs?.epsilon as number, dx, dscale, doffset, c);
  return [out(args.backend, args.inputs.x!.shape, dx), out(args.backend, [c], dscale), out(args.backend, [c], doffset)];
}
