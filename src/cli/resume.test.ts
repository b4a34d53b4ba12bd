/**
 * A resume that remembers: config.json keeps the run's target and cadences, `train --resume DIR`
 * alone continues to that target, a reached target is said before anything loads, and the
 * footer names the command that goes on. The real CLI, on tiny data (3 steps per epoch).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, TINY, waitFor } from '../../test/cli';
import { tempDir, writeTinyFashion } from '../../test/fixtures';
import { readRunConfig } from '../run/config';
import { readJsonl } from '../run/jsonl';
import { runPaths } from '../run/paths';
import { loadCheckpoint } from '../training/checkpoint';

const tmp = tempDir();
const dataDir = path.join(tmp.dir, 'data');
const run = (args: string[]) => runCli(args, tmp.dir);
const data = ['--data-dir', dataDir];

beforeAll(() => writeTinyFashion(dataDir, 24, 12));
afterAll(tmp.cleanup);

describe('train --resume remembers the run', () => {
  const dir = path.join(tmp.dir, 'runs', 'kept');
  const rel = path.relative(tmp.dir, dir);

  it('an interrupted run suggests a plain --resume, which continues to the saved target', async () => {
    const a = startCli(['train', ...TINY, ...data, '--steps', '60', '--out', dir], tmp.dir);
    await waitFor(() => fs.existsSync(runPaths(dir).history) && readJsonl(runPaths(dir).history).length >= 1, a.child, 'the first step');
    a.child.kill('SIGINT');
    const first = await a.exited;
    expect(first.code, first.stderr).toBe(130);
    const at = loadCheckpoint(runPaths(dir).checkpoint).meta.step as number;
    expect(at).toBeLessThan(60);
    expect(first.stderr).toMatch(new RegExp(`^interrupted: step ${at} .*target 60 steps$`, 'm'));
    expect(first.stderr).toContain(`continue:     npx fashion-gan train --resume ${rel}   (to its target, 60 steps)`);
    expect(first.stderr).not.toMatch(/--resume \S+ --steps/); // not "twice the current step"
    expect(readRunConfig(runPaths(dir).config)).toMatchObject({ target: { steps: 60 }, cadence: { sampleEvery: 50, checkpointEvery: 200 } });

    const second = run(['train', '--resume', rel, ...data, '--backend', 'wasm']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(new RegExp(`resumed ${rel} at step ${at}`));
    expect(second.stderr).toMatch(/^done: step 60 \(20 epochs\) .*target 60 steps reached$/m);
    expect(second.stderr).toContain(`train on:     npx fashion-gan train --resume ${rel} --steps 120`);
    expect(readJsonl<{ step: number }>(runPaths(dir).history).map((h) => h.step)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });

  it('a reached target is said before any backend or data loads', () => {
    for (const extra of [[], ['--steps', '30'], ['--epochs', '20']]) {
      const r = run(['train', '--resume', rel, '--data-dir', path.join(tmp.dir, 'nowhere'), ...extra]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`^${rel}: already at step 60, its target \\(\\d+ (steps|epochs)\\) is reached; to train on: fashion-gan train --resume ${rel} --(steps|epochs) \\d+$`, 'm'));
      expect(r.stderr).not.toMatch(/backend:|data:|no such directory/);
    }
    const json = run(['train', '--resume', rel, '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ runDir: rel, step: 60, target: { steps: 60 }, targetReached: true, next: `fashion-gan train --resume ${rel} --steps 120` });
    // A trainer killed after its last checkpoint leaves its lock: the resume that finds the
    // target reached removes it (a live owner's lock stays).
    fs.writeFileSync(runPaths(dir).lock, '999999999\n');
    expect(run(['train', '--resume', rel]).code).toBe(0);
    expect(fs.existsSync(runPaths(dir).lock)).toBe(false);
    fs.writeFileSync(runPaths(dir).lock, `${process.pid}\n`);
    expect(run(['train', '--resume', rel]).code).toBe(0);
    expect(fs.readFileSync(runPaths(dir).lock, 'utf8')).toBe(`${process.pid}\n`);
    fs.rmSync(runPaths(dir).lock);
  });

  it('--steps, --epochs and --minutes given with --resume extend the target', () => {
    const r = run(['train', '--resume', rel, ...data, '--backend', 'wasm', '--epochs', '21']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^done: step 63 \(21 epochs\)/m);
    expect(r.stderr).toContain(`--resume ${rel} --epochs 42`);
    expect(readRunConfig(runPaths(dir).config).target).toEqual({ epochs: 21 });
  });

  it('a run made before targets were saved asks how long, before anything loads', () => {
    const old = path.join(tmp.dir, 'runs', 'old');
    fs.cpSync(dir, old, { recursive: true });
    const config = JSON.parse(fs.readFileSync(runPaths(old).config, 'utf8'));
    delete config.target;
    fs.writeFileSync(runPaths(old).config, JSON.stringify(config));
    const bad = run(['train', '--resume', old, ...data]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe('fashion-gan: this run was made before its target was saved: say how long to train with --steps, --epochs or --minutes');
    const good = run(['train', '--resume', old, ...data, '--backend', 'wasm', '--steps', '64']);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stderr).toMatch(/^done: step 64/m);
  });
});

describe('cadences and the default target are saved and shown', () => {
  it('--sample-every and --checkpoint-every carry over to a resume', () => {
    const dir = path.join(tmp.dir, 'runs', 'cadence');
    expect(run(['train', ...TINY, ...data, '--steps', '2', '--sample-every', '1', '--checkpoint-every', '2', '--out', dir]).code).toBe(0);
    expect(readRunConfig(runPaths(dir).config).cadence).toEqual({ sampleEvery: 1, checkpointEvery: 2 });
    const r = run(['train', '--resume', dir, ...data, '--backend', 'wasm', '--steps', '5']);
    expect(r.code, r.stderr).toBe(0);
    // Step 4 is neither an epoch end nor the last step: only the saved --sample-every 1 writes it.
    expect(fs.readdirSync(runPaths(dir).samples)).toContain('e0002-s00000004.png');
    const plain = path.join(tmp.dir, 'runs', 'plain');
    expect(run(['train', ...TINY, ...data, '--steps', '5', '--out', plain]).code).toBe(0);
    expect(fs.readdirSync(runPaths(plain).samples)).not.toContain('e0002-s00000004.png');
  });

  it('a time budget reached suggests more minutes', () => {
    const dir = path.join(tmp.dir, 'runs', 'timed');
    const r = run(['train', ...TINY, ...data, '--minutes', '0.01', '--out', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^time budget reached: step \d+/m);
    expect(r.stderr).toContain(`--resume ${path.relative(tmp.dir, dir)} --minutes 0.01`);
  });

  it('a time budget reached short of a step target: --minutes goes on toward it, and its learning-rate decay with it', () => {
    const dir = path.join(tmp.dir, 'runs', 'timed-decay');
    const rel = path.relative(tmp.dir, dir);
    const r = run(['train', ...TINY, ...data, '--steps', '100000', '--lr-decay-from', '0', '--minutes', '0.01', '--out', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`continue:     npx fashion-gan train --resume ${rel} --minutes 0.01   (more time toward its target, 100,000 steps)`);
    const more = run(['train', '--resume', dir, ...data, '--minutes', '0.01']);
    expect(more.code, more.stderr).toBe(0);
    expect(more.stderr).not.toContain('trains at the full learning rate');
    const config = readRunConfig(runPaths(dir).config);
    expect(config.target).toEqual({ steps: 100000, minutes: expect.closeTo(0.02, 1) });
    expect(config.schedule).toEqual({ lrDecayFrom: 0 });
  });

  it('a new run without a target trains 50 epochs, says so, and --help says so too', async () => {
    const help = run(['train', '--help']).stdout.replace(/\s+/g, ' '); // unwrapped
    expect(help).toMatch(/--epochs <n> train until this many epochs in total \(default for a new run: 50 epochs; with --resume: the run's saved target\)/);
    expect(help).toMatch(/--sample-every <n> .*\(default: 50, or what the resumed run saved\)/);
    expect(help).toMatch(/--preset <name> model preset: .*\(default: "fashion"\)/);
    const dir = path.join(tmp.dir, 'runs', 'default');
    const a = startCli(['train', ...TINY, ...data, '--out', dir], tmp.dir);
    await waitFor(() => /training to 50 epochs \(the default; --steps, --epochs or --minutes set another\)/.test(a.stderr()), a.child, 'the default target line');
    a.child.kill('SIGINT');
    expect((await a.exited).code).toBe(130);
    expect(readRunConfig(runPaths(dir).config).target).toEqual({ epochs: 50 });
  });
});

describe('a resume on another backend', () => {
  it('says so in one line, records the change in config.json, and trains on', () => {
    const dir = path.join(tmp.dir, 'runs', 'moved');
    const first = run(['train', ...TINY, ...data, '--steps', '2', '--out', dir]);
    expect(first.code, first.stderr).toBe(0);
    expect(readRunConfig(runPaths(dir).config).backend).toBe('wasm');
    const moved = run(['train', '--resume', dir, ...data, '--steps', '3', '--backend', 'cpu']);
    expect(moved.code, moved.stderr).toBe(0);
    const notes = moved.stderr.split('\n').filter((l) => l.includes('not bit-identical'));
    expect(notes).toEqual(['note: this run trained on wasm until step 2; it continues on cpu, so from here its results are not bit-identical to a run that stayed on wasm']);
    expect(readRunConfig(runPaths(dir).config).backendChanges).toEqual([{ step: 2, from: 'wasm', to: 'cpu', at: expect.any(String) }]);
    expect(loadCheckpoint(runPaths(dir).checkpoint).meta.step).toBe(3);
  });
});
