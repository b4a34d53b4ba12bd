/**
 * Hundreds of seeded bad inputs for the IDX, CIFAR-10 and tar readers (and loadDataset on top):
 * each ends in a one-line UserError naming the file (or, for a harmless mutation, a valid
 * result), quickly, without a typed-array allocation larger than the data it holds.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { cifarRecords, idxBytes, tarBytes, tempDir, writeTinyFashion } from '../../test/fixtures';
import { CASE_MS_LIMIT, expectGraceful, metered, mutations, randomBytes, type FuzzCase } from '../../test/fuzz';
import { Rng } from '../util/rng';
import { CIFAR_RECORD_BYTES, parseCifarBatch, readTar } from './cifar';
import { loadDataset } from './dataset';
import { parseIdx } from './idx';

const tmp = tempDir();
afterAll(tmp.cleanup);

/** What the bytes hold once un-gzipped (the readers' natural size bound). */
function inflated(b: Uint8Array): number {
  if (b[0] !== 0x1f || b[1] !== 0x8b) return b.length;
  try {
    return zlib.gunzipSync(b).length;
  } catch {
    return b.length;
  }
}


const stats = { cases: 0, rejected: 0, accepted: 0, totalMs: 0, maxMs: 0 };
function record(o: { ok: boolean; ms: number }) {
  stats.cases++;
  if (o.ok) stats.accepted++;
  else stats.rejected++;
  stats.totalMs += o.ms;
  stats.maxMs = Math.max(stats.maxMs, o.ms);
}
afterAll(() => console.log(`data fuzz: ${JSON.stringify({ ...stats, totalMs: Math.round(stats.totalMs), maxMs: Math.round(stats.maxMs) })}`));

describe('IDX reader fuzz', () => {
  const rng = new Rng(601);
  const images = idxBytes([3, 28, 28], randomBytes(rng, 3 * 784));
  const labels = idxBytes([3], Uint8Array.from([1, 2, 3]));
  const cases: (FuzzCase & { rank?: number })[] = [];
  for (const [valid, rank] of [
    [images, 3],
    [labels, 1],
  ] as const) {
    const offsets = [...Array.from({ length: 24 }, (_, i) => i), ...Array.from({ length: 20 }, () => rng.nextInt(valid.length)), valid.length - 1];
    for (const c of mutations(rng, valid, offsets, 60, { truncated: true, appended: true })) cases.push({ ...c, rank });
    const gz = zlib.gzipSync(valid);
    const gzOffsets = [...Array.from({ length: 30 }, (_, i) => i), ...Array.from({ length: 20 }, () => rng.nextInt(gz.length)), gz.length - 8, gz.length - 4, gz.length - 1];
    for (const c of mutations(rng, gz, gzOffsets, 40)) cases.push({ ...c, label: `gz ${c.label}`, rank });
  }
  // Every data type byte but 0x08, every rank byte.
  for (let t = 0; t < 256; t += 1 + rng.nextInt(8)) if (t !== 8) cases.push({ label: `type 0x${t.toString(16)}`, bytes: Buffer.from([0, 0, t, 1, 0, 0, 0, 1, 7]), refuse: true });
  for (let r = 0; r < 256; r += 1 + rng.nextInt(12)) cases.push({ label: `rank ${r}`, bytes: Buffer.concat([Buffer.from([0, 0, 8, r]), Buffer.alloc(Math.min(r, 8) * 4 + 3)]), rank: 3 });
  // Huge declared sizes, each dimension up to 2^32 − 1.
  for (let i = 0; i < 40; i++) {
    const rank = 1 + rng.nextInt(4);
    const dims = Array.from({ length: rank }, () => (rng.nextInt(3) === 0 ? 0xffffffff : rng.nextUint32() >>> rng.nextInt(32)));
    cases.push({ label: `dims ${dims.join('x')}`, bytes: idxBytes(dims, randomBytes(rng, rng.nextInt(100))) });
  }
  // Random bytes, with and without a plausible header.
  for (let i = 0; i < 40; i++) {
    const body = randomBytes(rng, rng.nextInt(i < 20 ? 40 : 3000));
    cases.push({ label: `random ${body.length} bytes`, bytes: i % 2 ? Buffer.concat([Buffer.from([0, 0, 8, 1 + rng.nextInt(4)]), body]) : body });
  }
  // A gzip member that inflates well past the data it declares.
  cases.push({ label: 'gzip: 4 MB of trailing zeros', bytes: zlib.gzipSync(Buffer.concat([idxBytes([1], Uint8Array.of(1)), Buffer.alloc(4 << 20)])) });
  cases.push({ label: 'gzip header only', bytes: Buffer.from([0x1f, 0x8b]) });
  cases.push({ label: 'two gzip members', bytes: Buffer.concat([zlib.gzipSync(labels), zlib.gzipSync(labels)]) });

  it(`${cases.length} bad IDX files each end in a one-line UserError`, async () => {
    expect(cases.length).toBeGreaterThan(400);
    for (const c of cases) {
      const o = await metered(() => parseIdx(c.bytes, 'fuzz/x-idx3-ubyte', c.rank));
      record(o);
      expectGraceful(c, o, 'fuzz/x-idx3-ubyte', 2 * inflated(c.bytes));
      expect(o.ms, c.label).toBeLessThan(CASE_MS_LIMIT);
    }
  });
});

describe('CIFAR-10 and tar reader fuzz', () => {
  const rng = new Rng(602);
  const records = cifarRecords([0, 9], 3);

  it('bad CIFAR-10 batches end in a one-line UserError', async () => {
    const cases = mutations(rng, records, [0, 1, 2, 3072, 3073, 3074, 6144, 6145, ...Array.from({ length: 30 }, () => rng.nextInt(records.length))]);
    for (let i = 0; i < 30; i++) {
      const b = Buffer.from(records);
      b[rng.nextInt(2) * CIFAR_RECORD_BYTES] = 10 + rng.nextInt(246);
      cases.push({ label: `label ${b[0]}/${b[CIFAR_RECORD_BYTES]}`, bytes: b });
    }
    for (let i = 0; i < 20; i++) cases.push({ label: 'random', bytes: randomBytes(rng, rng.nextInt(3) * CIFAR_RECORD_BYTES + (i % 2 ? rng.nextInt(100) : 0)) });
    for (const c of cases) {
      const o = await metered(() => parseCifarBatch(c.bytes, 'fuzz/data_batch_1.bin'));
      record(o);
      // images + labels: the same number of bytes as the records
      expectGraceful(c, o, 'fuzz/data_batch_1.bin', c.bytes.length);
    }
    expect(cases.length).toBeGreaterThan(100);
  });

  it('bad tar archives end in a one-line UserError (or read what is whole)', async () => {
    const entries = [1, 2].map((b) => ({ name: `cifar-10-batches-bin/data_batch_${b}.bin`, data: cifarRecords([b], b) }));
    const valid = tarBytes(entries);
    const offsets = [0, 1, 100, 124, 135, 136, 156, 511, 512, 513, 1024, 3584, 3585, 4096, valid.length - 1024, valid.length - 1, ...Array.from({ length: 30 }, () => rng.nextInt(valid.length))];
    const cases = [...mutations(rng, valid, offsets, 80)];
    const gz = zlib.gzipSync(valid);
    for (const c of mutations(rng, gz, [0, 1, 2, 9, 10, 11, gz.length - 1, ...Array.from({ length: 15 }, () => rng.nextInt(gz.length))], 30)) cases.push({ ...c, label: `gz ${c.label}` });
    const sizeField = (text: string) => {
      const b = Buffer.from(valid);
      b.fill(0, 124, 136);
      b.write(text, 124, 'latin1');
      return b;
    };
    for (const text of ['77777777777', '99', '-1', '1e9', '0x10', '\x80\0\0\0\0\0\0\0\xff\xff\xff\xff', '   ', '00000000001', '7777777777 ']) cases.push({ label: `size field ${JSON.stringify(text)}`, bytes: sizeField(text) });
    const named = Buffer.from(valid);
    named.write('evil\nname/data_batch_1.bin\0', 0, 'latin1');
    named.write('77777777777\0', 124, 'latin1');
    cases.push({ label: 'a newline in an entry name, huge size', bytes: named });
    for (let i = 0; i < 20; i++) cases.push({ label: 'random', bytes: randomBytes(rng, rng.nextInt(4000)) });
    for (const c of cases) {
      const o = await metered(() => readTar(c.bytes, 'fuzz/cifar-10-binary.tar.gz', () => true));
      record(o);
      expectGraceful(c, o, 'fuzz/cifar-10-binary.tar.gz', 1024);
    }
    expect(cases.length).toBeGreaterThan(150);
  });
});

describe('loadDataset on damaged files', () => {
  it('a damaged Fashion-MNIST file anywhere in --data-dir is a one-line UserError naming it', async () => {
    const rng = new Rng(603);
    const good = path.join(tmp.dir, 'good');
    writeTinyFashion(good, 20, 10, false);
    const names = fs.readdirSync(good);
    let n = 0;
    for (let i = 0; i < 40; i++) {
      const dir = path.join(tmp.dir, `fm-${i}`);
      fs.cpSync(good, dir, { recursive: true });
      const victim = names[rng.nextInt(names.length)]!;
      const file = path.join(dir, victim);
      const valid = new Uint8Array(fs.readFileSync(file));
      const all = mutations(rng, valid, [rng.nextInt(valid.length), rng.nextInt(16)], 4);
      const c = all[rng.nextInt(all.length)]!;
      fs.writeFileSync(file, c.bytes);
      const o = await metered(() => loadDataset({ dataset: 'fashion-mnist', dataDir: dir, allowDownload: false }));
      record(o);
      n++;
      // loadDataset copies each split once more (the class filter) and allocates the labels.
      expectGraceful({ ...c, label: `${victim}: ${c.label}` }, o, victim, 4 * 20 * 785 + 4 * 10 * 785);
    }
    expect(n).toBe(40);
  });

  it('a damaged cifar-10-binary.tar.gz is a one-line UserError naming it', async () => {
    const rng = new Rng(604);
    const entries = [...[1, 2, 3, 4, 5].map((b) => `data_batch_${b}.bin`), 'test_batch.bin'].map((name, i) => ({ name: `cifar-10-batches-bin/${name}`, data: cifarRecords([i, (i + 1) % 10], i) }));
    const valid = zlib.gzipSync(tarBytes(entries));
    const raw = tarBytes(entries);
    for (let i = 0; i < 30; i++) {
      const dir = path.join(tmp.dir, `cifar-${i}`);
      fs.mkdirSync(dir);
      const pool = i % 2 ? mutations(rng, valid, [rng.nextInt(valid.length)], 3) : mutations(rng, raw, [rng.nextInt(raw.length), 512 * (1 + rng.nextInt(40))], 3).map((c) => ({ ...c, bytes: zlib.gzipSync(c.bytes) }));
      const c = pool[rng.nextInt(pool.length)]!;
      fs.writeFileSync(path.join(dir, 'cifar-10-binary.tar.gz'), c.bytes);
      const o = await metered(() => loadDataset({ dataset: 'cifar10', dataDir: dir, allowDownload: false }));
      record(o);
      expectGraceful(c, o, 'cifar-10-binary.tar.gz', 4 * raw.length);
    }
  });
});
