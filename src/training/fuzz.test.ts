/**
 * Seeded bad checkpoints and config.json files: each ends in a one-line UserError naming the file
 * (or loads, when the mutation is harmless), quickly, without allocating more than the file.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/fixtures';
import { CASE_MS_LIMIT, expectGraceful, metered, mutations, randomBytes, type FuzzCase } from '../../test/fuzz';
import { CLASS_NAMES } from '../data/dataset';
import { getPreset } from '../models/presets';
import { Rng } from '../util/rng';
import { loadCheckpoint, saveCheckpoint } from './checkpoint';
import { readRunConfig } from '../run/config';

const tmp = tempDir();
afterAll(tmp.cleanup);
beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

const stats = { cases: 0, rejected: 0, accepted: 0, totalMs: 0, maxMs: 0 };
afterAll(() => console.log(`training fuzz: ${JSON.stringify({ ...stats, totalMs: Math.round(stats.totalMs), maxMs: Math.round(stats.maxMs) })}`));

/** Writes `bytes` to `file`, runs `read(file)` metered, checks the outcome. */
async function check(c: FuzzCase, file: string, read: (f: string) => unknown, cap: number) {
  fs.writeFileSync(file, c.bytes);
  const o = await metered(() => read(file));
  stats.cases++;
  stats[o.ok ? 'accepted' : 'rejected']++;
  stats.totalMs += o.ms;
  stats.maxMs = Math.max(stats.maxMs, o.ms);
  expectGraceful(c, o, file, cap);
  expect(o.ms, c.label).toBeLessThan(CASE_MS_LIMIT);
  return o;
}

/** A checkpoint file from a header object and data, with a correct SHA-256 unless told otherwise. */
function forge(header: Record<string, unknown>, data: Uint8Array, { fixSha = true, headerText }: { fixSha?: boolean; headerText?: string } = {}): Buffer {
  const h = { ...header };
  if (fixSha) h.sha256 = crypto.createHash('sha256').update(data).digest('hex');
  const text = Buffer.from(headerText ?? JSON.stringify(h));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(text.length);
  return Buffer.concat([Buffer.from('FGCKPT01'), len, text, data]);
}

describe('loadCheckpoint fuzz', () => {
  it('hundreds of bad checkpoints end in a one-line UserError', async () => {
    const rng = new Rng(701);
    const file = path.join(tmp.dir, 'latest.fgck');
    const tensors = [
      { name: 'generator/0:4x3', tensor: tf.tensor(Array.from({ length: 12 }, (_, i) => i / 7), [4, 3]) },
      { name: 'generator/1:3', tensor: tf.tensor([1, 2, 3]) },
      { name: 'optG/0:2x2', tensor: tf.tensor([[0.5, -0.5], [1e-8, 3e8]]) },
    ];
    saveCheckpoint(file, { step: 7, epoch: 1, historyBytes: 123, seed: 5 }, tensors);
    tf.dispose(tensors.map((t) => t.tensor));
    const valid = new Uint8Array(fs.readFileSync(file));
    expect(loadCheckpoint(file).tensors.size).toBe(3);
    const headerLen = Buffer.from(valid).readUInt32LE(8);
    const header = JSON.parse(Buffer.from(valid.subarray(12, 12 + headerLen)).toString('utf8'));
    const data = valid.subarray(12 + headerLen);

    const cases: FuzzCase[] = [];
    // Truncation at every offset of the magic, length and header, and at tensor boundaries.
    const offsets = [...Array.from({ length: 12 + headerLen + 2 }, (_, i) => i), ...[0, 48, 60, 68].map((o) => 12 + headerLen + o), valid.length - 1];
    cases.push(...mutations(rng, valid, offsets, 120, { truncated: true, appended: true }));
    // Header length fields pointing anywhere.
    for (const n of [0, 1, headerLen - 1, headerLen + 1, 16 * 1024 * 1024, 16 * 1024 * 1024 + 1, 0xffffffff, rng.nextUint32()]) {
      const b = Buffer.from(valid);
      b.writeUInt32LE(n >>> 0, 8);
      cases.push({ label: `header length ${n}`, bytes: b, refuse: true });
    }
    // Structurally wrong headers with a valid checksum (so the checks past the checksum run).
    const h = (patch: Record<string, unknown>) => ({ ...header, ...patch });
    const t = (i: number, patch: Record<string, unknown>) => header.tensors.map((e: object, k: number) => (k === i ? { ...e, ...patch } : e));
    const forged: [string, Record<string, unknown>, Uint8Array?][] = [
      ['format 2', h({ format: 2 })],
      ['no tensors field', (({ tensors: _t, ...rest }) => rest)(header)],
      ['extra header field', h({ extra: 1 })],
      ['meta is an array', h({ meta: [1, 2] })],
      ['meta is null', h({ meta: null })],
      ['dataBytes off by one', h({ dataBytes: data.length + 1 })],
      ['dataBytes negative', h({ dataBytes: -4 })],
      ['dataBytes huge', h({ dataBytes: 2 ** 53 })],
      ['sha256 not hex', h({ sha256: 'z'.repeat(64) })],
      ['tensor shape negative', h({ tensors: t(0, { shape: [-4, -3] }) })],
      ['tensor shape fractional', h({ tensors: t(0, { shape: [2.5, 4.8] }) })],
      ['tensor shape huge', h({ tensors: t(0, { shape: [2 ** 30, 2 ** 30], length: 2 ** 60 }) })],
      ['tensor shape strings', h({ tensors: t(0, { shape: ['4', '3'] }) })],
      ['tensor length ≠ shape', h({ tensors: t(1, { length: 4 }) })],
      ['tensor misaligned', h({ tensors: t(1, { offset: 49 }) })],
      ['tensors overlap', h({ tensors: t(1, { offset: 0 }) })],
      ['tensor past the data', h({ tensors: t(2, { offset: data.length }) })],
      ['tensor name not a string', h({ tensors: t(0, { name: 42 }) })],
      ['tensor name with a newline', h({ tensors: t(0, { name: 'gen\nerator', shape: [5] }) })],
      ['duplicate tensor names', h({ tensors: t(1, { name: header.tensors[0].name }) })],
      ['bytes belonging to no tensor', h({ tensors: header.tensors.slice(0, 2) })],
      ['tensor entry null', h({ tensors: [null] })],
    ];
    // 300 entries each claiming the same 256 KB: copying them would allocate 300× the file.
    const big = new Uint8Array(256 * 1024);
    forged.push(['aliasing entries', h({ dataBytes: big.length, tensors: Array.from({ length: 300 }, (_, i) => ({ name: `t${i}`, shape: [big.length / 4], offset: 0, length: big.length / 4 })) }), big]);
    // (the bad checksum case keeps its bad checksum; every other case gets a correct one)
    for (const [label, hdr, d] of forged) cases.push({ label, bytes: forge(hdr, d ?? data, { fixSha: label !== 'sha256 not hex' }), refuse: true });
    // Random JSON values in random header fields.
    const junk = () => [null, true, -1, 0.5, 2 ** 64, '', 'x\ny', [], {}, [1, [2, [3]]], { a: { b: 1 } }][rng.nextInt(11)];
    for (let i = 0; i < 60; i++) {
      const hdr = structuredClone(header);
      const where = rng.nextInt(3);
      if (where === 0) (hdr as Record<string, unknown>)[['format', 'meta', 'tensors', 'dataBytes', 'sha256'][rng.nextInt(5)]!] = junk();
      else {
        const e = hdr.tensors[rng.nextInt(hdr.tensors.length)];
        e[['name', 'shape', 'offset', 'length'][rng.nextInt(4)]!] = junk();
      }
      cases.push({ label: `junk field ${JSON.stringify(hdr).slice(0, 60)}`, bytes: forge(hdr, data) });
    }
    // Headers that are not JSON objects; random files.
    for (const text of ['', 'null', '[]', '"x"', '{', '{"format": 1,\n "meta": }', '\u0000'.repeat(8), `${'['.repeat(100_000)}`]) cases.push({ label: `header ${JSON.stringify(text.slice(0, 20))}`, bytes: forge(header, data, { headerText: text }), refuse: true });
    for (let i = 0; i < 20; i++) cases.push({ label: 'random bytes', bytes: i % 2 ? Buffer.concat([Buffer.from('FGCKPT01'), randomBytes(rng, rng.nextInt(400))]) : randomBytes(rng, rng.nextInt(400)), refuse: true });

    let accepted = 0;
    for (const c of cases) {
      const o = await check(c, file, loadCheckpoint, 2 * c.bytes.length);
      if (o.ok) accepted++;
    }
    expect(cases.length).toBeGreaterThan(300);
    // Only harmless changes load (e.g. a flipped bit in meta's JSON text that stays valid).
    expect(accepted).toBeLessThan(cases.length / 10);
  });

  it('is not fooled by a directory or a missing file', async () => {
    const dir = path.join(tmp.dir, 'adir.fgck');
    fs.mkdirSync(dir);
    expect(() => loadCheckpoint(dir)).toThrow(/adir\.fgck: cannot read checkpoint \(EISDIR\)/);
    expect(() => loadCheckpoint(path.join(tmp.dir, 'none'))).toThrow(/cannot read checkpoint \(ENOENT\)/);
  });
});

describe('readRunConfig fuzz', () => {
  const p = getPreset('fmnist-lms');
  const base = {
    version: 1,
    preset: p.name,
    dataset: p.dataset,
    classFilter: null,
    classNames: CLASS_NAMES['fashion-mnist'],
    latentDim: p.model.latentDim,
    imageShape: p.model.imageShape,
    conditional: false,
    numClasses: 10,
    seed: 3,
    batchSize: p.batchSize,
    backend: 'wasm',
    model: p.model,
    optimizerG: p.optimizerG,
    optimizerD: p.optimizerD,
    recipe: p.recipe,
    trainCount: 60000,
    stepsPerEpoch: 235,
    createdAt: '2026-01-01T00:00:00.000Z',
    command: 'fashion-gan train',
  };

  /** Every path to a leaf or container in `v`, e.g. ['model', 'generator', 'blocks', 0, 'filters']. */
  function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
    if (v === null || typeof v !== 'object') return [at];
    const kids = Array.isArray(v) ? v.map((x, i) => paths(x, [...at, i])) : Object.entries(v).map(([k, x]) => paths(x, [...at, k]));
    return [at, ...kids.flat()];
  }

  it('hundreds of bad config.json files end in a one-line UserError', async () => {
    const rng = new Rng(702);
    const file = path.join(tmp.dir, 'config.json');
    const text = `${JSON.stringify(base, null, 2)}\n`;
    fs.writeFileSync(file, text);
    expect(readRunConfig(file).preset).toBe('fmnist-lms');
    const valid = new Uint8Array(Buffer.from(text));
    const cases: FuzzCase[] = [];
    // Text damage: truncations, bit flips (JSON.parse's message quotes the text, newlines and all).
    cases.push(...mutations(rng, valid, [...Array.from({ length: 40 }, () => rng.nextInt(valid.length)), 0, 1, valid.length - 2], 80, { appended: true }));
    const all = paths(base).filter((q) => q.length > 0);
    const junk = () => [null, true, -1, 0, 1.5, 2 ** 64, '', 'x\ny', [], {}, [1, 2, 3], { 'a\nb': 1 }, 'NaN', 1e308 * 10][rng.nextInt(14)];
    // Wrong types and values at random places, missing fields, unknown fields in strict objects.
    for (let i = 0; i < 150; i++) {
      const c = structuredClone(base) as Record<string, unknown>;
      const q = all[rng.nextInt(all.length)]!;
      let parent = c as Record<string | number, unknown>;
      for (const k of q.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
      const last = q.at(-1)!;
      const op = rng.nextInt(3);
      if (op === 0) parent[last] = junk();
      else if (op === 1) delete parent[last];
      else if (typeof parent[last] === 'object' && parent[last] !== null) (parent[last] as Record<string, unknown>)[`bad\n${rng.nextInt(99)}`] = 1;
      else parent[last] = junk();
      cases.push({ label: `${['junk at', 'no', 'extra key in'][op]} ${q.join('.')}`, bytes: Buffer.from(JSON.stringify(c, null, 2)) });
    }
    for (const t of ['', ' ', 'null', '[]', '1', '"config"', '\ufeff{}', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, '{"version": 1}']) cases.push({ label: `text ${JSON.stringify(t.slice(0, 16))}`, bytes: Buffer.from(t), refuse: true });
    for (let i = 0; i < 20; i++) cases.push({ label: 'random bytes', bytes: randomBytes(rng, rng.nextInt(600)), refuse: true });

    for (const c of cases) await check(c, file, readRunConfig, 4096);
    expect(cases.length).toBeGreaterThan(300);
  });

  it('a config.json that is a folder, or missing, is one line too', () => {
    const dir = path.join(tmp.dir, 'run');
    fs.mkdirSync(path.join(dir, 'config.json'), { recursive: true });
    expect(() => readRunConfig(path.join(dir, 'config.json'))).toThrow(/config\.json: not valid JSON \(EISDIR/);
    expect(() => readRunConfig(path.join(tmp.dir, 'nope.json'))).toThrow(/no such file \(is this a run folder\?\)/);
  });
});
