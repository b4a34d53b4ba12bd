import type * as tf from '@tensorflow/tfjs';

type DataId = tf.TensorInfo['dataId'];

/**
 * Reuses the Float32Arrays of disposed tensors for new kernel outputs of the same length.
 *
 * A train step allocates gigabytes of short-lived outputs; as fresh ArrayBuffers they cost page
 * faults (the kernel zeroes every page) and keep V8's garbage collector marking on the second
 * core. Recycling is only safe while nobody else can see an array, so an array is reused only if
 *  - it was allocated here (`alloc`),
 *  - exactly one tensor's data held it, as a whole array (no view of it was ever handed out),
 *  - and its values were never read outside a kernel (dataSync/data return the array itself).
 * Anything else marks it escaped, and the garbage collector gets it as before.
 */
export class Recycler {
  /** Arrays below this length are left to the garbage collector. */
  static readonly MIN_LENGTH = 4096;
  /** Lengths nobody asked for in this many allocations (a few train steps) leave the pool. */
  static readonly SWEEP_EVERY = 4096;

  private readonly free = new Map<number, Float32Array[]>();
  private readonly ownerOf = new WeakMap<ArrayBuffer, Float32Array>();
  private readonly holder = new WeakMap<Float32Array, DataId>();
  private readonly escaped = new WeakSet<Float32Array>();
  private pooledBytes = 0;
  /** Allocations so far, and the allocation count at which each length was last asked for. */
  private tick = 0;
  private readonly lastAsked = new Map<number, number>();
  /** Kernels running now (reads inside a kernel do not escape). */
  kernelDepth = 0;
  readonly stats = { reused: 0, allocated: 0, recycled: 0, escaped: 0 };

  constructor(private readonly capBytes: number) {}

  /** A Float32Array of length n whose contents are garbage: the caller overwrites all of it. */
  alloc(n: number): Float32Array {
    if (n < Recycler.MIN_LENGTH) return new Float32Array(n);
    this.lastAsked.set(n, ++this.tick);
    if (this.tick % Recycler.SWEEP_EVERY === 0) this.sweep();
    const list = this.free.get(n);
    const reused = list?.pop();
    if (reused) {
      this.pooledBytes -= reused.byteLength;
      this.stats.reused++;
      return reused;
    }
    this.stats.allocated++;
    const buf = Buffer.allocUnsafeSlow(n * 4); // its own ArrayBuffer, offset 0, not zero-filled
    const a = new Float32Array(buf.buffer, buf.byteOffset, n);
    this.ownerOf.set(a.buffer as ArrayBuffer, a);
    return a;
  }

  /** A tensor's data now holds `values` (a kernel output or a write). */
  hold(values: unknown, dataId: DataId): void {
    if (!(values instanceof Float32Array)) return;
    const owner = this.ownerOf.get(values.buffer as ArrayBuffer);
    if (!owner || this.escaped.has(owner)) return;
    const current = this.holder.get(owner);
    if (current === dataId) return;
    if (values !== owner || current !== undefined) this.escape(owner);
    else this.holder.set(owner, dataId);
  }

  /** `values` were handed to code outside the kernels (dataSync, data, moving backends). */
  read(values: unknown): void {
    if (this.kernelDepth > 0 || !(values instanceof Float32Array)) return;
    const owner = this.ownerOf.get(values.buffer as ArrayBuffer);
    if (owner) this.escape(owner);
  }

  /** The tensor data `dataId` holding `values` was deleted. */
  release(values: unknown, dataId: DataId): void {
    if (!(values instanceof Float32Array)) return;
    const owner = this.ownerOf.get(values.buffer as ArrayBuffer);
    if (owner !== values || this.escaped.has(owner) || this.holder.get(owner) !== dataId) return;
    this.holder.delete(owner);
    if (this.pooledBytes + owner.byteLength > this.capBytes) return;
    this.pooledBytes += owner.byteLength;
    this.stats.recycled++;
    const list = this.free.get(owner.length);
    if (list) list.push(owner);
    else this.free.set(owner.length, [owner]);
  }

  /** Bytes waiting in the free lists. */
  get bytes(): number {
    return this.pooledBytes;
  }

  /** Drops every pooled array (the garbage collector frees them). */
  clear(): void {
    this.free.clear();
    this.pooledBytes = 0;
  }

  /** Drops the free lists of lengths not asked for since the last sweep (e.g. one-off shapes). */
  private sweep(): void {
    for (const [n, list] of this.free) {
      if ((this.lastAsked.get(n) ?? 0) > this.tick - Recycler.SWEEP_EVERY) continue;
      for (const a of list) this.pooledBytes -= a.byteLength;
      this.free.delete(n);
      this.lastAsked.delete(n);
    }
  }

  private escape(owner: Float32Array): void {
    this.escaped.add(owner);
    this.holder.delete(owner);
    this.stats.escaped++;
  }
}
