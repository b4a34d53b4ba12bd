import * as tf from '@tensorflow/tfjs';
import { FUSED_ADAM } from '../backends/kernel-names';
import type { OptimizerSpec } from '../models/spec';

/**
 * Adam as Keras computes it (ε outside the square root, bias correction folded into the step
 * size). Written here rather than taken from TF.js so that its whole state — the step count
 * and both moments — is plain data a checkpoint restores exactly: TF.js's Adam recomputes
 * β^t with pow() on restore, which differs in the last bit from its running product.
 */
export class Adam {
  step = 0;
  /** Multiplies the learning rate (a schedule sets it before each update; 1 = the spec's rate). */
  lrScale = 1;
  readonly m: tf.Variable[];
  readonly v: tf.Variable[];

  constructor(
    readonly spec: OptimizerSpec,
    readonly variables: tf.LayerVariable[],
  ) {
    // In a tidy: tf.variable shares the zeros' data, and the zeros' own handles must not outlive it.
    const zeros = () => tf.tidy(() => variables.map((w) => tf.variable(tf.zeros(w.shape as number[]), false)));
    this.m = zeros();
    this.v = zeros();
  }

  /** Applies one update; `grads[i]` belongs to `variables[i]`. Frees nothing it was given. */
  apply(grads: tf.Tensor[]): void {
    this.step += 1;
    const { learningRate, beta1, beta2, epsilon } = this.spec;
    // Bias correction in float64 from the step count: exactly reproducible after a resume.
    const lrT = (learningRate * this.lrScale * Math.sqrt(1 - beta2 ** this.step)) / (1 - beta1 ** this.step);
    if (tf.getKernel(FUSED_ADAM, tf.getBackend())) {
      // One pass per variable in the backend (the same float32 operations in the same order).
      tf.tidy(() => {
        this.variables.forEach((w, i) => {
          const inputs = { w: w.read(), g: grads[i]!, m: this.m[i]!, v: this.v[i]! };
          const [w2, m2, v2] = tf.engine().runKernel(FUSED_ADAM, inputs, { beta1, beta2, lr: lrT, eps: epsilon }) as tf.Tensor[];
          this.m[i]!.assign(m2!);
          this.v[i]!.assign(v2!);
          w.write(w2!);
        });
      });
      return;
    }
    tf.tidy(() => {
      const b1 = tf.scalar(beta1);
      const b2 = tf.scalar(beta2);
      const oneMinusB1 = tf.scalar(1 - beta1);
      const oneMinusB2 = tf.scalar(1 - beta2);
      const lr = tf.scalar(lrT);
      const eps = tf.scalar(epsilon);
      this.variables.forEach((w, i) => {
        const g = grads[i]!;
        const m = tf.add(tf.mul(this.m[i]!, b1), tf.mul(g, oneMinusB1));
        const v = tf.add(tf.mul(this.v[i]!, b2), tf.mul(tf.square(g), oneMinusB2));
        this.m[i]!.assign(m);
        this.v[i]!.assign(v);
        w.write(tf.sub(w.read(), tf.div(tf.mul(m, lr), tf.add(tf.sqrt(v), eps))));
      });
    });
  }

  /** The moments, in variable order (m then v), for a checkpoint. */
  slots(): tf.Variable[] {
    return [...this.m, ...this.v];
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}
