import type * as tf from '@tensorflow/tfjs';
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';

/**
 * What this thread and the wasm worker threads (workers.ts, worker.ts) send each other: a kernel
 * cut into chunks, its operands as offsets into one SharedArrayBuffer, and the answer.
 */

export interface JobInput {
  name: string;
  shape: number[];
  /** offset into the shared buffer, in floats */
  offset: number;
  /** holds the whole batch; a chunk reads its own images */
  batched: boolean;
}

export interface JobChunk {
  /** the chunk's images [start, end) */
  start: number;
  end: number;
  attrs: tf.NamedAttrMap;
  /** where its output goes in the shared buffer, in floats */
  outOffset: number;
  outSize: number;
}

export interface Job {
  /** the request number it answers to (the control word's REQUEST) */
  seq: number;
  kernel: string;
  inputs: JobInput[];
  chunks: JobChunk[];
  /** set when the shared buffer was replaced (grown) */
  buffer?: SharedArrayBuffer;
}

export type JobReply = { seq: number } & ({ ok: true; chunks: number } | { ok: false; error: string });

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * The next message on `port`, which must be message number `seq`: the threads check that they
 * are in step. The sender posts a message before it moves the counter the receiver waits on, so
 * it is there at once; the poll (1, 2, 4 … 50 ms, up to `timeoutMs`) only turns a missing message
 * into a one-line error naming it, as is a message of another number.
 */
export function receiveNumbered<T extends { seq: number }>(port: MessagePort, seq: number, what: string, timeoutMs = 10_000): T {
  const deadline = Date.now() + timeoutMs;
  for (let sleep = 1; ; sleep = Math.min(2 * sleep, 50)) {
    const got = receiveMessageOnPort(port);
    if (got !== undefined) {
      const message = got.message as T;
      if (message?.seq !== seq) throw new Error(`${what} ${String(message?.seq)} arrived where ${seq} was due`);
      return message;
    }
    if (Date.now() > deadline) throw new Error(`no ${what} ${seq} on the port after ${timeoutMs / 1000} s`);
    Atomics.wait(pause, 0, 0, sleep);
  }
}
