import * as tf from '@tensorflow/tfjs';

/**
 * Discriminator-only layers (the discriminator is saved in checkpoints as weights, never as a
 * stock TF.js model, so custom layers are fine here; the exported generator uses none).
 */

type Kwargs = { training?: boolean };

/** Identity whose gradient is zero (TF.js has no stopGradient op). */
const stopGradient = tf.customGrad(((x: tf.Tensor) => ({ value: x.clone(), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

/** One power-iteration step for the largest singular value of w2d [rows, cols]; u is [1, cols]. */
function spectralNormalise(kernel: tf.Tensor, u: tf.LayerVariable, training: boolean): tf.Tensor {
  const cols = kernel.shape[kernel.shape.length - 1]!;
  const w2d = tf.reshape(kernel, [-1, cols]);
  const uOld = u.read();
  // u and v are constants to the gradient, as in Miyato et al. (2018).
  const v = stopGradient(l2normalise(tf.matMul(uOld, w2d, false, true))); // [1, rows]
  const uNew = stopGradient(l2normalise(tf.matMul(v, w2d))); // [1, cols]
  const sigma = tf.sum(tf.mul(tf.matMul(v, w2d), uNew));
  if (training) u.write(uNew); // the variable takes its own reference; tidy frees ours
  return tf.div(kernel, sigma);
}

function l2normalise(x: tf.Tensor): tf.Tensor {
  return tf.div(x, tf.add(tf.sqrt(tf.sum(tf.square(x))), 1e-12));
}

interface SNArgs {
  units?: number;
  filters?: number;
  kernelSize?: number;
  strides?: number;
  useBias: boolean;
  kernelInitializer: ReturnType<typeof tf.initializers.glorotUniform>;
  uSeed: number;
  name?: string;
}

/**
 * A linear layer (kernel, optional bias) whose kernel is divided by its spectral norm on every
 * call; `u` is the power iteration's persistent vector (a non-trainable weight, so checkpoints
 * keep it). Subclasses say what the kernel's shape is and how it is applied.
 */
abstract class SpectralNormLayer extends tf.layers.Layer {
  private kernel!: tf.LayerVariable;
  private bias: tf.LayerVariable | null = null;
  private u!: tf.LayerVariable;

  constructor(protected readonly args: SNArgs) {
    super({ name: args.name });
  }

  /** Output channels (filters or units). */
  protected abstract units(): number;
  protected abstract kernelShape(inChannels: number): number[];
  /** x ⊛ w without the bias. */
  protected abstract linear(x: tf.Tensor, w: tf.Tensor): tf.Tensor;

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = inputShape as number[];
    const units = this.units();
    this.kernel = this.addWeight('kernel', this.kernelShape(s[s.length - 1]!), 'float32', this.args.kernelInitializer);
    if (this.args.useBias) this.bias = this.addWeight('bias', [units], 'float32', tf.initializers.zeros());
    this.u = this.addWeight('sn_u', [1, units], 'float32', tf.initializers.randomNormal({ seed: this.args.uSeed }), undefined, false);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const y = this.linear(x, spectralNormalise(this.kernel.read(), this.u, !!kwargs.training));
      return this.bias ? tf.add(y, this.bias.read()) : y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), useBias: this.args.useBias };
  }
}

/** Conv2D ('same' padding, NHWC) whose kernel is divided by its spectral norm on every call. */
export class SNConv2D extends SpectralNormLayer {
  static className = 'SNConv2D';

  protected units(): number {
    return this.args.filters!;
  }

  protected kernelShape(inChannels: number): number[] {
    return [this.args.kernelSize!, this.args.kernelSize!, inChannels, this.args.filters!];
  }

  protected linear(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
    return tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, this.args.strides!, 'same');
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w] = inputShape as (number | null)[];
    const s = this.args.strides!;
    return [n!, Math.ceil(h! / s), Math.ceil(w! / s), this.args.filters!];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), filters: this.args.filters!, kernelSize: this.args.kernelSize!, strides: this.args.strides! };
  }
}

/** Dense whose kernel is divided by its spectral norm on every call. */
export class SNDense extends SpectralNormLayer {
  static className = 'SNDense';

  protected units(): number {
    return this.args.units!;
  }

  protected kernelShape(inChannels: number): number[] {
    return [inChannels, this.args.units!];
  }

  protected linear(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
    return tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return [(inputShape as (number | null)[])[0]!, this.args.units!];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), units: this.args.units! };
  }
}

/**
 * The projection discriminator's class term (Miyato & Koyama, 2018): ⟨embed(y), φ(x)⟩.
 * Inputs [φ [n, d], label [n, 1]] → [n, 1].
 */
export class ProjectionLogit extends tf.layers.Layer {
  static className = 'ProjectionLogit';
  private embedding!: tf.LayerVariable;

  constructor(private readonly args: { numClasses: number; seed: number; name?: string }) {
    super({ name: args.name });
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const [phi] = inputShape as tf.Shape[];
    const d = phi![phi!.length - 1]!;
    this.embedding = this.addWeight('embedding', [this.args.numClasses, d], 'float32', tf.initializers.glorotUniform({ seed: this.args.seed }));
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return [(inputShape as tf.Shape[])[0]![0]!, 1];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [phi, label] = inputs as tf.Tensor[];
      // one-hot × table rather than gather: its gradient is a matmul, not a scatter-add.
      const oneHot = tf.oneHot(tf.cast(tf.reshape(label!, [-1]), 'int32'), this.args.numClasses);
      return tf.sum(tf.mul(tf.matMul(oneHot, this.embedding.read()), phi!), -1, true);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), numClasses: this.args.numClasses };
  }
}

for (const cls of [SNConv2D, SNDense, ProjectionLogit]) tf.serialization.registerClass(cls);

/**
 * LeakyReLU written as ½(1+α)x + ½(1−α)|x|: the same function, but twice differentiable in
 * TF.js (its LeakyRelu gradient uses a Greater mask, which has no gradient), as WGAN-GP's
 * gradient penalty needs.
 */
export class AbsLeakyReLU extends tf.layers.Layer {
  static className = 'AbsLeakyReLU';
  constructor(private readonly args: { alpha: number; name?: string }) {
    super({ name: args.name });
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const a = this.args.alpha;
    return tf.tidy(() => tf.add(tf.mul(x, 0.5 * (1 + a)), tf.mul(tf.abs(x), 0.5 * (1 - a))));
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), alpha: this.args.alpha };
  }
}
tf.serialization.registerClass(AbsLeakyReLU);
