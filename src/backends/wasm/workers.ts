import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { UserError } from '../../errors';
import { receiveNumbered, type Job, type JobChunk, type JobInput, type JobReply } from './job';
import type { WasmHeap } from './js-kernels';

/**
 * The other cores for the wasm backend. tfjs-backend-wasm runs on one thread in Node, so the
 * convolution kernels cut their batch into chunks that this thread and worker threads (each with
 * its own wasm instance) take one at a time from a shared counter: whoever is faster takes more
 * (this thread also runs TF.js's bookkeeping and the garbage collector, and is the slower one).
 * Outputs land at their chunk's place; the filter gradient sums its chunks' parts in chunk order.
 *
 * Kernels are synchronous, so a job is posted on a MessagePort and signalled through a shared
 * Int32Array; a worker, blocked in Atomics.wait, takes it with receiveMessageOnPort, and this
 * thread waits the same way for the answers. Operands and results travel through one
 * SharedArrayBuffer.
 *
 * The chunks depend only on the kernel's shapes, and each chunk's arithmetic is the same on any
 * thread, so the result is bit-identical with or without workers (tested) and a run repeats
 * exactly on any thread count.
 */

/** Per worker: requests posted (written by this thread), requests answered (by the worker). */
const REQUEST = 0;
const DONE = 1;
/** A kernel smaller than this (multiply-adds) runs whole: the hand-off costs ≈ 0.1 ms. */
const MIN_SPLIT_MACS = 4e6;
/** Chunks per kernel at most, and the fewest multiply-adds worth a chunk of their own. */
const MAX_CHUNKS = 8;
const MIN_CHUNK_MACS = 2e6;
/** How long a worker may take over one job before this thread gives up on it. */
const JOB_TIMEOUT_MS = 10 * 60_000;

interface Helper {
  worker: Worker;
  port: MessagePort;
  ctrl: Int32Array;
  /** the shared buffer this worker was last sent */
  buffer: SharedArrayBuffer | null;
  seq: number;
}

const helpers: Helper[] = [];
/** The next unclaimed chunk of the current kernel (Atomics.add), shared with every worker. */
const claims = new Int32Array(new SharedArrayBuffer(4));
let arena = new SharedArrayBuffer(0);
let chunksByWorkers = 0;
/** Off in the workers: they compute the chunks they are given whole. */
let chunking = true;
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

/** How many workers are running, and how many chunks they have computed (for tests and bench). */
export function wasmWorkerStats(): { workers: number; chunks: number } {
  return { workers: helpers.length, chunks: chunksByWorkers };
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

/** Stops the workers; this thread computes every chunk afterwards. */
export async function stopWasmWorkers(): Promise<void> {
  const all = helpers.splice(0);
  await Promise.all(all.map((h) => h.worker.terminate()));
}

async function spawn(): Promise<Helper> {
  const { port1, port2 } = new MessageChannel();
  const ctrl = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), {
    workerData: { ctrl: ctrl.buffer, claims: claims.buffer, port: port2 },
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
  return { worker, port: port1, ctrl, buffer: null, seq: 0 };
}

/** Which inputs are cut along their first (batch) axis, and how the chunks combine. */
export interface SplitSpec {
  batched: string[];
  combine: 'concat' | 'sum';
  /** The output shape for `images` images. */
  outShape: (args: KernelArgs, images: number) => number[];
  /** The attributes for `images` images (e.g. an input shape attribute). */
  attrsFor?: (attrs: tf.NamedAttrMap, images: number) => tf.NamedAttrMap;
  /** Multiply-adds of the whole kernel, to leave small ones whole. */
  macs: (args: KernelArgs) => number;
}

type KernelArgs = Parameters<tf.KernelFunc>[0];
const size = tf.util.sizeFromShape;

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

/** Makes the split kernels compute whole (a worker's chunks must not be cut again). */
export function disableChunking(): void {
  chunking = false;
}

/** How many chunks a kernel of n images and `macs` multiply-adds is cut into (1: whole). */
export function chunkCount(n: number, macs: number): number {
  if (macs < MIN_SPLIT_MACS) return 1;
  return Math.max(1, Math.min(MAX_CHUNKS, n, Math.floor(macs / MIN_CHUNK_MACS)));
}

/**
 * Wraps `local` (a wasm kernel) so that big kernels run chunk by chunk, on this thread and on
 * the workers, which run their own copy of the same kernel (`kernelName`).
 */
export function splitKernel(kernelName: string, local: tf.KernelFunc, spec: SplitSpec): tf.KernelFunc {
  return (args) => {
    const inputs = Object.entries(args.inputs as Record<string, tf.TensorInfo | undefined>).filter((e): e is [string, tf.TensorInfo] => e[1] != null);
    const n = (args.inputs as Record<string, tf.TensorInfo>)[spec.batched[0]!]!.shape[0]!;
    const allFloat = inputs.every(([, t]) => t.dtype === 'float32');
    const count = chunking && allFloat ? chunkCount(n, spec.macs(args)) : 1;
    if (count < 2) return local(args);
    const heap = args.backend as unknown as WasmHeap;
    const attrsFor = (images: number) => (spec.attrsFor ? spec.attrsFor(args.attrs as tf.NamedAttrMap, images) : (args.attrs as tf.NamedAttrMap));
    const isBatched = (name: string) => spec.batched.includes(name);

    // The shared buffer: every input whole, then each chunk's output.
    const jobInputs: JobInput[] = [];
    let offset = 0;
    for (const [name, t] of inputs) {
      jobInputs.push({ name, shape: t.shape, offset, batched: isBatched(name) });
      offset += size(t.shape);
    }
    const chunks: JobChunk[] = batchParts(n, count).map(([start, end]) => {
      const outSize = size(spec.outShape(args, end - start));
      const chunk = { start, end, attrs: attrsFor(end - start), outOffset: offset, outSize };
      offset += outSize;
      return chunk;
    });
    Atomics.store(claims, 0, 0);
    if (helpers.length > 0) {
      if (arena.byteLength < offset * 4) arena = new SharedArrayBuffer(Math.max(offset * 4, arena.byteLength * 2));
      const shared = new Float32Array(arena);
      for (const [i, [, t]] of inputs.entries()) shared.set(heap.typedArrayFromHeap(t) as Float32Array, jobInputs[i]!.offset);
      for (const helper of helpers) post(helper, { kernel: kernelName, inputs: jobInputs, chunks });
    }

    // This thread claims chunks too, and keeps its results on the heap.
    const mine = new Map<number, tf.TensorInfo>();
    let failure: unknown = null;
    try {
      for (let c = Atomics.add(claims, 0, 1); c < count; c = Atomics.add(claims, 0, 1)) mine.set(c, runChunk(heap, local, args, inputs, isBatched, chunks[c]!));
    } catch (err) {
      failure = err;
      Atomics.store(claims, 0, count); // the workers stop claiming
    }
    const errors = helpers.map(awaitReply).filter((e): e is string => e !== null);
    if (failure !== null || errors.length > 0) {
      for (const t of mine.values()) heap.disposeData(t.dataId);
      if (failure !== null) throw failure;
      throw new Error(`wasm worker: ${errors[0]}`);
    }
    const chunkValues = (c: number) => {
      const t = mine.get(c);
      return t ? (heap.typedArrayFromHeap(t) as Float32Array) : new Float32Array(arena, chunks[c]!.outOffset * 4, chunks[c]!.outSize);
    };
    const out = heap.makeOutput(spec.outShape(args, n), 'float32');
    const values = heap.typedArrayFromHeap(out) as Float32Array;
    for (let c = 0, at = 0; c < count; c++) {
      const part = chunkValues(c);
      if (spec.combine === 'concat') {
        values.set(part, at);
        at += part.length;
      } else if (c === 0) {
        values.set(part);
      } else {
        for (let i = 0; i < values.length; i++) values[i]! += part[i]!;
      }
    }
    for (const t of mine.values()) heap.disposeData(t.dataId);
    return out;
  };
}

/** One chunk on this thread: the batched inputs' images copied out (the first chunk reads them in place). */
function runChunk(heap: WasmHeap, local: tf.KernelFunc, args: KernelArgs, inputs: [string, tf.TensorInfo][], isBatched: (name: string) => boolean, chunk: JobChunk): tf.TensorInfo {
  const images = chunk.end - chunk.start;
  const copies: tf.TensorInfo[] = [];
  const chunkInputs: Record<string, tf.TensorInfo> = {};
  for (const [name, t] of inputs) {
    if (!isBatched(name)) {
      chunkInputs[name] = t;
      continue;
    }
    const shape = [images, ...t.shape.slice(1)];
    if (chunk.start === 0) {
      chunkInputs[name] = { dataId: t.dataId, shape, dtype: t.dtype };
      continue;
    }
    const copy = heap.makeOutput(shape, 'float32');
    const perImage = size(t.shape.slice(1));
    (heap.typedArrayFromHeap(copy) as Float32Array).set((heap.typedArrayFromHeap(t) as Float32Array).subarray(chunk.start * perImage, chunk.end * perImage));
    copies.push(copy);
    chunkInputs[name] = copy;
  }
  try {
    return local({ ...args, inputs: chunkInputs, attrs: chunk.attrs }) as tf.TensorInfo;
  } finally {
    for (const t of copies) heap.disposeData(t.dataId);
  }
}

/** Sends a worker the job, numbered (and the shared buffer, when it changed), and wakes it. */
function post(helper: Helper, job: Omit<Job, 'seq'>) {
  const numbered: Job = { ...job, seq: helper.seq + 1 };
  if (helper.buffer !== arena) {
    numbered.buffer = arena;
    helper.buffer = arena;
  }
  helper.port.postMessage(numbered);
  helper.seq++;
  Atomics.store(helper.ctrl, REQUEST, helper.seq);
  Atomics.notify(helper.ctrl, REQUEST);
}

/**
 * Wakes every worker without giving it a job (tests: a worker woken with no new request must go
 * back to waiting, not look for a job). Returns how many were waiting.
 */
export function nudgeWasmWorkers(): number {
  return helpers.reduce((woken, h) => woken + Atomics.notify(h.ctrl, REQUEST), 0);
}

/** Blocks until the helper answers its latest job; returns its error message, or null. */
function awaitReply(helper: Helper): string | null {
  const deadline = Date.now() + JOB_TIMEOUT_MS;
  while (Atomics.load(helper.ctrl, DONE) !== helper.seq) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`wasm worker: no answer after ${JOB_TIMEOUT_MS / 60_000} minutes`);
    Atomics.wait(helper.ctrl, DONE, Atomics.load(helper.ctrl, DONE), Math.min(left, 1000));
  }
  let reply: JobReply;
  try {
    reply = receiveNumbered<JobReply>(helper.port, helper.seq, 'reply');
  } catch (err) {
    return (err as Error).message;
  }
  if (!reply.ok) return reply.error;
  chunksByWorkers += reply.chunks;
  return null;
}
