import * as tf from '@tensorflow/tfjs';
import { withDropoutRng } from '../models/dropout';
import type { Rng } from '../util/rng';
import type { Adam } from './adam';
import { accuracy, bceFromLogits } from './losses';

/** The two networks and their optimisers: everything a train step changes. */
export interface Gan {
  generator: tf.LayersModel;
  discriminator: tf.LayersModel;
  optG: Adam;
  optD: Adam;
}

/** What one step reports; these are the columns of history.jsonl. */
export interface StepStats {
  gen_loss: number;
  disc_loss: number;
  real_accuracy: number;
  fake_accuracy: number;
}

const vars = (m: tf.LayersModel) => m.trainableWeights.map((w) => w.read() as tf.Variable);

/**
 * The seed's train step: non-saturating BCE from logits, G and D updated once each from the
 * same parameters (a simultaneous update).
 *   G: BCE(1, D(G(z)))      D: BCE(1, D(x)) + BCE(0, D(G(z)))
 * The generated batch is computed once, in G's pass, and reused by D's pass. Dropout masks come
 * from `rng`, so a step is a pure function of the state, the batch, z and the RNG.
 *
 * @param realNHWC real images [n, H, W, C] in [-1, 1]
 * @param z        latent vectors [n, latentDim]
 */
export function trainStep(gan: Gan, realNHWC: tf.Tensor4D, z: tf.Tensor2D, rng: Rng): StepStats {
  const { generator: G, discriminator: D } = gan;
  const gVars = vars(G);
  const dVars = vars(D);
  let fake: tf.Tensor | undefined;
  let realAcc: tf.Scalar | undefined;
  let fakeAcc: tf.Scalar | undefined;
  try {
    const gRes = withDropoutRng(rng, () =>
      tf.variableGrads(() => {
        fake = tf.keep(G.apply(z, { training: true }) as tf.Tensor);
        return bceFromLogits(D.apply(fake, { training: true }) as tf.Tensor, 1);
      }, gVars),
    );
    const dRes = withDropoutRng(rng, () =>
      tf.variableGrads(() => {
        const realLogits = D.apply(realNHWC, { training: true }) as tf.Tensor;
        const fakeLogits = D.apply(fake!, { training: true }) as tf.Tensor;
        realAcc = tf.keep(accuracy(realLogits, 1));
        fakeAcc = tf.keep(accuracy(fakeLogits, 0));
        return tf.add(bceFromLogits(realLogits, 1), bceFromLogits(fakeLogits, 0)) as tf.Scalar;
      }, dVars),
    );
    gan.optG.apply(gVars.map((v) => gRes.grads[v.name]!));
    gan.optD.apply(dVars.map((v) => dRes.grads[v.name]!));
    const packed = tf.tidy(() => tf.stack([gRes.value, dRes.value, realAcc!, fakeAcc!]));
    const [gl, dl, ra, fa] = packed.dataSync();
    tf.dispose([packed, gRes.value, dRes.value, gRes.grads, dRes.grads]);
    return { gen_loss: gl!, disc_loss: dl!, real_accuracy: ra!, fake_accuracy: fa! };
  } finally {
    tf.dispose([fake, realAcc, fakeAcc].filter((t): t is tf.Tensor => t !== undefined));
  }
}
