import * as fs from 'node:fs';
import { UserError } from '../errors';
import { ioError } from '../util/atomic';
import { maybeGunzip, parseIdx } from './idx';
import { parseNpy } from './npy';

/**
 * Images and labels made elsewhere — another framework's generator, `generate --out x.npy`, or
 * real data — read for `evaluate --images`: a NumPy `.npy` file or an IDX file (the MNIST
 * format), either of them gzipped.
 *
 * Images: uint8 (0–255) or float ([-1, 1], a generator's tanh range), laid out [n, H, W],
 * [n, H, W, C] or [n, C, H, W] (PyTorch's order). Labels: n whole numbers from 0 to classes − 1.
 */

const NPY_MAGIC = 0x93;

function readArray(file: string): { shape: number[]; data: Uint8Array | Float32Array | Float64Array; dtype: string } {
  let raw: Uint8Array;
  try {
    raw = fs.readFileSync(file);
  } catch (err) {
    const e = ioError(err, file);
    throw e instanceof UserError ? e : new UserError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? e.message})`);
  }
  const bytes = maybeGunzip(raw, file);
  if (bytes[0] === NPY_MAGIC) return parseNpy(bytes, file);
  if (bytes[0] === 0 && bytes[1] === 0) {
    const idx = parseIdx(bytes, file);
    return { shape: idx.dims, data: idx.data, dtype: 'uint8' };
  }
  throw new UserError(`${file}: neither a NumPy .npy file nor an IDX file (allowed: .npy, IDX, either gzipped)`);
}

/**
 * Reads `file`'s images as pixels in [-1, 1], [n, h, w, c] row-major, for images of `shape`
 * ([h, w, c], the data set's). At most `limit` images are taken (the first ones).
 */
export function readImageFile(file: string, shape: readonly [number, number, number], limit = Infinity): { pixels: Float32Array; n: number } {
  const a = readArray(file);
  const [h, w, c] = shape;
  const dims = a.shape;
  const allowed = `[n, ${h}, ${w}]${c === 1 ? '' : ' (grey)'}, [n, ${h}, ${w}, ${c}] or [n, ${c}, ${h}, ${w}]`;
  const nhwc = (dims.length === 3 && c === 1 && dims[1] === h && dims[2] === w) || (dims.length === 4 && dims[1] === h && dims[2] === w && dims[3] === c);
  const nchw = dims.length === 4 && dims[1] === c && dims[2] === h && dims[3] === w;
  if (!nhwc && !nchw) throw new UserError(`${file}: shape (${dims.join(', ')}) is not ${h}×${w}×${c} images (allowed: ${allowed})`);
  const n = Math.min(dims[0]!, limit);
  if (n < 2) throw new UserError(`${file}: ${n} image${n === 1 ? '' : 's'}; at least 2 are needed`);
  if (a.dtype !== 'uint8' && a.dtype !== 'float32' && a.dtype !== 'float64') {
    throw new UserError(`${file}: ${a.dtype} images are not supported (allowed: uint8 0–255, or float32/float64 in [-1, 1])`);
  }
  const px = h * w * c;
  const src = a.data.subarray(0, n * px);
  const out = new Float32Array(n * px);
  if (a.dtype === 'uint8') {
    for (let i = 0; i < out.length; i++) out[i] = src[i]! / 127.5 - 1;
  } else {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < src.length; i++) {
      const v = src[i]!;
      if (!Number.isFinite(v)) throw new UserError(`${file}: image value ${v} at index ${i} (allowed: finite values in [-1, 1])`);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      out[i] = Math.min(1, Math.max(-1, v)); // within the tolerance below
    }
    const tol = 1e-3;
    if (lo < -1 - tol || hi > 1 + tol) throw new UserError(`${file}: ${a.dtype} values from ${lo.toPrecision(4)} to ${hi.toPrecision(4)} (allowed: [-1, 1], a generator's tanh range; or uint8 0–255)`);
    if (lo >= 0) throw new UserError(`${file}: ${a.dtype} values from ${lo.toPrecision(4)} to ${hi.toPrecision(4)}, none below 0: they look like [0, 1] (allowed: [-1, 1]; save x * 2 - 1, or uint8 0–255)`);
  }
  return { pixels: nchw && c > 1 ? toNhwc(out, n, h, w, c) : out, n };
}

/** [n, c, h, w] → [n, h, w, c]. */
function toNhwc(src: Float32Array, n: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(src.length);
  const hw = h * w;
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < hw; p++) out[(i * hw + p) * c + ch] = src[(i * c + ch) * hw + p]!;
    }
  }
  return out;
}

/** Reads `file`'s labels: `n` whole numbers from 0 to classes − 1 (the first n when it holds more). */
export function readLabelFile(file: string, n: number, classes: number): Int32Array {
  const a = readArray(file);
  const flat = a.shape.length === 1 || (a.shape.length === 2 && a.shape[1] === 1);
  if (!flat) throw new UserError(`${file}: shape (${a.shape.join(', ')}) is not a list of labels (allowed: [n] or [n, 1])`);
  if (a.shape[0]! < n) throw new UserError(`${file}: ${a.shape[0]} labels for ${n} images`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = a.data[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= classes) throw new UserError(`${file}: label ${v} at index ${i} (allowed: whole numbers from 0 to ${classes - 1})`);
    out[i] = v;
  }
  return out;
}
