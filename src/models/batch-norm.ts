import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from '../backends/kernel-names';

/**
 * Keras's BatchNormalization, trained in two kernels where the backend has them. In training
 * mode TF.js normalises through moments (mean, subtract, square, mean) and batchNorm, and its
 * gradient is a chain of about twenty whole-tensor ops; a backend that registers
 * BATCH_NORM_TRAIN (native) does the forward pass in one kernel and the whole gradient, through
 * the batch statistics, in another. Elsewhere, and at inference, it is the stock layer. It keeps
 * the stock class name, config and weights, so saved models load with a plain tf.loadLayersModel.
 */

type Args = NonNullable<Parameters<typeof tf.layers.batchNormalization>[0]>;
type StockState = {
  axis: number;
  epsilon: number;
  momentum: number;
  center: boolean;
  scale: boolean;
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
};

const Stock = tf.serialization.SerializationMap.getMap().classNameMap.BatchNormalization![0] as unknown as new (args: Args) => tf.layers.Layer;

/**
 * y = batch norm of x over every axis but the last, with the batch's statistics; also returns
 * them, kept (the forward pass runs in its own tidy): the caller disposes mean and variance.
 */
export function batchNormTraining(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  let stats: [tf.Tensor, tf.Tensor] | null = null;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAIN, { x: xi, scale: g, offset: b }, { epsilon }) as tf.Tensor[];
    save([xi, mean!, variance!, g]);
    stats = [tf.keep(mean!), tf.keep(variance!)];
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sm, sv, sg] = saved;
        return tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, { dy, x: sx!, mean: sm!, variance: sv!, scale: sg! }, { epsilon }) as tf.Tensor[];
      },
    };
  });
  const y = op(x, gamma, beta);
  const [mean, variance] = stats!;
  return { y, mean, variance };
}

export class BatchNorm extends Stock {
  static className = 'BatchNormalization';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const s = this as unknown as StockState;
    const lastAxis = s.axis === -1 || s.axis === x.rank - 1;
    if (!kwargs.training || !lastAxis || x.rank < 2 || x.dtype !== 'float32' || !s.center || !s.scale || !tf.getKernel(BATCH_NORM_TRAIN, tf.getBackend())) {
      return super.call(inputs, kwargs);
    }
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTraining(x, s.gamma.read(), s.beta.read(), s.epsilon);
      // The stock layer's moving averages: v − (v − batch)·(1 − momentum).
      for (const [v, batch] of [[s.movingMean, mean], [s.movingVariance, variance]] as const) {
        tf.tidy(() => {
          const orig = v.read();
          v.write(tf.sub(orig, tf.mul(tf.sub(orig, batch), 1 - s.momentum)));
        });
      }
      tf.dispose([mean, variance]);
      return y;
    });
  }
}

/** A batch norm layer (tf.layers.batchNormalization's arguments). */
export const batchNorm = (args: Args): tf.layers.Layer => new BatchNorm(args);
