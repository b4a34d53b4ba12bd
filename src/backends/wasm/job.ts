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

/**
 * The next message on `port`, which must be message number `seq`: the threads check that they are
 * in step. The sender posts a message (synchronously) before it moves the counter the receiver
 * waits on, so it is there at once; a missing message, or one of another number, is an Error
 * naming it.
 */
export function receiveNumbered<T extends { seq: number }>(port: MessagePort, seq: number, what: string): T {
  const got = receiveMessageOnPort(port);
  if (got === undefined) throw new Error(`no ${what} ${seq} on the port`);
  const message = got.message as T;
  if (message?.seq !== seq) throw new Error(`${what} ${String(message?.seq)} arrived where ${seq} was due`);
  return message;
}
