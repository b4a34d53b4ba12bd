import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { cifarRecords, idxBytes, tarBytes, tempDir, writeTinyCifar, writeTinyFashion } from '../../test/fixtures';
import { UserError } from '../errors';
import { parseCifarBatch, readTar } from './cifar';
import { batchPixels, loadDataset, resolveClass, summariseSplit } from './dataset';
import { parseIdx } from './idx';

const tmp = tempDir();
afterAll(tmp.cleanup);

describe('IDX reader', () => {
  it('reads plain and gzipped files', () => {
    const bytes = idxBytes([2, 2, 3], Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
    for (const b of [bytes, zlib.gzipSync(bytes)]) {
      const a = parseIdx(b, 'x');
      expect(a.dims).toEqual([2, 2, 3]);
      expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    }
  });

  it.each([
    ['a bad magic number', Buffer.from([1, 2, 8, 1, 0, 0, 0, 1, 5]), /bad magic number 0x01020801/],
    ['a truncated file', idxBytes([10, 28, 28], new Uint8Array(100)), /truncated file: header declares 10×28×28 = 7840 bytes of data, found 100/],
    ['trailing bytes', idxBytes([2], new Uint8Array(5)), /3 unexpected bytes/],
    ['a non-byte data type', Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]), /data type 0xd is not supported/],
    ['an empty file', Buffer.alloc(0), /truncated IDX file/],
    ['a huge declared size', Buffer.from([0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), /truncated file/],
    ['corrupt gzip', Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]), /corrupt gzip/],
  ])('rejects %s with a one-line error naming the file', (_, bytes, message) => {
    expect(() => parseIdx(bytes, 'some/file.idx')).toThrow(UserError);
    expect(() => parseIdx(bytes, 'some/file.idx')).toThrow(message);
    try {
      parseIdx(bytes, 'some/file.idx');
    } catch (err) {
      expect((err as Error).message.startsWith('some/file.idx: ')).toBe(true);
      expect((err as Error).message).not.toContain('\n');
    }
  });
});

describe('Fashion-MNIST loading', () => {
  it('loads from --data-dir, filters a class and scales pixels to [-1, 1]', async () => {
    const dir = path.join(tmp.dir, 'fm');
    writeTinyFashion(dir, 40, 20);
    const all = await loadDataset({ dataset: 'fashion-mnist', dataDir: dir, allowDownload: false });
    expect(all.source).toContain(dir);
    expect(all.train.count).toBe(40);
    expect(summariseSplit(all.train).classCounts).toEqual([4, 4, 4, 4, 4, 4, 4, 4, 4, 4]);
    const sneakers = await loadDataset({ dataset: 'fashion-mnist', dataDir: dir, classFilter: 'sneaker', allowDownload: false });
    expect(sneakers.classIndex).toBe(7);
    expect(summariseSplit(sneakers.train).classCounts).toEqual([0, 0, 0, 0, 0, 0, 0, 4, 0, 0]);
    const px = batchPixels(all.train, [0, 1]);
    expect(px.length).toBe(2 * 784);
    expect(Math.min(...px)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...px)).toBeLessThanOrEqual(1);
    expect(px[0]).toBeCloseTo((all.train.images[0]! - 127.5) / 127.5, 6);
  });

  it('finds the shipped copy with no options and reports the real counts', async () => {
    const saved = process.env.FASHION_GAN_DATA;
    delete process.env.FASHION_GAN_DATA;
    try {
      const d = await loadDataset({ dataset: 'fashion-mnist', allowDownload: false });
      expect(d.source).toMatch(/repo copy/);
      expect(d.train.count).toBe(60000);
      expect(d.test.count).toBe(10000);
      expect(summariseSplit(d.train).mean).toBeCloseTo(72.94, 1);
    } finally {
      if (saved !== undefined) process.env.FASHION_GAN_DATA = saved;
    }
  });

  it('says which file is wrong when images and labels disagree', async () => {
    const dir = path.join(tmp.dir, 'fm-bad');
    writeTinyFashion(dir, 10, 10, false);
    fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), idxBytes([9], new Uint8Array(9)));
    await expect(loadDataset({ dataset: 'fashion-mnist', dataDir: dir, allowDownload: false })).rejects.toThrow(/train-labels-idx1-ubyte: 9 labels but .* has 10 images/);
  });

  it('rejects an unknown class and lists what is allowed', () => {
    expect(() => resolveClass('fashion-mnist', 'hat')).toThrow(/--class hat: unknown class for fashion-mnist \(allowed: 0–9 or "T-shirt\/top"/);
    expect(() => resolveClass('cifar10', '10')).toThrow(/unknown class/);
    expect(resolveClass('cifar10', 'Automobile')).toBe(1);
    expect(resolveClass('fashion-mnist', 'ankle boot')).toBe(9);
  });

  it('complains about a --data-dir without the files', async () => {
    const dir = path.join(tmp.dir, 'empty');
    fs.mkdirSync(dir);
    await expect(loadDataset({ dataset: 'fashion-mnist', dataDir: dir, allowDownload: false })).rejects.toThrow(/Fashion-MNIST not found/);
    await expect(loadDataset({ dataset: 'fashion-mnist', dataDir: path.join(dir, 'nope'), allowDownload: false })).rejects.toThrow(/no such directory/);
  });
});

describe('CIFAR-10 loading', () => {
  it('converts planar records to NHWC pixels', () => {
    const rec = cifarRecords([3]);
    const { images, labels } = parseCifarBatch(rec, 'x.bin');
    expect(labels[0]).toBe(3);
    // pixel (row 1, col 2) = plane offset 1·32 + 2
    const p = 34;
    expect([images[p * 3], images[p * 3 + 1], images[p * 3 + 2]]).toEqual([rec[1 + p], rec[1 + 1024 + p], rec[1 + 2048 + p]]);
  });

  it('rejects truncated files and bad labels', () => {
    expect(() => parseCifarBatch(Buffer.alloc(3000), 'd.bin')).toThrow(/d.bin: truncated file: 3000 bytes/);
    const bad = cifarRecords([1, 2]);
    bad[3073] = 12;
    expect(() => parseCifarBatch(bad, 'd.bin')).toThrow(/record 1 has label 12/);
  });

  it('loads the binary batches from a folder and keeps one class', async () => {
    const dir = path.join(tmp.dir, 'cifar', 'cifar-10-batches-bin');
    writeTinyCifar(dir, 20);
    const cars = await loadDataset({ dataset: 'cifar10', dataDir: path.dirname(dir), classFilter: 'automobile', allowDownload: false });
    expect(cars.train.count).toBe(10); // 2 per batch × 5 batches
    expect(cars.test.count).toBe(2);
    expect(cars.train.shape).toEqual([32, 32, 3]);
  });

  it('reads the batches straight from cifar-10-binary.tar.gz', async () => {
    const dir = path.join(tmp.dir, 'cifar-tar');
    fs.mkdirSync(dir);
    const entries = [...[1, 2, 3, 4, 5].map((b) => `data_batch_${b}.bin`), 'test_batch.bin'].map((name) => ({ name: `cifar-10-batches-bin/${name}`, data: cifarRecords([0, 1, 2]) }));
    fs.writeFileSync(path.join(dir, 'cifar-10-binary.tar.gz'), zlib.gzipSync(tarBytes(entries)));
    const d = await loadDataset({ dataset: 'cifar10', dataDir: dir, allowDownload: false });
    expect(d.train.count).toBe(15);
    expect(d.source).toContain('cifar-10-binary.tar.gz');
    expect(readTar(zlib.gzipSync(tarBytes(entries)), 't', () => true).size).toBe(6);
  });
});

