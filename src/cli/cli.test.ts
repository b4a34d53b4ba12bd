import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeTinyFashion } from '../../test/fixtures';
import { decodePng } from '../output/image';
import { loadCheckpoint } from '../training/checkpoint';
import { readJsonl } from '../run/jsonl';
import { runPaths } from '../run/paths';

const BIN = path.resolve(__dirname, '../../bin/fashion-gan.js');
const tmp = tempDir();
const dataDir = path.join(tmp.dir, 'data');

function run(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp.dir, encoding: 'utf8', env: { ...process.env, FASHION_GAN_DATA: '' }, timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => writeTinyFashion(dataDir, 24, 12));
afterAll(tmp.cleanup);

describe('the command line', () => {
  it('data --json prints the documented shape', () => {
    const r = run(['data', '--dataset', 'fashion-mnist', '--data-dir', dataDir, '--class', 'trouser', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(['dataset', 'source', 'train', 'test']);
    expect(out.train).toMatchObject({ count: 3, shape: [3, 28, 28, 1], classCounts: [0, 3, 0, 0, 0, 0, 0, 0, 0, 0] });
    expect(typeof out.test.mean).toBe('number');
  });

  it('summary --json gives the seed\'s parameter counts', () => {
    const r = run(['summary', '--preset', 'fmnist-lms', '--json']);
    expect(JSON.parse(r.stdout)).toEqual({ preset: 'fmnist-lms', generator: { params: 2330944 }, discriminator: { params: 212865 } });
    const table = run(['summary', '--preset', 'cifar-chollet4x4']);
    expect(table.stdout).toMatch(/conv2d_transpose|Conv2DTranspose/i);
    expect(table.stdout).toContain('1,624,832');
  });

  it.each([
    [['train', '--steps', '-3'], /--steps <n>' argument '-3' is invalid. must be a whole number from 1/],
    [['train', '--preset', 'nope', '--steps', '1'], /--preset nope: unknown preset \(allowed: fmnist-lms/],
    [['train', '--batch-size', '0', '--steps', '1'], /--batch-size <n>' argument '0' is invalid/],
    [['train', '--class', 'hat', '--steps', '1', '--data-dir', dataDir], /--class hat: unknown class for fashion-mnist/],
    [['train', '--dropout', '1.5', '--steps', '1'], /--dropout <p>' argument '1.5' is invalid. must be a number ≥ 0 and < 1/],
    [['train', '--backend', 'gpu', '--steps', '1'], /--backend <name>' argument 'gpu' is invalid. Allowed choices are auto, tensorflow, native, wasm, cpu/],
    [['train', '--dataset', 'cifar10', '--steps', '1'], /--dataset cifar10: preset fashion makes 28×28×1 images/],
    [['train', '--resume', 'runs/x', '--preset', 'cifar-lms'], /--resume continues a run as it was configured; drop --preset/],
    [['data', '--data-dir', '/nonexistent'], /--data-dir \/nonexistent: no such directory/],
    [['generate', '--run', 'nowhere'], /--run nowhere: no such run folder/],
    [['generate', '--count', '0'], /--count <n>' argument '0' is invalid/],
  ])('rejects %j with one line saying what is allowed', (args, message) => {
    const r = run(args);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('trains, continues and generates end to end', () => {
    const out = path.join(tmp.dir, 'runs', 'e2e');
    const common = ['--data-dir', dataDir, '--backend', 'wasm'];
    const first = run(['train', '--preset', 'fmnist-lms', '--filters-scale', '0.125', '--batch-size', '8', '--steps', '2', '--seed', '4', '--out', out, ...common]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/done: step 2/);
    expect(first.stderr).toContain(`--resume ${path.relative(tmp.dir, out)}`);
    const second = run(['train', '--resume', out, '--steps', '3', ...common]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/resumed .* at step 2/);
    const png = path.join(tmp.dir, 'designs.png');
    const gen = run(['generate', '--run', out, '--count', '9', '--seed', '5', '--out', png]);
    expect(gen.code, gen.stderr).toBe(0);
    const img = decodePng(fs.readFileSync(png));
    expect(img.width).toBe(3 * (28 * 3 + 2) + 2);
    const strip = run(['generate', '--run', out, '--count', '6', '--interpolate', '--out', path.join(tmp.dir, 'strip.png')]);
    expect(strip.code, strip.stderr).toBe(0);
    expect(decodePng(fs.readFileSync(path.join(tmp.dir, 'strip.png'))).width).toBe(6 * (28 * 3 + 2) + 2);
  });

  it('Ctrl-C finishes the step, saves a checkpoint and exits 130', async () => {
    const out = path.join(tmp.dir, 'runs', 'sigint');
    const child = spawn(process.execPath, [BIN, 'train', '--filters-scale', '0.125', '--batch-size', '8', '--steps', '100000', '--out', out, '--data-dir', dataDir, '--backend', 'wasm'], { cwd: tmp.dir });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const history = runPaths(out).history;
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const deadline = Date.now() + 120_000;
    while (!(fs.existsSync(history) && readJsonl(history).length >= 3)) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`training did not start: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await exited;
    clearTimeout(timer);
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/Ctrl-C: finishing this step and saving a checkpoint/);
    expect(stderr).toMatch(/interrupted: step \d+/);
    const steps = readJsonl<{ step: number }>(history).map((h) => h.step);
    expect(loadCheckpoint(runPaths(out).checkpoint).meta.step).toBe(steps[steps.length - 1]);
    expect(fs.existsSync(runPaths(out).lock)).toBe(false);
  });
});
