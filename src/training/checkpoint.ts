import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { UserError } from '../errors';
import { oneLine, writeFileAtomic } from '../util/atomic';

/**
 * A checkpoint is one file, replaced atomically (temp file + fsync + rename), so a crash at any
 * moment leaves the previous checkpoint whole:
 *
 *   "FGCKPT01" | uint32 LE header length | header JSON | tensor data (float32 LE, in header order)
 *
 * The header holds the training state (step, epoch, RNG, history length, …), a table of named
 * tensors and the SHA-256 of the data, checked on load.
 */
const MAGIC = 'FGCKPT01';
const MAX_HEADER_BYTES = 16 * 1024 * 1024;

const TensorEntry = z.strictObject({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  offset: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
});

const Header = z.strictObject({
  format: z.literal(1),
  meta: z.record(z.string(), z.unknown()),
  tensors: z.array(TensorEntry),
  dataBytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export interface CheckpointContents {
  meta: Record<string, unknown>;
  tensors: Map<string, { shape: number[]; values: Float32Array }>;
}

/** Writes `tensors` (read back from the backend) and `meta` to `file` atomically. */
export function saveCheckpoint(file: string, meta: Record<string, unknown>, tensors: { name: string; tensor: tf.Tensor }[]): void {
  const entries: z.infer<typeof TensorEntry>[] = [];
  const chunks: Float32Array[] = [];
  let offset = 0;
  for (const { name, tensor } of tensors) {
    const values = tensor.dataSync() as Float32Array;
    entries.push({ name, shape: tensor.shape, offset, length: values.length });
    chunks.push(values);
    offset += values.length * 4;
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) {
    data.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), at);
    at += c.byteLength;
  }
  const header = Buffer.from(
    JSON.stringify({ format: 1, meta, tensors: entries, dataBytes: data.length, sha256: crypto.createHash('sha256').update(data).digest('hex') }),
  );
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  writeFileAtomic(file, Buffer.concat([Buffer.from(MAGIC), len, header, data]));
}

/** Reads and fully validates a checkpoint; every defect is a one-line UserError naming the file. */
export function loadCheckpoint(file: string): CheckpointContents {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new UserError(`${file}: cannot read checkpoint (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (bytes.length < 12 || bytes.subarray(0, 8).toString('latin1') !== MAGIC) throw new UserError(`${file}: not a fashion-gan checkpoint (bad magic)`);
  const headerLen = bytes.readUInt32LE(8);
  if (headerLen > MAX_HEADER_BYTES || 12 + headerLen > bytes.length) throw new UserError(`${file}: truncated checkpoint (header of ${headerLen} bytes)`);
  let header: z.infer<typeof Header>;
  try {
    header = Header.parse(JSON.parse(bytes.subarray(12, 12 + headerLen).toString('utf8')));
  } catch (err) {
    const why = err instanceof z.ZodError ? `${err.issues[0]!.path.map(String).join('.') || '(root)'}: ${err.issues[0]!.message}` : (err as Error).message;
    throw new UserError(`${file}: corrupt checkpoint header (${oneLine(why)})`);
  }
  const data = bytes.subarray(12 + headerLen);
  if (data.length !== header.dataBytes) throw new UserError(`${file}: truncated checkpoint (${data.length} of ${header.dataBytes} data bytes)`);
  if (crypto.createHash('sha256').update(data).digest('hex') !== header.sha256) throw new UserError(`${file}: checkpoint data is corrupt (checksum mismatch)`);
  const tensors = new Map<string, { shape: number[]; values: Float32Array }>();
  // The writer lays tensors out back to back; requiring that here means the copies below never
  // add up to more than the file (overlapping entries could otherwise copy one region many times).
  let next = 0;
  for (const t of header.tensors) {
    const name = JSON.stringify(t.name).slice(0, 120);
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.length || t.offset !== next || t.offset + t.length * 4 > data.length) {
      throw new UserError(`${file}: tensor ${name} does not fit its declared shape ${JSON.stringify(t.shape).slice(0, 80)}`);
    }
    if (tensors.has(t.name)) throw new UserError(`${file}: tensor ${name} appears twice`);
    next += t.length * 4;
    const values = new Float32Array(t.length);
    new Uint8Array(values.buffer).set(data.subarray(t.offset, t.offset + t.length * 4));
    tensors.set(t.name, { shape: t.shape, values });
  }
  if (next !== data.length) throw new UserError(`${file}: ${data.length - next} data bytes belong to no tensor`);
  return { meta: header.meta, tensors };
}

/**
 * The training state a checkpoint's header records (step, trainSeconds, …), read without its
 * tensors (so without checking their checksum): what a run's status and a resume's plan need.
 */
export function readCheckpointMeta(file: string): Record<string, unknown> {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new UserError(`${file}: cannot read checkpoint (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    const head = Buffer.alloc(12);
    if (fs.readSync(fd, head, 0, 12, 0) < 12 || head.subarray(0, 8).toString('latin1') !== MAGIC) throw new UserError(`${file}: not a fashion-gan checkpoint (bad magic)`);
    const headerLen = head.readUInt32LE(8);
    if (headerLen > MAX_HEADER_BYTES) throw new UserError(`${file}: truncated checkpoint (header of ${headerLen} bytes)`);
    const text = Buffer.alloc(headerLen);
    if (fs.readSync(fd, text, 0, headerLen, 12) < headerLen) throw new UserError(`${file}: truncated checkpoint (header of ${headerLen} bytes)`);
    let header: z.infer<typeof Header>;
    try {
      header = Header.parse(JSON.parse(text.toString('utf8')));
    } catch (err) {
      const why = err instanceof z.ZodError ? `${err.issues[0]!.path.map(String).join('.') || '(root)'}: ${err.issues[0]!.message}` : (err as Error).message;
      throw new UserError(`${file}: corrupt checkpoint header (${oneLine(why)})`);
    }
    return header.meta;
  } finally {
    fs.closeSync(fd);
  }
}

/** Assigns saved values to variables by name, checking that every one is present with its shape. */
export function restoreVariables(file: string, saved: CheckpointContents['tensors'], targets: { name: string; variable: tf.Variable }[]): void {
  for (const { name, variable } of targets) {
    const t = saved.get(name);
    if (!t) throw new UserError(`${file}: checkpoint has no tensor ${name} (was it made by another model?)`);
    if (t.shape.length !== variable.shape.length || t.shape.some((d, i) => d !== variable.shape[i])) {
      throw new UserError(`${file}: tensor ${name} has shape ${JSON.stringify(t.shape)}, the model needs ${JSON.stringify(variable.shape)}`);
    }
  }
  for (const { name, variable } of targets) {
    const t = saved.get(name)!;
    tf.tidy(() => variable.assign(tf.tensor(t.values, t.shape, 'float32')));
  }
}
