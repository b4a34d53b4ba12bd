import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backends/index';
import { accuracy, bceFromLogits, classCrossEntropy, discriminatorLoss, generatorLoss, gradientPenalty } from './losses';

beforeAll(async () => {
  await initBackend('cpu');
});

const real = [2, -0.5, 0, 4];
const fake = [-3, 1, 0.25, -0.1];
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
/** −[y log σ(x) + (1 − y) log(1 − σ(x))], straight from the definition. */
const bce = (x: number, y: number) => -(y * Math.log(sigmoid(x)) + (1 - y) * Math.log(1 - sigmoid(x)));
const relu = (x: number) => Math.max(0, x);
const value = (f: () => tf.Scalar) => tf.tidy(() => f().dataSync()[0]!);

describe('losses on hand-computed inputs', () => {
  it('binary cross-entropy from logits, for targets 1, 0 and a smoothed 0.9, and at large logits', () => {
    for (const y of [1, 0, 0.9]) expect(value(() => bceFromLogits(tf.tensor1d(real), y))).toBeCloseTo(mean(real.map((x) => bce(x, y))), 6);
    // Stable where the naive formula overflows: BCE(1, −100) = 100 (+ log(1 + e^−100)).
    expect(value(() => bceFromLogits(tf.tensor1d([-100]), 1))).toBeCloseTo(100, 4);
    expect(value(() => bceFromLogits(tf.tensor1d([100]), 1))).toBeCloseTo(0, 6);
  });

  it("the seed's loss: G −log σ(D(G(z))), D BCE on real (smoothed) and fake", () => {
    expect(value(() => generatorLoss('bce', tf.tensor1d(fake)))).toBeCloseTo(mean(fake.map((x) => bce(x, 1))), 6);
    expect(value(() => discriminatorLoss('bce', tf.tensor1d(real), tf.tensor1d(fake)))).toBeCloseTo(mean(real.map((x) => bce(x, 1))) + mean(fake.map((x) => bce(x, 0))), 6);
    expect(value(() => discriminatorLoss('bce', tf.tensor1d(real), tf.tensor1d(fake), 0.1))).toBeCloseTo(mean(real.map((x) => bce(x, 0.9))) + mean(fake.map((x) => bce(x, 0))), 6);
  });

  it('hinge: G −E D(G(z)); D E relu(1 − D(x)) + E relu(1 + D(G(z)))', () => {
    expect(value(() => generatorLoss('hinge', tf.tensor1d(fake)))).toBeCloseTo(-mean(fake), 6);
    // by hand: relu(1 − real) = [0, 1.5, 1, 0] → 0.625; relu(1 + fake) = [0, 2, 1.25, 0.9] → 1.0375
    expect(value(() => discriminatorLoss('hinge', tf.tensor1d(real), tf.tensor1d(fake)))).toBeCloseTo(0.625 + 1.0375, 6);
    expect(mean(real.map((x) => relu(1 - x))) + mean(fake.map((x) => relu(1 + x)))).toBeCloseTo(1.6625, 12);
  });

  it('least squares: G ½E(D(G(z)) − 1)²; D ½[E(D(x) − (1 − s))² + E D(G(z))²]', () => {
    expect(value(() => generatorLoss('lsgan', tf.tensor1d(fake)))).toBeCloseTo(0.5 * mean(fake.map((x) => (x - 1) ** 2)), 6);
    expect(value(() => discriminatorLoss('lsgan', tf.tensor1d(real), tf.tensor1d(fake)))).toBeCloseTo(0.5 * (mean(real.map((x) => (x - 1) ** 2)) + mean(fake.map((x) => x * x))), 6);
    expect(value(() => discriminatorLoss('lsgan', tf.tensor1d(real), tf.tensor1d(fake), 0.2))).toBeCloseTo(0.5 * (mean(real.map((x) => (x - 0.8) ** 2)) + mean(fake.map((x) => x * x))), 6);
  });

  it('Wasserstein: G −E D(G(z)); D E D(G(z)) − E D(x)', () => {
    expect(value(() => generatorLoss('wgan-gp', tf.tensor1d(fake)))).toBeCloseTo(-mean(fake), 6);
    expect(value(() => discriminatorLoss('wgan-gp', tf.tensor1d(real), tf.tensor1d(fake)))).toBeCloseTo(mean(fake) - mean(real), 6);
  });

  it("the gradient penalty of a quadratic critic D(x) = Σx²: (‖2x̂‖ − 1)² at x̂ = εx + (1 − ε)x̃", () => {
    const x = [[0.5, -1], [2, 0]];
    const g = [[1, 1], [-1, 0.5]];
    const eps = [0.25, 0.5];
    const penalty = value(() => gradientPenalty((t) => tf.sum(tf.square(t), [1, 2, 3]), tf.tensor4d(x.flat(), [2, 1, 1, 2]), tf.tensor4d(g.flat(), [2, 1, 1, 2]), Float32Array.from(eps)));
    const byHand = mean(
      x.map((xi, i) => {
        const mixed = xi.map((v, d) => eps[i]! * v + (1 - eps[i]!) * g[i]![d]!);
        return (2 * Math.hypot(...mixed) - 1) ** 2;
      }),
    );
    expect(penalty).toBeCloseTo(byHand, 5);
  });

  it("the auxiliary classifier's cross-entropy: −log softmax(x)[label], averaged, stable at large logits", () => {
    const logits = [[2, -1, 0.5], [0, 0, 0], [-3, 4, 1]];
    const labels = [0, 2, 1];
    const byHand = mean(logits.map((row, i) => Math.log(row.reduce((s, v) => s + Math.exp(v), 0)) - row[labels[i]!]!));
    expect(value(() => classCrossEntropy(tf.tensor2d(logits), tf.tensor2d(labels, [3, 1])))).toBeCloseTo(byHand, 6);
    expect(value(() => classCrossEntropy(tf.tensor2d([[0, 0, 0]]), tf.tensor2d([[1]])))).toBeCloseTo(Math.log(3), 6);
    // 1,000 above the rest: no overflow, −log p = log(1 + 2e^−1000) ≈ 0; and the wrong class costs 1,000.
    expect(value(() => classCrossEntropy(tf.tensor2d([[1000, 0, 0]]), tf.tensor2d([[0]])))).toBeCloseTo(0, 6);
    expect(value(() => classCrossEntropy(tf.tensor2d([[1000, 0, 0]]), tf.tensor2d([[2]])))).toBeCloseTo(1000, 3);
  });

  it('accuracy thresholds the probability at 0.5 (the logit at 0), not the logit at 0.5', () => {
    // logits 0.3 and 0 are "real" (σ ≥ 0.5); the seed's notebooks would have called 0.3 fake.
    expect(value(() => accuracy(tf.tensor1d([0.3, 0, -0.2, 2]), 1))).toBeCloseTo(0.75, 6);
    expect(value(() => accuracy(tf.tensor1d([0.3, 0, -0.2, 2]), 0))).toBeCloseTo(0.25, 6);
  });

  it('leave no tensors behind', () => {
    const before = tf.memory().numTensors;
    const r = tf.tensor1d(real);
    const f = tf.tensor1d(fake);
    for (const kind of ['bce', 'hinge', 'lsgan', 'wgan-gp'] as const) tf.dispose([generatorLoss(kind, f), discriminatorLoss(kind, r, f, 0.1)]);
    const logits = tf.tensor2d([r.arraySync() as number[], f.arraySync() as number[]]);
    const labels = tf.tensor2d([[3], [0]]);
    tf.dispose([classCrossEntropy(logits, labels), logits, labels]);
    tf.dispose([r, f]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
