import * as zlib from 'node:zlib';
import { UserError } from '../errors';

/** The largest decompressed file we accept: Fashion-MNIST's largest is 47 MB. */
export const MAX_DECOMPRESSED_BYTES = 512 * 1024 * 1024;

/** Un-gzips `bytes` when they start with the gzip magic, refusing output past `MAX_DECOMPRESSED_BYTES`. */
export function maybeGunzip(bytes: Uint8Array, file: string): Uint8Array {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return zlib.gunzipSync(bytes, { maxOutputLength: MAX_DECOMPRESSED_BYTES });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || e.code === 'ERR_OUT_OF_RANGE') {
      throw new UserError(`${file}: decompresses to more than ${MAX_DECOMPRESSED_BYTES} bytes`);
    }
    throw new UserError(`${file}: corrupt gzip data (${e.message})`);
  }
}

export interface IdxArray {
  /** Dimensions from the header, e.g. [60000, 28, 28] for images, [60000] for labels. */
  dims: number[];
  /** The unsigned bytes, row-major, a view into the file's buffer. */
  data: Uint8Array;
}

/**
 * Parses an IDX file (the MNIST format: 0x00 0x00, type byte, rank byte, big-endian uint32
 * dimensions, then the data). Only unsigned-byte data (type 0x08) is accepted. The declared
 * size is checked against the bytes present before anything is allocated.
 */
export function parseIdx(raw: Uint8Array, file: string, expectRank?: number): IdxArray {
  const bytes = maybeGunzip(raw, file);
  if (bytes.length < 4) throw new UserError(`${file}: truncated IDX file (${bytes.length} bytes, no header)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
    throw new UserError(`${file}: bad magic number 0x${magic} (not an IDX file)`);
  }
  if (bytes[2] !== 0x08) {
    throw new UserError(`${file}: IDX data type 0x${bytes[2]!.toString(16)} is not supported (expected 0x08, unsigned bytes)`);
  }
  const rank = bytes[3]!;
  if (rank < 1 || rank > 4) throw new UserError(`${file}: IDX rank ${rank} is not supported (expected 1 to 4)`);
  if (expectRank !== undefined && rank !== expectRank) {
    throw new UserError(`${file}: expected an IDX file of rank ${expectRank}, found rank ${rank}`);
  }
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) throw new UserError(`${file}: truncated IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let size = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    size *= d;
  }
  const present = bytes.length - headerBytes;
  if (size > present) {
    throw new UserError(`${file}: truncated file: header declares ${dims.join('×')} = ${size} bytes of data, found ${present}`);
  }
  if (size < present) {
    throw new UserError(`${file}: ${present - size} unexpected bytes after the ${dims.join('×')} data`);
  }
  return { dims, data: bytes.subarray(headerBytes) };
}
