/**
 * The crash and disk tests' harness: the real CLI on a tiny but real model (fmnist-lms narrowed
 * 8×, batch 8, on WebAssembly), run, started and killed in a temp folder, and the checks of a
 * run folder's state that "nothing lost" means.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { tempDir, writeTinyFashion } from './fixtures';
import { loadCheckpoint } from '../src/training/checkpoint';
import { runPaths } from '../src/run/paths';

export const BIN = path.resolve(__dirname, '../bin/fashion-gan.js');
export const SEED = 21;
export const NEW_RUN = ['--preset', 'fmnist-lms', '--filters-scale', '0.125', '--batch-size', '8', '--seed', String(SEED)];

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * A temp folder with two tiny data sets: `dataDir` (36 images, batch 8: 5 steps an epoch, an
 * epoch-end checkpoint every 5 steps) and `bigDataDir` (400 images: 50 steps an epoch, long
 * stretches without sample writes); and the CLI run there.
 */
export function crashBench(prefix: string) {
  const tmp = tempDir(prefix);
  const dataDir = path.join(tmp.dir, 'data');
  const bigDataDir = path.join(tmp.dir, 'data400');
  const env = { ...process.env, FASHION_GAN_DATA: '' };
  return {
    tmp,
    dataDir,
    bigDataDir,
    writeData() {
      writeTinyFashion(dataDir, 36, 16);
      writeTinyFashion(bigDataDir, 400, 16);
    },
    trainArgs: (extra: string[], data = dataDir, backend = 'wasm'): string[] => ['train', '--data-dir', data, '--backend', backend, ...extra],
    start(args: string[]) {
      const child = spawn(process.execPath, [BIN, ...args], { cwd: tmp.dir, env });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.stdout.resume();
      const exited = new Promise<Exit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
      return { child, exited, stderr: () => stderr };
    },
    run(args: string[]): Exit {
      const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp.dir, encoding: 'utf8', env, timeout: 120_000 });
      return { code: r.status, signal: r.signal, stderr: r.stderr };
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

export function checkpointValues(dir: string) {
  const ck = loadCheckpoint(runPaths(dir).checkpoint);
  return { step: ck.meta.step, tensors: new Map([...ck.tensors].map(([k, v]) => [k, Buffer.from(v.values.buffer)])) };
}

export function expectSameCheckpoint(a: string, b: string) {
  const x = checkpointValues(a);
  const y = checkpointValues(b);
  expect(y.step).toBe(x.step);
  expect([...y.tensors.keys()]).toEqual([...x.tensors.keys()]);
  expect(x.tensors.size).toBeGreaterThan(20);
  for (const [k, v] of x.tensors) expect(y.tensors.get(k)!.equals(v), k).toBe(true);
}

/** history.jsonl, strictly: every line whole JSON, the file ends with a newline. */
export function strictHistory(dir: string): Record<string, number>[] {
  const text = fs.readFileSync(runPaths(dir).history, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, number>);
}
export const withoutSeconds = (rows: Record<string, number>[]) => rows.map(({ seconds: _s, ...r }) => r);

/** Temp files of atomic writes anywhere in the run folder: `.NAME.tmp-PID`. */
export function tempFiles(dir: string): string[] {
  const out: string[] = [];
  for (const sub of ['', 'checkpoint', 'samples', 'generator']) {
    const d = path.join(dir, sub);
    if (!fs.existsSync(d)) continue;
    for (const f of fs.readdirSync(d)) if (/\.tmp-\d+$/.test(f)) out.push(path.join(sub, f));
  }
  return out;
}
