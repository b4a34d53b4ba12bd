import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeTinyFashion } from '../../test/fixtures';
import { initBackend } from '../backends/index';
import { loadGenerator } from '../generate';
import { applyOverrides } from '../models/overrides';
import { getPreset } from '../models/presets';
import { decodePng } from '../output/image';
import { loadCheckpoint } from './checkpoint';
import { readRunConfig } from '../run/config';
import { train, type TrainOptions } from './loop';
import { readJsonl } from '../run/jsonl';
import { acquireLock } from '../run/lock';
import { runPaths } from '../run/paths';

const tmp = tempDir();
const dataDir = path.join(tmp.dir, 'data');
let backend = '';

// The seed's fmnist-lms, narrowed 8× so a test step takes milliseconds; the code path is the real one.
const tinyPreset = () => applyOverrides(getPreset('fmnist-lms'), { filtersScale: 0.125, batchSize: 8 });

const base = (extra: Partial<TrainOptions>): TrainOptions => ({ dataDir, sampleEvery: 2, checkpointEvery: 1000, backend, command: 'test', ...extra });

beforeAll(async () => {
  backend = (await initBackend('wasm')).name;
  writeTinyFashion(dataDir, 36, 16); // 36 images, batch 8: 5 steps an epoch, the last one partial
});
afterAll(tmp.cleanup);

function checkpointValues(dir: string): Map<string, Float32Array> {
  const ck = loadCheckpoint(runPaths(dir).checkpoint);
  return new Map([...ck.tensors].map(([k, v]) => [k, v.values]));
}

describe('training', () => {
  it('N steps + resume + N steps gives exactly the weights, optimiser state and history of 2N steps straight', async () => {
    const straight = path.join(tmp.dir, 'straight');
    const split = path.join(tmp.dir, 'split');
    await train(base({ preset: tinyPreset(), out: straight, steps: 8, seed: 11 }));
    await train(base({ preset: tinyPreset(), out: split, steps: 4, seed: 11 }));
    await train(base({ resume: split, steps: 8 }));
    const a = checkpointValues(straight);
    const b = checkpointValues(split);
    expect([...a.keys()]).toEqual([...b.keys()]);
    expect(a.size).toBeGreaterThan(20);
    for (const [k, v] of a) expect(Buffer.from(b.get(k)!.buffer).equals(Buffer.from(v.buffer)), k).toBe(true);
    const strip = (rows: Record<string, number>[]) => rows.map(({ seconds: _s, ...r }) => r);
    const ha = strip(readJsonl(runPaths(straight).history));
    const hb = strip(readJsonl(runPaths(split).history));
    expect(ha).toHaveLength(8);
    expect(hb).toEqual(ha);
    // a different seed trains differently
    const other = path.join(tmp.dir, 'other');
    await train(base({ preset: tinyPreset(), out: other, steps: 2, seed: 12 }));
    expect(strip(readJsonl(runPaths(other).history))[0]).not.toEqual(ha[0]);
  });

  it('writes the run folder the other tools read', async () => {
    const dir = path.join(tmp.dir, 'folder');
    const r = await train(base({ preset: tinyPreset(), out: dir, epochs: 1, seed: 3 }));
    expect(r.step).toBe(5);
    const p = runPaths(dir);
    const config = readRunConfig(p.config);
    expect(config.preset).toBe('fmnist-lms');
    expect(config.stepsPerEpoch).toBe(5);
    const history = readJsonl<Record<string, number>>(p.history);
    expect(history.map((h) => h.step)).toEqual([1, 2, 3, 4, 5]);
    for (const h of history) {
      expect(Object.keys(h).sort()).toEqual(['disc_loss', 'epoch', 'fake_accuracy', 'gen_loss', 'real_accuracy', 'seconds', 'step']);
      expect(h.real_accuracy).toBeGreaterThanOrEqual(0);
      expect(h.real_accuracy).toBeLessThanOrEqual(1);
    }
    const samples = fs.readdirSync(p.samples).sort();
    expect(samples).toEqual(['e0000-s00000000.png', 'e0001-s00000002.png', 'e0001-s00000004.png', 'e0001-s00000005.png']);
    const grid = decodePng(fs.readFileSync(path.join(p.samples, samples[3]!)));
    expect(grid.width).toBe(4 * (28 * 3 + 2) + 2);
    expect(fs.readFileSync(p.gif).subarray(0, 6).toString()).toBe('GIF89a');
    expect(decodePng(fs.readFileSync(p.historyPng)).width).toBeGreaterThan(500);

    // The exported generator loads with stock tf.loadLayersModel and reproduces the last grid.
    const model = await tf.loadLayersModel(`file://${p.generator}/model.json`);
    expect(model.outputs[0]!.shape).toEqual([null, 28, 28, 1]);
    model.dispose();
    const gen = await loadGenerator(dir);
    expect(gen.latentDim).toBe(100);
    gen.model.dispose();
  });

  it('keeps the tensor count flat across steps', async () => {
    const dir = path.join(tmp.dir, 'leak');
    const counts: number[] = [];
    await train(base({ preset: tinyPreset(), out: dir, steps: 7, seed: 1, onStep: () => counts.push(tf.memory().numTensors) }));
    expect(counts.length).toBe(7);
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(counts[6]).toBe(counts[1]);
  });

  it('stops when asked, with a checkpoint that resumes', async () => {
    const dir = path.join(tmp.dir, 'stop');
    let calls = 0;
    const r = await train(base({ preset: tinyPreset(), out: dir, steps: 100, seed: 2, shouldStop: () => ++calls >= 3 }));
    expect(r.stoppedBy).toBe('signal');
    expect(r.step).toBe(3);
    expect(loadCheckpoint(runPaths(dir).checkpoint).meta.step).toBe(3);
    const again = await train(base({ resume: dir, steps: 4 }));
    expect(again.step).toBe(4);
  });

  it('remembers its target and cadences: a plain resume continues to the saved target and leaves config.json as it was', async () => {
    const dir = path.join(tmp.dir, 'remembers');
    let calls = 0;
    await train(base({ preset: tinyPreset(), out: dir, steps: 7, sampleEvery: 3, seed: 4, shouldStop: () => ++calls >= 2 }));
    const p = runPaths(dir);
    const before = fs.readFileSync(p.config, 'utf8');
    expect(readRunConfig(p.config)).toMatchObject({ target: { steps: 7 }, cadence: { sampleEvery: 3, checkpointEvery: 1000 } });
    const r = await train({ dataDir, backend, command: 'test', resume: dir });
    expect(r.step).toBe(7);
    expect(r.stoppedBy).toBe('target');
    expect(fs.readFileSync(p.config, 'utf8')).toBe(before);
    expect(fs.readdirSync(p.samples)).toContain('e0002-s00000006.png'); // the saved cadence (3), not a default
    // More steps extend the target, and config.json keeps the new one.
    expect((await train({ dataDir, backend, command: 'test', resume: dir, steps: 9 })).step).toBe(9);
    expect(readRunConfig(p.config).target).toEqual({ steps: 9 });
  });

  it('a resume on another backend says so in one line and records the change in config.json', async () => {
    const dir = path.join(tmp.dir, 'switch');
    await train(base({ preset: tinyPreset(), out: dir, steps: 2, seed: 6 }));
    const lines: string[] = [];
    await train(base({ resume: dir, steps: 3, backend: 'elsewhere', log: (l) => lines.push(l) }));
    expect(lines.filter((l) => /trained on wasm until step 2; it continues on elsewhere, so from here its results are not bit-identical/.test(l))).toHaveLength(1);
    expect(readRunConfig(runPaths(dir).config).backendChanges).toEqual([{ step: 2, from: 'wasm', to: 'elsewhere', at: expect.any(String) }]);
    // Back on the same backend again: no new note.
    const again: string[] = [];
    await train(base({ resume: dir, steps: 4, backend: 'elsewhere', log: (l) => again.push(l) }));
    expect(again.some((l) => /not bit-identical/.test(l))).toBe(false);
  });

  it('a run saved as bare "wasm" resumed on "wasm (detail)" is told the GEMM was not named, not that it moved', async () => {
    const dir = path.join(tmp.dir, 'unnamed');
    await train(base({ preset: tinyPreset(), out: dir, steps: 2, seed: 6 }));
    const lines: string[] = [];
    await train(base({ resume: dir, steps: 3, backend: 'wasm (detail)', log: (l) => lines.push(l) }));
    expect(lines.filter((l) => /recorded its backend as wasm without naming the GEMM; it continues on wasm \(detail\)/.test(l))).toHaveLength(1);
    expect(lines.some((l) => /not bit-identical to a run/.test(l))).toBe(false);
    expect(readRunConfig(runPaths(dir).config).backendChanges).toEqual([{ step: 2, from: 'wasm', to: 'wasm (detail)', at: expect.any(String) }]);
  });

  it('refuses to start over an existing run, or to resume nothing', async () => {
    const dir = path.join(tmp.dir, 'folder');
    await expect(train(base({ preset: tinyPreset(), out: dir, steps: 1 }))).rejects.toThrow(/already holds a run; continue it with --resume/);
    await expect(train(base({ resume: path.join(tmp.dir, 'nothing'), steps: 1 }))).rejects.toThrow(/no such run folder/);
  });

  it('refuses a second trainer on the same run folder, and takes over a stale lock', () => {
    const dir = path.join(tmp.dir, 'locked');
    fs.mkdirSync(dir);
    const lock = runPaths(dir).lock;
    fs.writeFileSync(lock, `${process.ppid}\n`); // a live process that is not us
    expect(() => acquireLock(lock)).toThrow(/another process \(pid \d+\) is training into this run folder/);
    fs.writeFileSync(lock, '999999999\n'); // no such process
    const release = acquireLock(lock);
    expect(fs.readFileSync(lock, 'utf8').trim()).toBe(String(process.pid));
    release();
    expect(fs.existsSync(lock)).toBe(false);
  });

  it('reports a damaged checkpoint in one line', async () => {
    const dir = path.join(tmp.dir, 'straight');
    const file = runPaths(dir).checkpoint;
    const bytes = fs.readFileSync(file);
    const damaged = Buffer.from(bytes);
    damaged[damaged.length - 10]! ^= 0xff;
    fs.writeFileSync(file, damaged);
    await expect(train(base({ resume: dir, steps: 9 }))).rejects.toThrow(/checkpoint data is corrupt \(checksum mismatch\)/);
    fs.writeFileSync(file, bytes.subarray(0, 1000));
    await expect(train(base({ resume: dir, steps: 9 }))).rejects.toThrow(/truncated checkpoint/);
    fs.writeFileSync(file, 'hello');
    await expect(train(base({ resume: dir, steps: 9 }))).rejects.toThrow(/not a fashion-gan checkpoint/);
  });
});

describe('a learning-rate decay', () => {
  it('is 1 until its start, then falls linearly to a last tiny update at the target', async () => {
    const { lrScaleAt } = await import('./target');
    // update 5 still at full rate, then 3/4, 1/2, and the last update (8) at 1/4
    expect([1, 4, 5, 6, 7, 8, 9].map((s) => lrScaleAt(s, 4, 8))).toEqual([1, 1, 1, 0.75, 0.5, 0.25, 0]);
    expect(lrScaleAt(5, undefined, 8)).toBe(1);
    expect(lrScaleAt(5, 4, Infinity)).toBe(1);
  });

  it('is saved, resumes exactly, and needs a step target beyond its start', async () => {
    const straight = path.join(tmp.dir, 'decay-straight');
    const split = path.join(tmp.dir, 'decay-split');
    await train(base({ preset: tinyPreset(), out: straight, steps: 8, seed: 9, lrDecayFrom: 3 }));
    await train(base({ preset: tinyPreset(), out: split, steps: 8, seed: 9, lrDecayFrom: 3, shouldStop: (() => { let n = 0; return () => ++n >= 5; })() }));
    expect(readRunConfig(runPaths(split).config).schedule).toEqual({ lrDecayFrom: 3 });
    await train(base({ resume: split }));
    const a = checkpointValues(straight);
    const b = checkpointValues(split);
    for (const [k, v] of a) expect(Buffer.from(b.get(k)!.buffer).equals(Buffer.from(v.buffer)), k).toBe(true);
    // without the decay the weights differ
    const constant = path.join(tmp.dir, 'decay-none');
    await train(base({ preset: tinyPreset(), out: constant, steps: 8, seed: 9 }));
    const first = [...a.keys()][0]!;
    expect(Buffer.from(checkpointValues(constant).get(first)!.buffer).equals(Buffer.from(a.get(first)!.buffer))).toBe(false);
    await expect(train(base({ preset: tinyPreset(), out: path.join(tmp.dir, 'decay-bad'), minutes: 1, lrDecayFrom: 3 }))).rejects.toThrow(/--lr-decay-from 3: the decay ends at the target's last step, so it needs a step or epoch target beyond it/);
    await expect(train(base({ preset: tinyPreset(), out: path.join(tmp.dir, 'decay-late'), steps: 3, lrDecayFrom: 3 }))).rejects.toThrow(/needs a step or epoch target beyond it \(the target is 3 steps\)/);
    expect(fs.existsSync(runPaths(path.join(tmp.dir, 'decay-late')).config)).toBe(false);
  });

  it('a decayed run continued for minutes says it trains at the full rate, and its config drops the decay', async () => {
    const dir = path.join(tmp.dir, 'decay-then-minutes');
    await train(base({ preset: tinyPreset(), out: dir, steps: 6, seed: 9, lrDecayFrom: 3 }));
    const lines: string[] = [];
    let calls = 0;
    const r = await train(base({ resume: dir, minutes: 5, log: (l) => lines.push(l), shouldStop: () => ++calls >= 3 }));
    expect(r.step).toBeGreaterThan(6);
    expect(lines.filter((l) => /learning-rate decay \(from step 3\) needs a step or epoch target; for .* it trains at the full learning rate/.test(l))).toHaveLength(1);
    const config = readRunConfig(runPaths(dir).config);
    expect(config.schedule).toBeUndefined();
    expect(config.target).toMatchObject({ minutes: expect.any(Number) });
  });
});
