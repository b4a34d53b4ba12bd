import * as tf from '@tensorflow/tfjs';

/**
 * Per-kernel time profile of whatever runs between `start()` and `stop()` on one backend: every
 * kernel registered for the backend is wrapped with a timer (kernels that call other kernels
 * directly, not through the registry, count once, in the outer kernel). Convolutions and matrix
 * products also report their arithmetic rate, so a slow kernel can be told from a big one.
 */

export interface KernelRow {
  kernel: string;
  calls: number;
  ms: number;
  /** Floating-point operations (2 per multiply-add), when the kernel's cost is known. */
  flops?: number;
  /** The input shapes that took the longest, with their share of `ms`. */
  top: Array<{ shapes: string; ms: number }>;
}

type Inputs = Record<string, tf.TensorInfo | null | undefined>;
type Attrs = Record<string, unknown>;

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** 2·MACs of the kernels whose cost is a product of shapes; undefined for the rest. */
export function kernelFlops(kernel: string, inputs: Inputs, attrs: Attrs): number | undefined {
  const shape = (k: string) => inputs[k]?.shape;
  switch (kernel) {
    case 'Conv2D':
    case 'FusedConv2D': {
      const x = shape('x');
      const w = shape('filter');
      if (!x || !w) return undefined;
      const strides = attrs.strides as number | [number, number];
      const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
      const pad = attrs.pad;
      const oh = pad === 'valid' ? Math.ceil((x[1] - w[0] + 1) / sh) : Math.ceil(x[1] / sh);
      const ow = pad === 'valid' ? Math.ceil((x[2] - w[1] + 1) / sw) : Math.ceil(x[2] / sw);
      return 2 * x[0] * oh * ow * prod(w);
    }
    case 'Conv2DBackpropInput': {
      const dy = shape('dy');
      const w = shape('filter');
      return dy && w ? 2 * prod(dy.slice(0, 3)) * prod(w) : undefined;
    }
    case 'Conv2DBackpropFilter': {
      const dy = shape('dy');
      const fs = attrs.filterShape as number[] | undefined;
      return dy && fs ? 2 * prod(dy.slice(0, 3)) * prod(fs) : undefined;
    }
    case 'BatchMatMul':
    case '_FusedMatMul': {
      const a = shape('a');
      const b = shape('b');
      if (!a || !b) return undefined;
      const k = attrs.transposeA ? a[a.length - 2] : a[a.length - 1];
      const outer = Math.max(prod(a.slice(0, -2)), prod(b.slice(0, -2)));
      const m = attrs.transposeA ? a[a.length - 1] : a[a.length - 2];
      const n = attrs.transposeB ? b[b.length - 2] : b[b.length - 1];
      return 2 * outer * m * n * k;
    }
    default:
      return undefined;
  }
}

export class KernelProfiler {
  private readonly stats = new Map<string, { calls: number; ms: number; flops: number; shapes: Map<string, number> }>();
  private readonly originals: tf.KernelConfig[] = [];
  private recording = false;

  constructor(readonly backend: string) {}

  /** Wraps the backend's kernels (once) and starts recording. */
  start(): void {
    if (this.originals.length === 0) {
      for (const k of tf.getKernelsForBackend(this.backend)) {
        this.originals.push(k);
        const inner = k.kernelFunc;
        tf.unregisterKernel(k.kernelName, this.backend);
        tf.registerKernel({ ...k, kernelFunc: ((args: Parameters<tf.KernelFunc>[0]) => this.timed(k.kernelName, inner, args)) as tf.KernelFunc });
      }
    }
    this.recording = true;
  }

  /** Stops recording and puts the original kernels back. */
  stop(): void {
    this.recording = false;
    for (const k of this.originals) {
      tf.unregisterKernel(k.kernelName, this.backend);
      tf.registerKernel(k);
    }
    this.originals.length = 0;
  }

  /** Rows sorted by time, per `per` runs (e.g. steps). */
  rows(per = 1): KernelRow[] {
    return [...this.stats.entries()]
      .map(([kernel, s]) => ({
        kernel,
        calls: s.calls / per,
        ms: s.ms / per,
        flops: s.flops > 0 ? s.flops / per : undefined,
        top: [...s.shapes.entries()].sort((a, b) => b[1] - a[1]).slice(0, 2).map(([shapes, ms]) => ({ shapes, ms: ms / per })),
      }))
      .sort((a, b) => b.ms - a.ms);
  }

  private timed(name: string, inner: tf.KernelFunc, args: Parameters<tf.KernelFunc>[0]) {
    if (!this.recording) return inner(args);
    const t0 = performance.now();
    const res = inner(args);
    const ms = performance.now() - t0;
    const s = this.stats.get(name) ?? { calls: 0, ms: 0, flops: 0, shapes: new Map<string, number>() };
    s.calls++;
    s.ms += ms;
    s.flops += kernelFlops(name, args.inputs as Inputs, (args.attrs ?? {}) as Attrs) ?? 0;
    const key = Object.values(args.inputs).map((t) => (t ? `${t.dtype[0]}[${t.shape}]` : '-')).join(' ');
    s.shapes.set(key, (s.shapes.get(key) ?? 0) + ms);
    this.stats.set(name, s);
    return res;
  }
}

/**
 * A table of the slowest kernels, for the terminal, after two summary lines: where the step's time
 * goes, and the multiply-adds of its convolutions and matrix products (per step, per image, and
 * the rate the whole step achieves on them — compare with the chip's sgemm peak).
 */
export function formatProfile(rows: KernelRow[], stepMs: number, batchSize: number, limit = 20): string {
  const kernelMs = rows.reduce((a, r) => a + r.ms, 0);
  const flops = rows.reduce((a, r) => a + (r.flops ?? 0), 0);
  const lines = [`  ${stepMs.toFixed(0)} ms/step: kernels ${kernelMs.toFixed(0)} ms, outside kernels (JS, tape, GC) ${(stepMs - kernelMs).toFixed(0)} ms`];
  lines.push(`  convolutions and matrix products: ${(flops / 1e9).toFixed(2)} GFLOP/step, ${(flops / 1e9 / batchSize).toFixed(3)} per image; the whole step runs at ${(flops / 1e6 / stepMs).toFixed(1)} GFLOP/s of them`);
  lines.push(`  ${'ms/step'.padStart(8)} ${'calls'.padStart(6)} ${'GFLOP/s'.padStart(8)}  kernel                  slowest shapes`);
  for (const r of rows.slice(0, limit)) {
    const rate = r.flops ? (r.flops / (r.ms * 1e6)).toFixed(1) : '';
    const top = r.top.map((t) => `${t.shapes} ${t.ms.toFixed(1)}ms`).join(' | ');
    lines.push(`  ${r.ms.toFixed(1).padStart(8)} ${String(+r.calls.toFixed(1)).padStart(6)} ${rate.padStart(8)}  ${r.kernel.padEnd(22)}  ${top}`);
  }
  return lines.join('\n');
}
