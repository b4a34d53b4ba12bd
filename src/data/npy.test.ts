import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { idxBytes, tempDir } from '../../test/fixtures';
import { CASE_MS_LIMIT, expectGraceful, metered, mutations, randomBytes, type FuzzCase } from '../../test/fuzz';
import { UserError } from '../errors';
import { Rng } from '../util/rng';
import { readImageFile, readLabelFile } from './image-file';
import { encodeNpy, parseNpy } from './npy';

const tmp = tempDir();
afterAll(tmp.cleanup);

// Bytes written by numpy 2.4 (`np.save`), the reference for the format.
const NUMPY = {
  /** np.arange(6, dtype=np.float32).reshape(2, 3) / 4 - 0.5 */
  f4: '934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2033292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a000000bf000080be000000000000803e0000003f0000403f',
  /** np.array([3, 1, 4, 1, 5, 9], dtype=np.int64) */
  i8: '934e554d5059010076007b276465736372273a20273c6938272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028362c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a030000000000000001000000000000000400000000000000010000000000000005000000000000000900000000000000',
  /** np.arange(12, dtype=np.uint8).reshape(2, 2, 3) */
  u1: '934e554d5059010076007b276465736372273a20277c7531272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c20322c2033292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a000102030405060708090a0b',
};
const hex = (h: string) => Buffer.from(h, 'hex');

function write(name: string, bytes: Uint8Array): string {
  const file = path.join(tmp.dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

describe('.npy files', () => {
  it('reads what numpy.save wrote: float32, int64 and uint8, with their shapes', () => {
    const f4 = parseNpy(hex(NUMPY.f4), 'a.npy');
    expect(f4).toMatchObject({ dtype: 'float32', shape: [2, 3] });
    expect(Array.from(f4.data)).toEqual([-0.5, -0.25, 0, 0.25, 0.5, 0.75]);
    const i8 = parseNpy(hex(NUMPY.i8), 'b.npy');
    expect(i8).toMatchObject({ dtype: 'int64', shape: [6] });
    expect(Array.from(i8.data)).toEqual([3, 1, 4, 1, 5, 9]);
    const u1 = parseNpy(hex(NUMPY.u1), 'c.npy');
    expect(u1).toMatchObject({ dtype: 'uint8', shape: [2, 2, 3] });
    expect(Array.from(u1.data)).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('writes byte for byte what numpy.save writes', () => {
    expect(encodeNpy(Float32Array.from([-0.5, -0.25, 0, 0.25, 0.5, 0.75]), [2, 3]).toString('hex')).toBe(NUMPY.f4);
    expect(encodeNpy(Uint8Array.from({ length: 12 }, (_, i) => i), [2, 2, 3]).toString('hex')).toBe(NUMPY.u1);
    const one = encodeNpy(Uint8Array.of(7, 8), [2]);
    expect(one.toString('latin1')).toContain("'shape': (2,), }");
    expect(parseNpy(one, 'x.npy')).toMatchObject({ dtype: 'uint8', shape: [2] });
  });

  it.each([
    ['a Fortran-order array', (b: Buffer) => Buffer.from(b.toString('latin1').replace("'fortran_order': False", "'fortran_order': True "), 'latin1'), /Fortran-order arrays are not supported/],
    ['big-endian data', (b: Buffer) => Buffer.from(b.toString('latin1').replace("'<f4'", "'>f4'"), 'latin1'), /big-endian .npy data \('>f4'\) is not supported/],
    ['complex numbers', (b: Buffer) => Buffer.from(b.toString('latin1').replace("'<f4'", "'<c8'"), 'latin1'), /element type '<c8' is not supported \(allowed: uint8, bool/],
    ['a shape the data does not fill', (b: Buffer) => Buffer.from(b.toString('latin1').replace('(2, 3)', '(3, 3)'), 'latin1'), /shape \(3, 3\) of float32 needs 36 bytes of data, found 24/],
    ['a negative dimension', (b: Buffer) => Buffer.from(b.toString('latin1').replace('(2, 3)', '(2,-3)'), 'latin1'), /shape \(2,-3\) is not a tuple of whole numbers/],
    ['a truncated body', (b: Buffer) => b.subarray(0, b.length - 1), /needs 24 bytes of data, found 23/],
    ['no magic', (b: Buffer) => b.subarray(1), /not a NumPy .npy file/],
  ])('refuses %s in one line naming the file', (_, mangle, message) => {
    expect(() => parseNpy(mangle(hex(NUMPY.f4)), 'bad.npy')).toThrow(UserError);
    expect(() => parseNpy(mangle(hex(NUMPY.f4)), 'bad.npy')).toThrow(message);
  });

  it('ends every mangled file in a one-line UserError or a valid array, without allocating more than twice its size', async () => {
    const rng = new Rng(77);
    const valid = [hex(NUMPY.f4), hex(NUMPY.i8), hex(NUMPY.u1), encodeNpy(Float32Array.from(randomBytes(rng, 784), (b) => b / 127.5 - 1), [1, 28, 28])];
    const cases: FuzzCase[] = [];
    for (const v of valid) {
      const offsets = [...Array.from({ length: 130 }, (_, i) => i), ...Array.from({ length: 20 }, () => rng.nextInt(v.length)), v.length - 1];
      cases.push(...mutations(rng, v, offsets, 40, { truncated: true, appended: true }));
    }
    for (const shape of ['(4294967295, 4294967295)', '(99999999999999999999,)', '(1, 2, 3, 4, 5, 6, 7, 8, 9)', '()', "'x'"]) {
      cases.push({ label: `shape ${shape}`, bytes: Buffer.from(hex(NUMPY.u1).toString('latin1').replace('(2, 2, 3)', shape.padEnd(9)), 'latin1') });
    }
    for (let i = 0; i < 30; i++) cases.push({ label: `random ${i}`, bytes: Buffer.concat([hex(NUMPY.u1).subarray(0, i % 2 ? 8 : 10), randomBytes(rng, rng.nextInt(300))]) });
    expect(cases.length).toBeGreaterThan(600);
    let rejected = 0;
    for (const c of cases) {
      const o = await metered(() => parseNpy(c.bytes, 'fuzz/x.npy'));
      expectGraceful(c, o, 'fuzz/x.npy', 2 * c.bytes.length);
      expect(o.ms, c.label).toBeLessThan(CASE_MS_LIMIT);
      if (!o.ok) rejected++;
    }
    expect(rejected).toBeGreaterThan(cases.length / 2);
  });
});

describe('image and label files for evaluate --images', () => {
  const shape = [28, 28, 1] as const;
  const grey = Uint8Array.from({ length: 3 * 784 }, (_, i) => (i * 7) % 256);

  it('reads uint8 .npy and IDX images (gzipped too) as [-1, 1], every layout to the same pixels', () => {
    const a = readImageFile(write('a.npy', encodeNpy(grey, [3, 28, 28])), shape);
    expect(a.n).toBe(3);
    expect(a.pixels[0]).toBe(-1);
    expect(a.pixels[1]).toBeCloseTo(7 / 127.5 - 1, 6);
    for (const [name, bytes] of [
      ['b.npy', encodeNpy(grey, [3, 28, 28, 1])],
      ['c.npy', encodeNpy(grey, [3, 1, 28, 28])],
      ['d.npy.gz', zlib.gzipSync(encodeNpy(grey, [3, 28, 28]))],
      ['e-idx3-ubyte', idxBytes([3, 28, 28], grey)],
      ['f-idx3-ubyte.gz', zlib.gzipSync(idxBytes([3, 28, 28], grey))],
      ['g.npy', encodeNpy(Float32Array.from(grey, (v) => v / 127.5 - 1), [3, 28, 28])],
    ] as const) {
      expect(Array.from(readImageFile(write(name, bytes), shape).pixels), name).toEqual(Array.from(a.pixels));
    }
    expect(readImageFile(write('h.npy', encodeNpy(grey, [3, 28, 28])), shape, 2).n).toBe(2);
  });

  it('puts PyTorch-order colour images [n, C, H, W] into [n, H, W, C]', () => {
    const chw = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i);
    const { pixels } = readImageFile(write('chw.npy', encodeNpy(chw, [2, 3, 2, 2])), [2, 2, 3]);
    const back = Array.from(pixels, (v) => Math.round((v + 1) * 127.5));
    // image 0, pixel 0: channels 0, 4, 8 (each channel plane holds 4 pixels)
    expect(back.slice(0, 6)).toEqual([0, 4, 8, 1, 5, 9]);
    expect(back.slice(12, 15)).toEqual([12, 16, 20]);
  });

  it.each([
    ['a.npy', () => encodeNpy(grey, [3, 784]), /shape \(3, 784\) is not 28×28×1 images \(allowed: \[n, 28, 28\], \[n, 28, 28, 1\] or \[n, 1, 28, 28\]\)/],
    ['b.npy', () => encodeNpy(Float32Array.from(grey), [3, 28, 28]), /float32 values from 0\.000 to 255\.0 \(allowed: \[-1, 1\]/],
    ['c.npy', () => encodeNpy(Float32Array.from(grey, (v) => v / 255), [3, 28, 28]), /none below 0: they look like \[0, 1\]/],
    ['d.npy', () => encodeNpy(Float32Array.from([NaN, ...new Array(2 * 784 - 1).fill(0)]), [2, 28, 28]), /image value NaN at index 0/],
    ['e.npy', () => encodeNpy(grey.subarray(0, 784), [1, 28, 28]), /1 image; at least 2 are needed/],
    ['f.txt', () => Buffer.from('hello'), /neither a NumPy .npy file nor an IDX file/],
    ['g.npy', () => hex(NUMPY.i8), /shape \(6\) is not 28×28×1 images/],
  ])('refuses %s in one line', (name, bytes, message) => {
    expect(() => readImageFile(write(`bad-${name}`, bytes()), shape)).toThrow(message);
  });

  it('refuses a missing file or a folder by name', () => {
    expect(() => readImageFile(path.join(tmp.dir, 'nowhere.npy'), shape)).toThrow(/nowhere\.npy: no such file/);
    expect(() => readImageFile(tmp.dir, shape)).toThrow(/is a folder, not a file/);
  });

  it('reads labels from .npy (int64, as numpy saves them) and IDX, and refuses ones out of range', () => {
    expect(Array.from(readLabelFile(write('l.npy', hex(NUMPY.i8)), 6, 10))).toEqual([3, 1, 4, 1, 5, 9]);
    expect(Array.from(readLabelFile(write('l-idx1-ubyte', idxBytes([4], Uint8Array.of(0, 9, 2, 2))), 3, 10))).toEqual([0, 9, 2]);
    expect(() => readLabelFile(write('l2.npy', hex(NUMPY.i8)), 6, 9)).toThrow(/label 9 at index 5 \(allowed: whole numbers from 0 to 8\)/);
    expect(() => readLabelFile(write('l3.npy', hex(NUMPY.i8)), 7, 10)).toThrow(/6 labels for 7 images/);
    expect(() => readLabelFile(write('l4.npy', encodeNpy(Float32Array.of(0.5, 1), [2])), 2, 10)).toThrow(/label 0\.5 at index 0/);
    expect(() => readLabelFile(write('l5.npy', hex(NUMPY.u1)), 2, 10)).toThrow(/shape \(2, 2, 3\) is not a list of labels/);
  });
});
