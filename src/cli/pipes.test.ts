/**
 * A closed pipe (`fashion-gan … | head`) never ends in an EPIPE stack trace: printing commands
 * stop printing and exit 0; a training run stops after a checkpoint, releasing its lock. Real
 * pipes: the CLI's stdout or stderr goes to a reader that closes early.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli, TINY } from '../../test/cli';
import { tempDir, writeTinyFashion } from '../../test/fixtures';
import { readRunConfig } from '../run/config';
import { readJsonl } from '../run/jsonl';
import { runPaths } from '../run/paths';
import { loadCheckpoint } from '../training/checkpoint';

const tmp = tempDir();
const dataDir = path.join(tmp.dir, 'data');

beforeAll(() => writeTinyFashion(dataDir, 24, 12));
afterAll(tmp.cleanup);

/**
 * Runs the CLI with `closed` (stdout or stderr) going to a reader that closes after `after`
 * lines (0: before the CLI writes anything); the other stream is kept whole.
 */
function withClosingReader(args: string[], closed: 'stdout' | 'stderr', after = 0): Promise<{ code: number | null; kept: string; read: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: tmp.dir, env: { ...process.env, FASHION_GAN_DATA: '' } });
  const reader = child[closed];
  const other = closed === 'stdout' ? child.stderr : child.stdout;
  let kept = '';
  let read = '';
  other.on('data', (d) => (kept += d));
  if (after === 0) reader.destroy();
  else {
    reader.on('data', (d) => {
      read += d;
      if (read.split('\n').length > after) reader.destroy(); // like `head -n after`
    });
  }
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, kept, read })));
}

describe('a closed stdout', () => {
  it.each([[['presets']], [['presets', '--json']], [['help', 'train']], [['train', '--help']], [['--version']], [['runs', '--json', tmp.dir]], [['data', '--data-dir', dataDir]]])('%j stops printing and exits 0, no stack trace', async (args) => {
    const r = await withClosingReader(args, 'stdout');
    expect(r.kept).toBe('');
    expect(r.code).toBe(0);
  });

  it('a training run with --json writes its run whole and exits 0', async () => {
    const dir = path.join(tmp.dir, 'json');
    const r = await withClosingReader(['train', ...TINY, '--data-dir', dataDir, '--steps', '2', '--out', dir, '--json'], 'stdout');
    expect(r.code, r.kept).toBe(0);
    expect(r.kept).not.toMatch(/EPIPE|\n\s+at /);
    expect(loadCheckpoint(runPaths(dir).checkpoint).meta.step).toBe(2);
  });
});

describe('a closed stderr', () => {
  it('stops training after the current step with a checkpoint, the lock released, and exit 141', async () => {
    const dir = path.join(tmp.dir, 'piped');
    // `fashion-gan train … 2>&1 | head -1`: the reader goes after the first line (the backend).
    const r = await withClosingReader(['train', ...TINY, '--data-dir', dataDir, '--steps', '100000', '--out', dir], 'stderr', 1);
    expect(r.read).toMatch(/^backend: wasm/);
    expect(r.code).toBe(141);
    const p = runPaths(dir);
    const steps = readJsonl<{ step: number }>(p.history).map((h) => h.step);
    expect(steps.length).toBeGreaterThanOrEqual(1);
    expect(loadCheckpoint(p.checkpoint).meta.step).toBe(steps.at(-1));
    expect(fs.existsSync(p.lock)).toBe(false);
    expect(fs.existsSync(p.historyPng)).toBe(true);
    const last = steps.at(-1)!;
    expect(fs.readdirSync(p.samples)).toContain(`e${String(Math.floor((last - 1) / 3) + 1).padStart(4, '0')}-s${String(last).padStart(8, '0')}.png`); // 3 steps per epoch
    expect(readRunConfig(p.config).target).toEqual({ steps: 100000 });
    // …and it is an interrupted run that a resume continues.
    const status = JSON.parse(runCli(['runs', tmp.dir, '--json'], tmp.dir).stdout).find((s: { name: string }) => s.name === 'piped');
    expect(status).toMatchObject({ status: 'interrupted', checkpointStep: steps.at(-1) });
    const again = runCli(['train', '--resume', dir, '--data-dir', dataDir, '--backend', 'wasm', '--steps', String(steps.at(-1)! + 1)], tmp.dir);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/^done: step \d+/m);
  });

  it('an error message to a closed stderr does not crash either', async () => {
    const r = await withClosingReader(['train', '--steps', '0'], 'stderr');
    expect(r.code).toBe(1);
    expect(r.kept).toBe('');
  });
});
