import { UserError } from '../errors';

/**
 * The NumPy array file format (`.npy`, NEP 1): the magic "\x93NUMPY", a version, a little-endian
 * header length, a Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (n, 28, 28), }`
 * padded with spaces to a multiple of 64 bytes and ended by "\n", then the values, row-major.
 * What `numpy.save` writes and `numpy.load` reads, so designs move to and from other tools.
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** The element types read here (others, and big-endian data, are refused with a message). */
const DTYPES = {
  u1: { name: 'uint8', bytes: 1 },
  b1: { name: 'bool', bytes: 1 },
  i4: { name: 'int32', bytes: 4 },
  u4: { name: 'uint32', bytes: 4 },
  i8: { name: 'int64', bytes: 8 },
  f4: { name: 'float32', bytes: 4 },
  f8: { name: 'float64', bytes: 8 },
} as const;
type Code = keyof typeof DTYPES;

export interface NpyArray {
  /** uint8, bool, int32, uint32, int64, float32 or float64 */
  dtype: string;
  shape: number[];
  /** the values, row-major: uint8 and bool as bytes (a view into the file), float32 as float32, the rest as float64 */
  data: Uint8Array | Float32Array | Float64Array;
}

const allowedTypes = `${Object.values(DTYPES)
  .map((d) => d.name)
  .join(', ')}, little-endian, C order`;

/** Parses a `.npy` file's bytes; every defect is a one-line UserError naming `file`. */
export function parseNpy(bytes: Uint8Array, file: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new UserError(`${file}: not a NumPy .npy file (no \\x93NUMPY magic)`);
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw new UserError(`${file}: .npy format version ${major} is not supported (allowed: 1, 2, 3)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) throw new UserError(`${file}: truncated .npy header`);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lenBytes;
  if (headerLen > bytes.length - start) throw new UserError(`${file}: truncated .npy header (declares ${headerLen} bytes, ${bytes.length - start} present)`);
  const header = Buffer.from(bytes.buffer, bytes.byteOffset + start, headerLen).toString(major === 3 ? 'utf8' : 'latin1');
  const { code, fortran, shape } = parseHeader(header, file);
  if (fortran) throw new UserError(`${file}: Fortran-order arrays are not supported (allowed: C order; save numpy.ascontiguousarray(x))`);
  const type = DTYPES[code];
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLen;
  const present = bytes.length - dataStart;
  if (count * type.bytes !== present) {
    throw new UserError(`${file}: shape (${shape.join(', ')}) of ${type.name} needs ${count * type.bytes} bytes of data, found ${present}`);
  }
  const body = new DataView(bytes.buffer, bytes.byteOffset + dataStart, present);
  if (code === 'u1' || code === 'b1') return { dtype: type.name, shape, data: bytes.subarray(dataStart) };
  if (code === 'f4') {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = body.getFloat32(4 * i, true);
    return { dtype: type.name, shape, data: out };
  }
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    if (code === 'f8') out[i] = body.getFloat64(8 * i, true);
    else if (code === 'i4') out[i] = body.getInt32(4 * i, true);
    else if (code === 'u4') out[i] = body.getUint32(4 * i, true);
    else {
      const v = body.getBigInt64(8 * i, true);
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new UserError(`${file}: int64 value ${v} at index ${i} is beyond ±2^53`);
      out[i] = Number(v);
    }
  }
  return { dtype: type.name, shape, data: out };
}

/** The three keys of the header dict, read strictly (anything else is a one-line error). */
function parseHeader(header: string, file: string): { code: Code; fortran: boolean; shape: number[] } {
  const bad = (what: string) => new UserError(`${file}: bad .npy header (${what})`);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!/^\s*\{/.test(header) || descr === undefined || fortran === undefined || shapeText === undefined) throw bad("expected {'descr': …, 'fortran_order': …, 'shape': (…)}");
  const m = /^([<>|=])([a-z]\d+)$/.exec(descr);
  const code = m?.[2] as Code | undefined;
  if (!m || code === undefined || !Object.hasOwn(DTYPES, code)) throw new UserError(`${file}: .npy element type '${descr}' is not supported (allowed: ${allowedTypes})`);
  if (m[1] === '>' && DTYPES[code].bytes > 1) throw new UserError(`${file}: big-endian .npy data ('${descr}') is not supported (allowed: ${allowedTypes})`);
  const parts = shapeText.split(',').map((s) => s.trim());
  if (parts.at(-1) === '') parts.pop();
  const shape = parts.map(Number);
  if (shape.some((d, i) => !/^\d+$/.test(parts[i]!) || !Number.isSafeInteger(d))) throw bad(`shape (${shapeText}) is not a tuple of whole numbers`);
  if (shape.length > 8) throw bad(`rank ${shape.length}; at most 8`);
  if (shape.reduce((a, b) => a * b, 1) * DTYPES[code].bytes > Number.MAX_SAFE_INTEGER) throw bad(`shape (${shapeText}) is too large`);
  return { code, fortran: fortran === 'True', shape };
}

/** A `.npy` file (format 1.0) holding `data` with `shape`: uint8 or float32, C order. */
export function encodeNpy(data: Uint8Array | Float32Array, shape: number[]): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`encodeNpy: shape (${shape.join(', ')}) holds ${count} values, got ${data.length}`);
  const descr = data instanceof Uint8Array ? '|u1' : '<f4';
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  const unpadded = 10 + header.length + 1;
  header = header.padEnd(header.length + ((64 - (unpadded % 64)) % 64), ' ') + '\n';
  const head = Buffer.alloc(10);
  Buffer.from(MAGIC).copy(head);
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.alloc(data.byteLength);
  if (data instanceof Uint8Array) body.set(data);
  else for (let i = 0; i < data.length; i++) body.writeFloatLE(data[i]!, 4 * i);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}
