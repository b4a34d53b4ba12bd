/**
 * "Nothing lost" on a full or read-only disk: real tmpfs mounts filled up (ENOSPC) and read-only
 * bind mounts (EROFS) under the real CLI; one line, the previous state kept, the run finishes
 * bit-identical once there is room again.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../src/training/checkpoint';
import { runPaths } from '../src/run/paths';
import { crashBench, expectSameCheckpoint, NEW_RUN, sha, strictHistory, tempFiles, withoutSeconds, type Exit } from './crash-harness';

const { tmp, bigDataDir, trainArgs, run, writeData } = crashBench('fashion-gan-disk-');
beforeAll(writeData);
afterAll(tmp.cleanup);


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
    // The step's export is written first, then its checkpoint: either may be the write that fails.
    oneLineError(r, /^fashion-gan: .*(generator\/weights\.bin|checkpoint\/latest\.fgck): no space left on the device; the previous version is kept$/);
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

