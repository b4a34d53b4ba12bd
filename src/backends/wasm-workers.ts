import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { UserError } from '../errors';
import type { WasmHeap } from './wasm-js-kernels';

/**
 * The second core for the wasm backend. tfjs-backend-wasm runs on one thread in Node, so the
 * convolution kernels split their batch: worker threads, each with its own wasm instance, take
 * the later images while this thread computes the first ones, and the parts are joined (outputs)
 * or summed (the filter gradient). Kernels are synchronous, so a job is posted on a MessagePort
 * and signalled through a shared Int32Array; the worker, blocked in Atomics.wait, takes it with
 * receiveMessageOnPort, and this thread waits the same way for the answer. Operands travel
 * through one SharedArrayBuffer per worker: one copy in, one copy out.
 *
 * Where the batch is cut depends only on the batch and the worker count, so a run repeats
 * exactly on the same machine; a different worker count changes the summation order of the
 * filter gradient (≈ 1e-7 relative), as thread counts do in any BLAS.
 */

/** Requests posted (written by this thread) and requests answered (written by the worker). */
const REQUEST = 0;
const DONE = 1;
/** A kernel smaller than this (multiply-adds) runs unsplit: the hand-off costs ≈ 0.1 ms. */
const MIN_SPLIT_MACS = 4e6;
/** How long a worker may take over one job before this thread gives up on it. */
const JOB_TIMEOUT_MS = 10 * 60_000;

export interface JobInput {
  name: string;
  shape: number[];
  /** offset into the shared buffer, in floats */
  offset: number;
}

export interface Job {
  kernel: string;
  attrs: tf.NamedAttrMap;
  inputs: JobInput[];
  outOffset: number;
  outSize: number;
  /** set when the shared buffer was replaced (grown) */
  buffer?: SharedArrayBuffer;
}

export type JobReply = { ok: true } | { ok: false; error: string };

interface Helper {
  worker: Worker;
  port: MessagePort;
  ctrl: Int32Array;
  buffer: SharedArrayBuffer;
  /** buffer not yet sent to the worker */
  bufferIsNew: boolean;
  seq: number;
}

const helpers: Helper[] = [];
let jobsDone = 0;
let starting: Promise<string | null> | null = null;

/**
 * Worker threads the wasm backend starts: FASHION_WASM_THREADS − 1 if set (1 thread: none),
 * else one per core beside this one, at most 3.
 */
export function defaultWasmWorkers(): number {
  const env = process.env.FASHION_WASM_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1 || n > 16) throw new UserError(`FASHION_WASM_THREADS=${env}: expected a whole number from 1 to 16`);
    return n - 1;
  }
  return Math.max(0, Math.min(availableParallelism() - 1, 3));
}

/** How many workers are running, and how many split jobs they have finished (for tests and bench). */
export function wasmWorkerStats(): { workers: number; jobs: number } {
  return { workers: helpers.length, jobs: jobsDone };
}

/**
 * Starts `count` workers (once per process; later calls return the first call's outcome).
 * Resolves to null, or to why the workers could not start — the backend then runs on one thread.
 */
export function startWasmWorkers(count = defaultWasmWorkers()): Promise<string | null> {
  starting ??= (async () => {
    try {
      await Promise.all([...Array(count)].map(async () => helpers.push(await spawn())));
      return null;
    } catch (err) {
      await stopWasmWorkers();
      return `wasm worker threads unavailable, running on one thread: ${(err as Error).message.split('\n')[0]}`;
    }
  })();
  return starting;
}

/** Stops the workers; kernels run unsplit afterwards. */
export async function stopWasmWorkers(): Promise<void> {
  const all = helpers.splice(0);
  await Promise.all(all.map((h) => h.worker.terminate()));
}

async function spawn(): Promise<Helper> {
  const { port1, port2 } = new MessageChannel();
  const ctrl = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(new URL('./wasm-worker-boot.mjs', import.meta.url), {
    workerData: { ctrl: ctrl.buffer, port: port2 },
    transferList: [port2],
  });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(String(m)))));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited with code ${code} while starting`)));
  });
  worker.removeAllListeners();
  // A worker idles in Atomics.wait; it must not keep the process alive.
  worker.unref();
  port1.unref();
  return { worker, port: port1, ctrl, buffer: new SharedArrayBuffer(0), bufferIsNew: false, seq: 0 };
}

/** Which inputs are split along their first (batch) axis, and how the parts combine. */
export interface SplitSpec {
  batched: string[];
  combine: 'concat' | 'sum';
  /** The output shape of a part of `images` images. */
  outShape: (args: KernelArgs, images: number) => number[];
  /** The attributes for a part of `images` images (e.g. an input shape attribute). */
  attrsFor?: (attrs: tf.NamedAttrMap, images: number) => tf.NamedAttrMap;
  /** Multiply-adds of the whole kernel, to leave small ones unsplit. */
  macs: (args: KernelArgs) => number;
}

type KernelArgs = Parameters<tf.KernelFunc>[0];
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Cuts n images into `parts` runs as equal as possible, the first ones longer: [start, end) pairs. */
export function batchParts(n: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  for (let i = 0; i < parts; i++) {
    const len = Math.floor(n / parts) + (i < n % parts ? 1 : 0);
    out.push([start, start + len]);
    start += len;
  }
  return out;
}

/**
 * Wraps `local` (a wasm kernel) so that, with workers running, each worker computes a slice of
 * the batch through its own copy of the same kernel (`kernelName`) while this thread computes
 * the first slice.
 */
export function splitKernel(kernelName: string, local: tf.KernelFunc, spec: SplitSpec): tf.KernelFunc {
  return (args) => {
    const inputs = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const n = inputs[spec.batched[0]!]!.shape[0]!;
    const parts = Math.min(helpers.length + 1, n);
    const allFloat = Object.values(inputs).every((t) => t == null || t.dtype === 'float32');
    if (parts < 2 || !allFloat || spec.macs(args) < MIN_SPLIT_MACS) return local(args);
    const heap = args.backend as unknown as WasmHeap;
    const ranges = batchParts(n, parts);
    const sliceShape = (name: string, t: tf.TensorInfo, images: number) => (spec.batched.includes(name) ? [images, ...t.shape.slice(1)] : t.shape);
    const attrsFor = (images: number) => (spec.attrsFor ? spec.attrsFor(args.attrs as tf.NamedAttrMap, images) : (args.attrs as tf.NamedAttrMap));

    const posted = ranges.slice(1).map(([b0, b1], i) => post(heap, helpers[i]!, kernelName, attrsFor(b1 - b0), inputs, (name, t) => {
      const shape = sliceShape(name, t, b1 - b0);
      return { shape, start: spec.batched.includes(name) ? b0 * size(t.shape.slice(1)) : 0 };
    }, size(spec.outShape(args, b1 - b0))));

    // This thread's slice: the same heap data, seen with a shorter batch axis.
    const m = ranges[0]![1];
    const mine: Record<string, tf.TensorInfo | undefined> = {};
    for (const [name, t] of Object.entries(inputs)) mine[name] = t == null ? t : { dataId: t.dataId, shape: sliceShape(name, t, m), dtype: t.dtype };
    let part: tf.TensorInfo;
    try {
      part = local({ ...args, inputs: mine as tf.NamedTensorInfoMap, attrs: attrsFor(m) }) as tf.TensorInfo;
    } catch (err) {
      for (const p of posted) awaitReply(p.helper);
      throw err;
    }
    const errors = posted.map((p) => awaitReply(p.helper)).filter((e): e is string => e !== null);
    if (errors.length > 0) {
      heap.disposeData(part.dataId);
      throw new Error(`wasm worker: ${errors[0]}`);
    }
    const results = posted.map((p) => new Float32Array(p.helper.buffer, p.outOffset * 4, p.outSize));
    if (spec.combine === 'sum') {
      const acc = heap.typedArrayFromHeap(part) as Float32Array;
      for (const r of results) for (let i = 0; i < acc.length; i++) acc[i]! += r[i]!;
      return part;
    }
    const out = heap.makeOutput([n, ...part.shape.slice(1)], 'float32');
    const all = heap.typedArrayFromHeap(out) as Float32Array;
    all.set(heap.typedArrayFromHeap(part) as Float32Array);
    let at = size(part.shape);
    for (const r of results) {
      all.set(r, at);
      at += r.length;
    }
    heap.disposeData(part.dataId);
    return out;
  };
}

/** Copies a worker's operands into its shared buffer and wakes it. */
function post(
  heap: WasmHeap,
  helper: Helper,
  kernel: string,
  attrs: tf.NamedAttrMap,
  inputs: Record<string, tf.TensorInfo | undefined>,
  slice: (name: string, t: tf.TensorInfo) => { shape: number[]; start: number },
  outSize: number,
) {
  const jobInputs: (JobInput & { start: number; t: tf.TensorInfo })[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(inputs)) {
    if (t == null) continue;
    const { shape, start } = slice(name, t);
    jobInputs.push({ name, shape, offset, start, t });
    offset += size(shape);
  }
  if (helper.buffer.byteLength < (offset + outSize) * 4) {
    helper.buffer = new SharedArrayBuffer(Math.max((offset + outSize) * 4, helper.buffer.byteLength * 2));
    helper.bufferIsNew = true;
  }
  const shared = new Float32Array(helper.buffer);
  for (const { t, start, shape, offset: at } of jobInputs) {
    shared.set((heap.typedArrayFromHeap(t) as Float32Array).subarray(start, start + size(shape)), at);
  }
  const job: Job = { kernel, attrs, inputs: jobInputs.map(({ name, shape, offset: at }) => ({ name, shape, offset: at })), outOffset: offset, outSize };
  if (helper.bufferIsNew) {
    job.buffer = helper.buffer;
    helper.bufferIsNew = false;
  }
  helper.port.postMessage(job);
  helper.seq++;
  Atomics.store(helper.ctrl, REQUEST, helper.seq);
  Atomics.notify(helper.ctrl, REQUEST);
  return { helper, outOffset: offset, outSize };
}

/** Blocks until the helper answers its latest job; returns its error message, or null. */
function awaitReply(helper: Helper): string | null {
  const deadline = Date.now() + JOB_TIMEOUT_MS;
  while (Atomics.load(helper.ctrl, DONE) !== helper.seq) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`wasm worker: no answer after ${JOB_TIMEOUT_MS / 60_000} minutes`);
    Atomics.wait(helper.ctrl, DONE, Atomics.load(helper.ctrl, DONE), Math.min(left, 1000));
  }
  const reply = receiveMessageOnPort(helper.port)?.message as JobReply | undefined;
  if (reply === undefined) return 'the worker answered without a reply message';
  jobsDone++;
  return reply.ok ? null : reply.error;
}
