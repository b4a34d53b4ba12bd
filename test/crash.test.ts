/**
 * "Nothing lost" (issue 6): the real CLI, killed with SIGKILL at seeded random moments — in the
 * middle of steps, checkpoint writes, sample/GIF/history.png writes and generator exports — and
 * resumed each time, ends bit-identical to an uninterrupted run. Also: two writers, divergence,
 * and full or read-only disks (real tmpfs and read-only bind mounts when we may mount).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeTinyFashion } from './fixtures';
import { loadModelArtifacts } from '../src/backends/fileio';
import { decodePng } from '../src/output/image';
import { loadCheckpoint } from '../src/training/checkpoint';
import { readRunConfig } from '../src/run/config';
import { runPaths } from '../src/run/paths';
import { Rng } from '../src/util/rng';

const BIN = path.resolve(__dirname, '../bin/fashion-gan.js');
const tmp = tempDir('fashion-gan-crash-');
const dataDir = path.join(tmp.dir, 'data');
const bigDataDir = path.join(tmp.dir, 'data400');
const SEED = 21;

beforeAll(() => {
  writeTinyFashion(dataDir, 36, 16); // batch 8: 5 steps an epoch (an epoch-end checkpoint every 5 steps)
  writeTinyFashion(bigDataDir, 400, 16); // 50 steps an epoch: long stretches without sample writes
});
afterAll(tmp.cleanup);

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** The tiny but real model: fmnist-lms narrowed 8×, batch 8, on WebAssembly. */
function trainArgs(extra: string[], data = dataDir): string[] {
  return ['train', '--data-dir', data, '--backend', 'wasm', ...extra];
}
const NEW_RUN = ['--preset', 'fmnist-lms', '--filters-scale', '0.125', '--batch-size', '8', '--seed', String(SEED)];

function start(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: tmp.dir, env: { ...process.env, FASHION_GAN_DATA: '' } });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.resume();
  const exited = new Promise<Exit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  return { child, exited, stderr: () => stderr };
}

function run(args: string[]): Exit {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp.dir, encoding: 'utf8', env: { ...process.env, FASHION_GAN_DATA: '' }, timeout: 120_000 });
  return { code: r.status, signal: r.signal, stderr: r.stderr };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function checkpointValues(dir: string) {
  const ck = loadCheckpoint(runPaths(dir).checkpoint);
  return { step: ck.meta.step, tensors: new Map([...ck.tensors].map(([k, v]) => [k, Buffer.from(v.values.buffer)])) };
}

function expectSameCheckpoint(a: string, b: string) {
  const x = checkpointValues(a);
  const y = checkpointValues(b);
  expect(y.step).toBe(x.step);
  expect([...y.tensors.keys()]).toEqual([...x.tensors.keys()]);
  expect(x.tensors.size).toBeGreaterThan(20);
  for (const [k, v] of x.tensors) expect(y.tensors.get(k)!.equals(v), k).toBe(true);
}

/** history.jsonl, strictly: every line whole JSON, the file ends with a newline. */
function strictHistory(dir: string): Record<string, number>[] {
  const text = fs.readFileSync(runPaths(dir).history, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, number>);
}
const withoutSeconds = (rows: Record<string, number>[]) => rows.map(({ seconds: _s, ...r }) => r);

/** Temp files of atomic writes anywhere in the run folder: `.NAME.tmp-PID`. */
function tempFiles(dir: string): string[] {
  const out: string[] = [];
  for (const sub of ['', 'checkpoint', 'samples', 'generator']) {
    const d = path.join(dir, sub);
    if (!fs.existsSync(d)) continue;
    for (const f of fs.readdirSync(d)) if (/\.tmp-\d+$/.test(f)) out.push(path.join(sub, f));
  }
  return out;
}

describe('SIGKILL at random moments, then --resume', () => {
  const N = 50;
  const straight = path.join(tmp.dir, 'straight');
  const crashed = path.join(tmp.dir, 'crashed');

  it(`ends bit-identical to an uninterrupted run of ${N} steps`, async () => {
    const ref = run(trainArgs([...NEW_RUN, '--steps', String(N), '--out', straight, '--checkpoint-every', '3', '--sample-every', '2']));
    expect(ref.code, ref.stderr).toBe(0);

    const rng = new Rng(20260601);
    // Where a kill is aimed: a delay from spawn (startup, data loading, steps), or the n-th
    // appearance of an atomic write's temp file of one kind (the kill lands 0–3 ms later).
    const kinds = ['time', 'time', 'checkpoint', 'checkpoint', 'sample', 'aux', 'generator', 'history'] as const;
    const matches: Record<(typeof kinds)[number], (f: string) => boolean> = {
      time: () => false,
      checkpoint: (f) => f.startsWith('checkpoint/'),
      sample: (f) => f.startsWith('samples/'),
      aux: (f) => /^\.(progress\.gif|history\.png|config\.json)\.tmp/.test(f),
      generator: (f) => f.startsWith('generator/'),
      history: () => false,
    };
    const KILLS = 20;
    const log: { kind: string; atStep: number; leftTemp: string[]; resumedFrom: string }[] = [];
    let restartsFromScratch = 0;
    let killed = 0;
    let invocations = 0;
    const continueArgs = () => {
      const p = runPaths(crashed);
      if (!fs.existsSync(p.config)) return trainArgs([...NEW_RUN, '--steps', String(N), '--out', crashed, '--checkpoint-every', '3', '--sample-every', '2']);
      return trainArgs(['--resume', crashed, '--steps', String(N), '--checkpoint-every', '3', '--sample-every', '2']);
    };

    for (;;) {
      const args = continueArgs();
      invocations++;
      if (killed >= KILLS) {
        const last = run(args);
        expect(last.code, last.stderr).toBe(0);
        break;
      }
      const resumedFrom = fs.existsSync(runPaths(crashed).checkpoint) ? String(loadCheckpoint(runPaths(crashed).checkpoint).meta.step) : 'none';
      const kind = kinds[rng.nextInt(kinds.length)]!;
      const nth = 1 + rng.nextInt(3);
      const delay = rng.nextInt(4);
      const spawnDelay = 300 + rng.nextInt(2700);
      const before = new Set(tempFiles(crashed));
      const historyLines = () => (fs.existsSync(runPaths(crashed).history) ? fs.readFileSync(runPaths(crashed).history, 'utf8').split('\n').length - 1 : 0);
      const linesAtStart = historyLines();
      const proc = start(args);
      let exit: Exit | null = null;
      void proc.exited.then((e) => (exit = e));
      const t0 = Date.now();
      let appearances = 0;
      let present = new Set<string>();
      while (!exit) {
        let fire = false;
        if (kind === 'time') fire = Date.now() - t0 >= spawnDelay;
        else if (kind === 'history') fire = historyLines() >= linesAtStart + nth + 1;
        else {
          // A temp name repeats within one process (it ends in the pid): count appearances.
          const now = new Set(tempFiles(crashed).filter((f) => !before.has(f) && matches[kind](f)));
          for (const f of now) if (!present.has(f)) appearances++;
          present = now;
          fire = appearances >= nth;
        }
        if (Date.now() - t0 > 20_000) fire = true; // never wait forever on a trigger that does not come
        if (fire) {
          if (delay) await sleep(delay);
          proc.child.kill('SIGKILL');
          break;
        }
        await sleep(1);
      }
      const e = await proc.exited;
      if (e.signal === 'SIGKILL') {
        killed++;
        const ckStep = fs.existsSync(runPaths(crashed).checkpoint) ? Number(loadCheckpoint(runPaths(crashed).checkpoint).meta.step) : -1;
        log.push({ kind, atStep: historyLines(), leftTemp: tempFiles(crashed).filter((f) => !before.has(f)), resumedFrom: `${resumedFrom}→ck ${ckStep}` });
        continue;
      }
      if (e.code === 0) break; // reached N before the kill
      // Killed before the first checkpoint: today --resume refuses (see the report's loop.ts
      // change); a user starts over, so do that.
      if (/never reached its first checkpoint/.test(e.stderr)) {
        restartsFromScratch++;
        fs.rmSync(crashed, { recursive: true, force: true });
        continue;
      }
      throw new Error(`invocation ${invocations} failed (${e.code}): ${e.stderr}`);
    }

    // eslint-disable-next-line no-console
    console.log(JSON.stringify({ kills: killed, invocations, restartsFromScratch, log }, null, 1));
    expect(killed).toBeGreaterThanOrEqual(15);
    expect(log.filter((l) => l.leftTemp.length > 0).length, 'some kills landed inside an atomic write').toBeGreaterThanOrEqual(2);

    // Weights, optimiser state and EMA: bit for bit.
    expectSameCheckpoint(straight, crashed);
    expect(checkpointValues(crashed).step).toBe(N);
    // history.jsonl: exactly one whole line per step 1..N, with the uninterrupted run's numbers.
    const h = strictHistory(crashed);
    expect(h.map((r) => r.step)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(withoutSeconds(h)).toEqual(withoutSeconds(strictHistory(straight)));
    // config.json intact, the same as the uninterrupted run's but for the time and command line.
    const strip = ({ createdAt: _c, command: _m, ...c }: ReturnType<typeof readRunConfig>) => c;
    expect(strip(readRunConfig(runPaths(crashed).config))).toEqual(strip(readRunConfig(runPaths(straight).config)));
    // The exported generator equals the uninterrupted run's; every sample grid decodes; no lock.
    expect(Buffer.from(loadModelArtifacts(runPaths(crashed).generator).weightData as ArrayBuffer).equals(Buffer.from(loadModelArtifacts(runPaths(straight).generator).weightData as ArrayBuffer))).toBe(true);
    for (const f of fs.readdirSync(runPaths(crashed).samples).filter((n) => n.endsWith('.png'))) decodePng(fs.readFileSync(path.join(runPaths(crashed).samples, f)));
    expect(fs.readFileSync(runPaths(crashed).gif).subarray(0, 6).toString()).toBe('GIF89a');
    expect(fs.existsSync(runPaths(crashed).lock)).toBe(false);
    // Temp files of killed writers are swept by the next write of the same file.
    expect(tempFiles(crashed).filter((f) => f.startsWith('checkpoint/'))).toEqual([]);
  });

  // Desired behaviour, pending the loop.ts change in the report: `it.fails` passes while
  // --resume still refuses a run folder that has config.json but no checkpoint yet. When the
  // change lands this starts failing: turn it into a plain `it`.
  it('--resume of a run killed before its first checkpoint starts over from step 0', () => {
    const dir = path.join(tmp.dir, 'early');
    const first = run(trainArgs([...NEW_RUN, '--steps', '3', '--out', dir, '--checkpoint-every', '100', '--sample-every', '100']));
    expect(first.code, first.stderr).toBe(0);
    // What a kill between config.json and the first checkpoint leaves: config, a torn history, a dead lock.
    fs.rmSync(runPaths(dir).checkpointDir, { recursive: true });
    fs.appendFileSync(runPaths(dir).history, '{"step": 4, "torn');
    fs.writeFileSync(runPaths(dir).lock, '999999999\n');
    const again = run(trainArgs(['--resume', dir, '--steps', '3']));
    expect(again.code, again.stderr).toBe(0);
    expect(strictHistory(dir).map((r) => r.step)).toEqual([1, 2, 3]);
  });
});

describe('two writers', () => {
  it('refuses a second trainer while the first runs, and takes over the lock once it is dead', async () => {
    const dir = path.join(tmp.dir, 'two');
    const a = start(trainArgs([...NEW_RUN, '--steps', '100000', '--out', dir, '--checkpoint-every', '2', '--sample-every', '1000']));
    const p = runPaths(dir);
    const t0 = Date.now();
    while (!(fs.existsSync(p.checkpoint) && fs.existsSync(p.history) && fs.readFileSync(p.history, 'utf8').split('\n').length > 3)) {
      if (Date.now() - t0 > 60_000) throw new Error(`first trainer did not get going: ${a.stderr()}`);
      await sleep(50);
    }
    const b = run(trainArgs(['--resume', dir, '--steps', '100000']));
    expect(b.code).toBe(1);
    expect(b.stderr).toContain(`fashion-gan: ${dir}: another process (pid ${a.child.pid}) is training into this run folder\n`);
    expect(b.stderr).not.toMatch(/\n\s+at /);
    const c = run(trainArgs([...NEW_RUN, '--steps', '5', '--out', dir]));
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/already holds a run; continue it with --resume/);
    // The refused trainers touched nothing: the first one is still writing a whole history.
    const linesBefore = strictHistory(dir).length;
    const waitFrom = Date.now();
    while (strictHistory(dir).length <= linesBefore) {
      if (Date.now() - waitFrom > 120_000) throw new Error(`the first trainer stopped writing history: ${a.stderr()}`);
      await sleep(50);
    }
    expect(strictHistory(dir).length).toBeGreaterThan(linesBefore);

    a.child.kill('SIGKILL');
    await a.exited;
    expect(fs.readFileSync(p.lock, 'utf8').trim()).toBe(String(a.child.pid)); // a stale lock
    const at = Number(loadCheckpoint(p.checkpoint).meta.step);
    const d = run(trainArgs(['--resume', dir, '--steps', String(at + 2)]));
    expect(d.code, d.stderr).toBe(0);
    expect(d.stderr).toMatch(new RegExp(`resumed .* at step ${at}`));
    expect(checkpointValues(dir).step).toBe(at + 2);
    expect(strictHistory(dir).map((r) => r.step)).toEqual(Array.from({ length: at + 2 }, (_, i) => i + 1));
    expect(fs.existsSync(p.lock)).toBe(false);
  });
});

/** Rewrites a checkpoint's float data in place, keeping its format and a valid SHA-256. */
function poisonCheckpoint(file: string, tensorPrefix: string, value: number): void {
  const bytes = fs.readFileSync(file);
  const headerLen = bytes.readUInt32LE(8);
  const header = JSON.parse(bytes.subarray(12, 12 + headerLen).toString('utf8'));
  const data = Buffer.from(bytes.subarray(12 + headerLen));
  const t = header.tensors.find((e: { name: string }) => e.name.startsWith(tensorPrefix));
  new Float32Array(data.buffer, data.byteOffset + t.offset, t.length).fill(value);
  header.sha256 = crypto.createHash('sha256').update(data).digest('hex');
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(h.length);
  fs.writeFileSync(file, Buffer.concat([bytes.subarray(0, 8), len, h, data]));
}

describe('divergence', () => {
  it('stops at the first NaN loss, names the step, and keeps the last good checkpoint', () => {
    const dir = path.join(tmp.dir, 'nan');
    const first = run(trainArgs([...NEW_RUN, '--steps', '4', '--out', dir, '--checkpoint-every', '2']));
    expect(first.code, first.stderr).toBe(0);
    const p = runPaths(dir);
    poisonCheckpoint(p.checkpoint, 'generator/0:', Number.NaN); // G's first kernel: every fake image is NaN
    expect(loadCheckpoint(p.checkpoint).meta.step).toBe(4); // still a valid checkpoint
    const before = sha(p.checkpoint);
    const historyBefore = fs.readFileSync(p.history);
    const r = run(trainArgs(['--resume', dir, '--steps', '8', '--checkpoint-every', '1']));
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(new RegExp(`^fashion-gan: training diverged at step 5: \\w+ is NaN; the last good checkpoint \\(step 4\\) is kept in ${dir.replace(/[/.]/g, '\\$&')}/checkpoint$`));
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(sha(p.checkpoint)).toBe(before);
    expect(fs.readFileSync(p.history).equals(historyBefore)).toBe(true);
    expect(fs.existsSync(p.lock)).toBe(false);
  });
});

// Real failures, not mocks: a tiny tmpfs filled up (ENOSPC) and read-only bind mounts (EROFS).
// Both need root and mount(2); elsewhere these tests are skipped. EACCES cannot be produced as
// root (permissions do not stop root), so it is not covered here.
function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  const d = fs.mkdtempSync(path.join(tmp.dir, 'probe-'));
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', d]).status === 0;
  if (ok) spawnSync('umount', [d]);
  return ok;
}
const MOUNT = canMount();

describe.skipIf(!MOUNT)('full or read-only disk', () => {
  const mounts: string[] = [];
  const sh = (cmd: string, ...args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  };
  const mountTmpfs = (dir: string, size: string) => {
    fs.mkdirSync(dir, { recursive: true });
    sh('mount', '-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir);
    mounts.push(dir);
  };
  const bindReadOnly = (target: string) => {
    sh('mount', '--bind', target, target);
    mounts.push(target);
    sh('mount', '-o', 'remount,bind,ro', target);
  };
  const unmount = (target: string) => {
    sh('umount', target);
    mounts.splice(mounts.indexOf(target), 1);
  };
  afterAll(() => {
    for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
  });
  /** Fills the file system holding `dir` up to `leave` free bytes. */
  const fill = (dir: string, leave: number, name = 'filler') => {
    const st = fs.statfsSync(dir);
    const free = st.bavail * st.bsize;
    const fd = fs.openSync(path.join(dir, name), 'w');
    const chunk = Buffer.alloc(64 * 1024, 1);
    let left = Math.max(0, free - leave);
    try {
      while (left > 0) left -= fs.writeSync(fd, chunk, 0, Math.min(chunk.length, left));
    } catch {
      // full
    }
    fs.closeSync(fd);
  };
  const oneLineError = (r: Exit, pattern: RegExp) => {
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(pattern);
    expect(r.stderr).not.toMatch(/\n\s+at |--verbose/);
  };

  it('ENOSPC during a checkpoint: one line, the previous checkpoint whole, and the run continues exactly once space is back', () => {
    const ref = path.join(tmp.dir, 'ref8');
    expect(run(trainArgs([...NEW_RUN, '--steps', '8', '--out', ref])).code).toBe(0);
    const disk = path.join(tmp.dir, 'disk-full');
    mountTmpfs(disk, '12m');
    const dir = path.join(disk, 'run');
    const first = run(trainArgs([...NEW_RUN, '--steps', '4', '--out', dir, '--checkpoint-every', '2', '--sample-every', '1000']));
    expect(first.code, first.stderr).toBe(0);
    const p = runPaths(dir);
    const before = sha(p.checkpoint);
    fill(disk, 512 * 1024); // room for history lines and a sample grid, not for a 2 MB checkpoint
    const r = run(trainArgs(['--resume', dir, '--steps', '8', '--checkpoint-every', '2', '--sample-every', '1000']));
    oneLineError(r, /^fashion-gan: .*checkpoint\/latest\.fgck: no space left on the device; the previous version is kept$/);
    expect(sha(p.checkpoint)).toBe(before);
    expect(loadCheckpoint(p.checkpoint).meta.step).toBe(4);
    expect(tempFiles(dir)).toEqual([]);
    fs.rmSync(path.join(disk, 'filler'));
    const again = run(trainArgs(['--resume', dir, '--steps', '8']));
    expect(again.code, again.stderr).toBe(0);
    expectSameCheckpoint(ref, dir);
    expect(withoutSeconds(strictHistory(dir))).toEqual(withoutSeconds(strictHistory(ref)));
    unmount(disk);
  });

  it('ENOSPC while appending to history.jsonl: one line, checkpoint untouched, the torn tail cut on resume', () => {
    const disk = path.join(tmp.dir, 'disk-full-history');
    mountTmpfs(disk, '12m');
    const dir = path.join(disk, 'run');
    const first = run(trainArgs([...NEW_RUN, '--steps', '2', '--out', dir, '--sample-every', '1000', '--checkpoint-every', '1000'], bigDataDir));
    expect(first.code, first.stderr).toBe(0);
    const p = runPaths(dir);
    // A run stopped at step 2 of 45 (a plain resume then writes nothing before its first step).
    const config = JSON.parse(fs.readFileSync(p.config, 'utf8'));
    fs.writeFileSync(p.config, `${JSON.stringify({ ...config, target: { steps: 45 } }, null, 2)}\n`);
    const before = sha(p.checkpoint);
    // Leave exactly the page the lock file needs: the history then fills its last page and stops.
    fs.writeFileSync(path.join(disk, 'spare'), Buffer.alloc(1)); // one page, freed below for the lock
    fill(disk, 0);
    fs.rmSync(path.join(disk, 'spare'));
    const r = run(trainArgs(['--resume', dir], bigDataDir));
    oneLineError(r, /^fashion-gan: .*history\.jsonl: no space left on the device; the previous version is kept$/);
    expect(sha(p.checkpoint)).toBe(before);
    fs.rmSync(path.join(disk, 'filler'));
    const again = run(trainArgs(['--resume', dir, '--steps', '4'], bigDataDir));
    expect(again.code, again.stderr).toBe(0);
    expect(strictHistory(dir).map((row) => row.step)).toEqual([1, 2, 3, 4]);
    unmount(disk);
  });

  it('EROFS: a read-only checkpoint folder or history file gives one line and keeps the checkpoint', () => {
    const dir = path.join(tmp.dir, 'readonly');
    const first = run(trainArgs([...NEW_RUN, '--steps', '4', '--out', dir, '--checkpoint-every', '2']));
    expect(first.code, first.stderr).toBe(0);
    const p = runPaths(dir);
    const before = sha(p.checkpoint);

    bindReadOnly(p.checkpointDir);
    const r = run(trainArgs(['--resume', dir, '--steps', '6', '--checkpoint-every', '2']));
    oneLineError(r, /^fashion-gan: .*checkpoint\/latest\.fgck: the file system is read-only$/);
    expect(sha(p.checkpoint)).toBe(before);
    unmount(p.checkpointDir);

    bindReadOnly(p.history);
    const h = run(trainArgs(['--resume', dir, '--steps', '6']));
    oneLineError(h, /^fashion-gan: .*history\.jsonl: the file system is read-only$/);
    expect(sha(p.checkpoint)).toBe(before);
    expect(fs.existsSync(p.lock)).toBe(false);
    unmount(p.history);

    const ok = run(trainArgs(['--resume', dir, '--steps', '6']));
    expect(ok.code, ok.stderr).toBe(0);
    expect(strictHistory(dir).map((row) => row.step)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
