import * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from './addon';
import { type KernelArgs, type TensorInfo, f32, out, alloc } from './kernel-util';
import { FUSED_ADAM, LEAKY_RELU_GRAD } from '../kernel-names';

const { util } = tf;

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
