import type * as tf from '@tensorflow/tfjs';

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
  kernel: string;
  inputs: JobInput[];
  chunks: JobChunk[];
  /** set when the shared buffer was replaced (grown) */
  buffer?: SharedArrayBuffer;
}

export type JobReply = { ok: true; chunks: number } | { ok: false; error: string };
