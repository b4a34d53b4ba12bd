/**
 * Seeded bad model folders (model.json + weights.bin) for loadModelArtifacts: each ends in a
 * one-line UserError naming the folder or file (or loads, when harmless), quickly, without
 * reading or allocating more than the weight files hold.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/fixtures';
import { CASE_MS_LIMIT, expectGraceful, metered, mutations, randomBytes, type FuzzCase } from '../../test/fuzz';
import { buildGenerator } from '../models/builder';
import { applyOverrides } from '../models/overrides';
import { getPreset } from '../models/presets';
import { Rng } from '../util/rng';
import { FileModelIO, loadModelArtifacts } from './fileio';

const tmp = tempDir();
afterAll(tmp.cleanup);
const good = path.join(tmp.dir, 'good');

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
  // A real exported generator (fmnist-lms narrowed 8×), written by the code that writes runs.
  const g = buildGenerator(applyOverrides(getPreset('fmnist-lms'), { filtersScale: 0.125 }).model, 1);
  await g.save(new FileModelIO(good));
  g.dispose();
});

const stats = { cases: 0, rejected: 0, accepted: 0, totalMs: 0, maxMs: 0 };
afterAll(() => console.log(`fileio fuzz: ${JSON.stringify({ ...stats, totalMs: Math.round(stats.totalMs), maxMs: Math.round(stats.maxMs) })}`));

let n = 0;
/** A model folder holding `json` as model.json and the given weight files. */
function folder(json: string | Uint8Array, files: Record<string, Uint8Array | 'dir'>): string {
  const dir = path.join(tmp.dir, `m${n++}`);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'model.json'), json);
  for (const [name, data] of Object.entries(files)) {
    if (data === 'dir') fs.mkdirSync(path.join(dir, name));
    else fs.writeFileSync(path.join(dir, name), data);
  }
  return dir;
}

async function check(c: FuzzCase, dir: string, weightBytes: number) {
  const o = await metered(() => loadModelArtifacts(dir));
  stats.cases++;
  stats[o.ok ? 'accepted' : 'rejected']++;
  stats.totalMs += o.ms;
  stats.maxMs = Math.max(stats.maxMs, o.ms);
  expectGraceful(c, o, dir, weightBytes);
  expect(o.ms, c.label).toBeLessThan(CASE_MS_LIMIT);
  return o;
}

describe('loadModelArtifacts fuzz', () => {
  it('hundreds of bad model folders end in a one-line UserError', async () => {
    const rng = new Rng(801);
    const jsonText = fs.readFileSync(path.join(good, 'model.json'), 'utf8');
    const weights = new Uint8Array(fs.readFileSync(path.join(good, 'weights.bin')));
    const base = JSON.parse(jsonText);
    const specs = base.weightsManifest[0].weights as { name: string; shape: number[]; dtype: string }[];
    expect(loadModelArtifacts(good).weightSpecs!.length).toBe(specs.length);

    // 1. model.json text damage.
    const text = new Uint8Array(Buffer.from(jsonText));
    for (const c of mutations(rng, text, [0, 1, 2, ...Array.from({ length: 40 }, () => rng.nextInt(text.length)), text.length - 1], 60)) {
      await check({ ...c, label: `model.json ${c.label}` }, folder(c.bytes, { 'weights.bin': weights }), weights.length);
    }
    // 2. weights.bin damage: truncated, extended, missing, a folder.
    for (const c of mutations(rng, weights, [0, 1, 3, 4, ...Array.from({ length: 20 }, () => rng.nextInt(weights.length)), weights.length - 1], 5, { truncated: true, appended: true })) {
      await check({ ...c, label: `weights.bin ${c.label}` }, folder(jsonText, { 'weights.bin': c.bytes }), weights.length + 1024);
    }
    await check({ label: 'no weights.bin', bytes: text, refuse: true }, folder(jsonText, {}), 0);
    await check({ label: 'weights.bin is a folder', bytes: text, refuse: true }, folder(jsonText, { 'weights.bin': 'dir' }), 0);

    // 3. Structured lies in the manifest.
    const lie = (label: string, mutate: (m: typeof base) => void, refuse = true, files: Record<string, Uint8Array | 'dir'> = { 'weights.bin': weights }) => {
      const m = structuredClone(base);
      mutate(m);
      return check({ label, bytes: text, refuse }, folder(JSON.stringify(m), files), weights.length);
    };
    const w0 = (m: typeof base) => m.weightsManifest[0].weights[0];
    for (const dtype of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'string', 'complex64', 'float64', '', 7, null]) await lie(`dtype ${String(dtype)}`, (m) => (w0(m).dtype = dtype));
    for (const shape of [[-1], [1.5], [2 ** 31], ['3'], [null], [2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1], [], 'x', null, Array(100_000).fill(1)]) await lie(`shape ${JSON.stringify(shape).slice(0, 30)}`, (m) => (w0(m).shape = shape));
    for (const name of [7, null]) await lie(`name ${JSON.stringify(name)}`, (m) => (w0(m).name = name));
    // Odd but harmless names load (the weight is matched by position).
    for (const name of ['a\nb', '']) await lie(`name ${JSON.stringify(name)}`, (m) => (w0(m).name = name), false);
    for (const p of ['../weights.bin', '/etc/passwd', '', '.', '..', 'a/b', 'a\\b', 'we\nights.bin', 'missing.bin', 5, null]) await lie(`path ${JSON.stringify(p)}`, (m) => (m.weightsManifest[0].paths = [p]));
    // The same file twice (with the specs doubled so the sizes agree): read once, refused.
    await lie('weights.bin listed twice', (m) => {
      m.weightsManifest[0].paths = ['weights.bin', 'weights.bin'];
      m.weightsManifest[0].weights = [...specs, ...specs.map((s) => ({ ...s, name: `${s.name}_again` }))];
    });
    await lie('1,000 groups naming weights.bin', (m) => {
      m.weightsManifest = Array.from({ length: 1000 }, (_, i) => ({ paths: ['weights.bin'], weights: i ? [] : specs }));
    });
    // A 64 MB weights.bin that model.json does not describe: refused by size before it is read.
    const huge = path.join(tmp.dir, 'huge');
    fs.mkdirSync(huge);
    fs.writeFileSync(path.join(huge, 'model.json'), jsonText);
    fs.writeFileSync(path.join(huge, 'weights.bin'), '');
    fs.truncateSync(path.join(huge, 'weights.bin'), 64 << 20);
    await check({ label: 'sparse 64 MB weights.bin', bytes: text, refuse: true }, huge, 0);
    for (const [label, m] of [
      ['not an object', [1, 2]],
      ['null', null],
      ['no modelTopology', { weightsManifest: [] }],
      ['modelTopology a string', { modelTopology: 'x', weightsManifest: [] }],
      ['no weightsManifest', { modelTopology: {} }],
      ['weightsManifest an object', { modelTopology: {}, weightsManifest: {} }],
      ['group null', { modelTopology: {}, weightsManifest: [null] }],
      ['group without paths', { modelTopology: {}, weightsManifest: [{ weights: [] }] }],
      ['weights entry null', { modelTopology: {}, weightsManifest: [{ paths: [], weights: [null] }] }],
    ] as const) {
      await check({ label, bytes: text, refuse: true }, folder(JSON.stringify(m), {}), 0);
    }
    // Random values in random places of the manifest.
    const junk = () => [null, true, -1, 0.5, 2 ** 64, '', 'x\ny', [], {}, [1, [2]], { a: 1 }][rng.nextInt(11)];
    for (let i = 0; i < 100; i++) {
      await lie(`junk #${i}`, (m) => {
        const g = m.weightsManifest[0];
        const k = rng.nextInt(4);
        if (k === 0) g.paths[0] = junk();
        else if (k === 1) g.weights[rng.nextInt(g.weights.length)] = junk();
        else g.weights[rng.nextInt(g.weights.length)][['name', 'shape', 'dtype'][rng.nextInt(3)]!] = junk();
        if (k === 3) m.weightsManifest.push(junk());
      }, false);
    }
    // 4. Random files.
    for (let i = 0; i < 20; i++) {
      const r = randomBytes(rng, rng.nextInt(500));
      await check({ label: 'random model.json', bytes: r }, folder(r, { 'weights.bin': weights }), weights.length);
    }
    expect(stats.cases).toBeGreaterThan(300);
  });
});
