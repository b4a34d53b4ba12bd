import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { patchWasmKernels } from './kernels';
import type { WasmHeap } from './js-kernels';
import { receiveNumbered, type Job, type JobChunk, type JobReply } from './job';
import { disableChunking } from './workers';

/**
 * A wasm worker thread (see workers.ts): its own wasm backend with the project's kernel
 * patches, claiming chunks of the kernel it is handed until none are left.
 */

const { ctrl: ctrlBuffer, claims: claimsBuffer, port } = workerData as { ctrl: SharedArrayBuffer; claims: SharedArrayBuffer; port: MessagePort };
const ctrl = new Int32Array(ctrlBuffer);
const claims = new Int32Array(claimsBuffer);
const REQUEST = 0;
const DONE = 1;

patchWasmKernels();
disableChunking();
tf.enableProdMode();
if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
const backend = tf.backend() as unknown as WasmHeap & tf.KernelBackend;
parentPort!.postMessage('ready');

let arena = new SharedArrayBuffer(0);
let seen = 0;
for (;;) {
  // Atomics.wait has returned here with the counter unchanged (about one test-suite run in ten;
  // a notify without a job does the same, which the tests use): only a new number means a job.
  while (Atomics.load(ctrl, REQUEST) === seen) Atomics.wait(ctrl, REQUEST, seen);
  seen = Atomics.load(ctrl, REQUEST);
  let reply: JobReply;
  try {
    const job = receiveNumbered<Job>(port, seen, 'job');
    if (job.buffer) arena = job.buffer;
    reply = { seq: seen, ok: true, chunks: run(job) };
  } catch (err) {
    reply = { seq: seen, ok: false, error: (err as Error).message ?? String(err) };
  }
  port.postMessage(reply);
  Atomics.store(ctrl, DONE, seen);
  Atomics.notify(ctrl, DONE);
}

/** Heap copy of `count` floats of the shared buffer from `offset`, shaped `shape`. */
function fromArena(shape: number[], offset: number): tf.TensorInfo {
  const t = backend.makeOutput(shape, 'float32');
  const n = tf.util.sizeFromShape(shape);
  (backend.typedArrayFromHeap(t) as Float32Array).set(new Float32Array(arena, offset * 4, n));
  return t;
}

/** Computes chunks of the job until none are left; returns how many. */
function run(job: Job): number {
  const kernel = tf.getKernel(job.kernel, 'wasm');
  if (!kernel) throw new Error(`no wasm kernel ${job.kernel}`);
  const whole: Record<string, tf.TensorInfo> = {};
  let done = 0;
  try {
    for (const input of job.inputs) if (!input.batched) whole[input.name] = fromArena(input.shape, input.offset);
    for (let c = Atomics.add(claims, 0, 1); c < job.chunks.length; c = Atomics.add(claims, 0, 1)) {
      runChunk(job, job.chunks[c]!, kernel.kernelFunc, whole);
      done++;
    }
  } finally {
    for (const t of Object.values(whole)) backend.disposeData(t.dataId);
  }
  return done;
}

function runChunk(job: Job, chunk: JobChunk, kernelFunc: tf.KernelFunc, whole: Record<string, tf.TensorInfo>) {
  const images = chunk.end - chunk.start;
  const own: tf.TensorInfo[] = [];
  try {
    const inputs = { ...whole };
    for (const input of job.inputs) {
      if (!input.batched) continue;
      const perImage = tf.util.sizeFromShape(input.shape.slice(1));
      const t = fromArena([images, ...input.shape.slice(1)], input.offset + chunk.start * perImage);
      own.push(t);
      inputs[input.name] = t;
    }
    const out = kernelFunc({ inputs, attrs: chunk.attrs, backend }) as tf.TensorInfo;
    own.push(out);
    const values = backend.typedArrayFromHeap(out) as Float32Array;
    if (values.length !== chunk.outSize) throw new Error(`${job.kernel}: ${values.length} outputs, expected ${chunk.outSize}`);
    new Float32Array(arena, chunk.outOffset * 4, chunk.outSize).set(values);
  } finally {
    for (const t of own) backend.disposeData(t.dataId);
  }
}
