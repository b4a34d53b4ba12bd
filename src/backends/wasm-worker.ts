import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { patchWasmKernels } from './wasm-kernels';
import type { WasmHeap } from './wasm-js-kernels';
import type { Job, JobReply } from './wasm-workers';

/**
 * A wasm worker thread (see wasm-workers.ts): its own wasm backend with the project's kernel
 * patches, serving one job at a time from the thread that owns the model.
 */

const { ctrl: ctrlBuffer, port } = workerData as { ctrl: SharedArrayBuffer; port: MessagePort };
const ctrl = new Int32Array(ctrlBuffer);
const REQUEST = 0;
const DONE = 1;

patchWasmKernels();
tf.enableProdMode();
if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
const backend = tf.backend() as unknown as WasmHeap & tf.KernelBackend;
parentPort!.postMessage('ready');

let buffer = new SharedArrayBuffer(0);
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, REQUEST, seen);
  seen = Atomics.load(ctrl, REQUEST);
  const job = receiveMessageOnPort(port)?.message as Job;
  let reply: JobReply;
  try {
    if (job.buffer) buffer = job.buffer;
    run(job);
    reply = { ok: true };
  } catch (err) {
    reply = { ok: false, error: (err as Error).message ?? String(err) };
  }
  port.postMessage(reply);
  Atomics.store(ctrl, DONE, seen);
  Atomics.notify(ctrl, DONE);
}

function run(job: Job) {
  const shared = new Float32Array(buffer);
  const inputs: Record<string, tf.TensorInfo> = {};
  try {
    for (const { name, shape, offset } of job.inputs) {
      const t = backend.makeOutput(shape, 'float32');
      const n = shape.reduce((a, b) => a * b, 1);
      (backend.typedArrayFromHeap(t) as Float32Array).set(shared.subarray(offset, offset + n));
      inputs[name] = t;
    }
    const kernel = tf.getKernel(job.kernel, 'wasm');
    if (!kernel) throw new Error(`no wasm kernel ${job.kernel}`);
    const out = kernel.kernelFunc({ inputs, attrs: job.attrs, backend }) as tf.TensorInfo;
    try {
      const values = backend.typedArrayFromHeap(out) as Float32Array;
      if (values.length !== job.outSize) throw new Error(`${job.kernel}: ${values.length} outputs, expected ${job.outSize}`);
      shared.set(values, job.outOffset);
    } finally {
      backend.disposeData(out.dataId);
    }
  } finally {
    for (const t of Object.values(inputs)) backend.disposeData(t.dataId);
  }
}
