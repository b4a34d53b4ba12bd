import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Rng } from '../src/util/rng';

/** A fresh temp folder, removed by the returned cleanup. */
export function tempDir(prefix = 'fashion-gan-test-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** IDX bytes: 0x00 0x00 0x08 rank, big-endian dims, data. */
export function idxBytes(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

/**
 * Writes a small Fashion-MNIST look-alike into `dir`: `n` train and `nTest` test images whose
 * class decides a simple pattern (class c lights up a band of rows), so images are not noise.
 */
export function writeTinyFashion(dir: string, n = 64, nTest = 32, gzip = true, seed = 1): void {
  fs.mkdirSync(dir, { recursive: true });
  const rng = new Rng(seed);
  const make = (count: number) => {
    const labels = new Uint8Array(count);
    const images = new Uint8Array(count * 784);
    for (let i = 0; i < count; i++) {
      const c = i % 10;
      labels[i] = c;
      for (let y = 0; y < 28; y++) {
        for (let x = 0; x < 28; x++) {
          const on = y >= c * 2 + 4 && y < c * 2 + 10 && x > 4 && x < 24;
          images[i * 784 + y * 28 + x] = on ? 200 + rng.nextInt(56) : rng.nextInt(20);
        }
      }
    }
    return { labels, images };
  };
  const write = (name: string, bytes: Buffer) => fs.writeFileSync(path.join(dir, gzip ? `${name}.gz` : name), gzip ? zlib.gzipSync(bytes) : bytes);
  const train = make(n);
  const test = make(nTest);
  write('train-images-idx3-ubyte', idxBytes([n, 28, 28], train.images));
  write('train-labels-idx1-ubyte', idxBytes([n], train.labels));
  write('t10k-images-idx3-ubyte', idxBytes([nTest, 28, 28], test.images));
  write('t10k-labels-idx1-ubyte', idxBytes([nTest], test.labels));
}

/** CIFAR-10 binary records: label byte, then the R, G and B planes. */
export function cifarRecords(labels: number[], seed = 2): Buffer {
  const rng = new Rng(seed);
  const out = Buffer.alloc(labels.length * 3073);
  labels.forEach((l, r) => {
    out[r * 3073] = l;
    for (let p = 1; p < 3073; p++) out[r * 3073 + p] = rng.nextInt(256);
  });
  return out;
}

/** Writes data_batch_1..5.bin and test_batch.bin with `perBatch` records each (labels cycle 0–9). */
export function writeTinyCifar(dir: string, perBatch = 20): void {
  fs.mkdirSync(dir, { recursive: true });
  const labels = Array.from({ length: perBatch }, (_, i) => i % 10);
  for (let b = 1; b <= 5; b++) fs.writeFileSync(path.join(dir, `data_batch_${b}.bin`), cifarRecords(labels, b));
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), cifarRecords(labels, 9));
  fs.writeFileSync(path.join(dir, 'batches.meta.txt'), 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n');
}

/** A minimal ustar archive of regular files (type '0') or other entry types. */
export function tarBytes(entries: { name: string; data: Uint8Array; type?: string }[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const h = Buffer.alloc(512);
    h.write(e.name, 0, 'latin1');
    h.write('0000644\0', 100);
    h.write(`${e.data.length.toString(8).padStart(11, '0')}\0`, 124);
    h.write(e.type ?? '0', 156);
    h.write('ustar\0', 257);
    parts.push(h, Buffer.from(e.data), Buffer.alloc((512 - (e.data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
