import * as tf from '@tensorflow/tfjs';
import { withDropoutRng } from '../models/dropout';
import { DEFAULT_RECIPE, type Recipe } from '../models/spec';
import type { Rng } from '../util/rng';
import type { Adam } from './adam';
import { diffAugment } from './augment';
import type { WeightEma } from './ema';
import { accuracy, classCrossEntropy, discriminatorLoss, generatorLoss, gradientPenalty } from './losses';

/** The two networks and their optimisers: everything a train step changes. */
export interface Gan {
  generator: tf.LayersModel;
  discriminator: tf.LayersModel;
  optG: Adam;
  optD: Adam;
  /** Moving average of G's weights, when the recipe asks for one. */
  ema?: WeightEma;
}

/** What one step reports; these are the columns of history.jsonl. */
export interface StepStats {
  gen_loss: number;
  disc_loss: number;
  real_accuracy: number;
  fake_accuracy: number;
}

export interface Batch {
  /** real images [n, H, W, C] in [-1, 1] */
  real: tf.Tensor4D;
  /** latent vectors [n, latentDim] */
  z: tf.Tensor2D;
  /** class indices [n, 1] (float32) for a conditional GAN: the generated batch copies the real batch's classes */
  labels?: tf.Tensor2D;
}

const vars = (m: tf.LayersModel) => m.trainableWeights.map((w) => w.read() as tf.Variable);

/**
 * One training step, the seed's by default: non-saturating BCE from logits, G and D updated
 * once each from the same parameters (a simultaneous update).
 *   G: BCE(1, D(G(z)))      D: BCE(1, D(x)) + BCE(0, D(G(z)))
 * The recipe swaps the loss (hinge, least squares, WGAN-GP), smooths real labels, augments
 * D's inputs (DiffAugment) and conditions both networks on the class; with an auxiliary
 * classifier of weight w, D adds w·CE(class of real images) and G w·CE(requested class of its images).
 * The generated batch is computed once, in G's pass, and reused by D's pass. Random numbers
 * (dropout masks, augmentation, WGAN-GP's mixing) come from `rng`, so a step is a pure
 * function of the state, the batch and the RNG.
 */
export function trainStep(gan: Gan, batch: Batch, rng: Rng, recipe: Recipe = DEFAULT_RECIPE): StepStats {
  const { generator: G, discriminator: D } = gan;
  const { real, z, labels } = batch;
  const gVars = vars(G);
  const dVars = vars(D);
  const aug = (x: tf.Tensor) => diffAugment(x as tf.Tensor4D, recipe.diffAugment, rng);
  /** D's outputs: the realness logit, and class logits when D has an auxiliary classifier. */
  const heads = (x: tf.Tensor) => {
    const out = D.apply(labels ? [x, labels] : x, { training: true }) as tf.Tensor | tf.Tensor[];
    return Array.isArray(out) ? { logit: out[0]!, classes: out[1] } : { logit: out, classes: undefined };
  };
  const critic = (x: tf.Tensor) => heads(x).logit;
  const aux = recipe.auxClassifier;
  /** `loss` plus the auxiliary classifier's weighted cross-entropy, when there is one. */
  const withClass = (loss: tf.Scalar, classes: tf.Tensor | undefined): tf.Scalar =>
    classes && labels && aux > 0 ? (tf.add(loss, tf.mul(aux, classCrossEntropy(classes, labels))) as tf.Scalar) : loss;
  let fake: tf.Tensor | undefined;
  let realAcc: tf.Scalar | undefined;
  let fakeAcc: tf.Scalar | undefined;
  try {
    const gRes = withDropoutRng(rng, () =>
      tf.variableGrads(() => {
        fake = tf.keep(G.apply(labels ? [z, labels] : z, { training: true }) as tf.Tensor);
        const d = heads(aug(fake));
        return withClass(generatorLoss(recipe.loss, d.logit), d.classes);
      }, gVars),
    );
    const eps = recipe.loss === 'wgan-gp' ? Float32Array.from({ length: real.shape[0] }, () => rng.nextFloat()) : null;
    const dRes = withDropoutRng(rng, () =>
      tf.variableGrads(() => {
        const r = heads(aug(real));
        const fakeLogits = critic(aug(fake!));
        realAcc = tf.keep(accuracy(r.logit, 1));
        fakeAcc = tf.keep(accuracy(fakeLogits, 0));
        const loss = withClass(discriminatorLoss(recipe.loss, r.logit, fakeLogits, recipe.labelSmoothing), r.classes);
        return (eps ? tf.add(loss, tf.mul(recipe.gpWeight, gradientPenalty(critic, real, fake!, eps))) : loss) as tf.Scalar;
      }, dVars),
    );
    gan.optG.apply(gVars.map((v) => gRes.grads[v.name]!));
    gan.optD.apply(dVars.map((v) => dRes.grads[v.name]!));
    gan.ema?.update(gan.optG.step);
    const packed = tf.tidy(() => tf.stack([gRes.value, dRes.value, realAcc!, fakeAcc!]));
    const [gl, dl, ra, fa] = packed.dataSync();
    tf.dispose([packed, gRes.value, dRes.value, gRes.grads, dRes.grads]);
    return { gen_loss: gl!, disc_loss: dl!, real_accuracy: ra!, fake_accuracy: fa! };
  } finally {
    tf.dispose([fake, realAcc, fakeAcc].filter((t): t is tf.Tensor => t !== undefined));
  }
}
