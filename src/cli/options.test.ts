/**
 * Every option of train, generate, data, summary and bench rejects nonsense with one line saying
 * what is allowed, a non-zero exit code and no stack trace. In-process through main() (fast);
 * cli.test.ts covers the spawned binary.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeTinyFashion } from '../../test/fixtures';
import { main } from './main';

const tmp = tempDir();
const dataDir = path.join(tmp.dir, 'data');
const aFile = path.join(tmp.dir, 'a-file');
const notARun = path.join(tmp.dir, 'not-a-run');

beforeAll(() => {
  writeTinyFashion(dataDir, 24, 12);
  fs.writeFileSync(aFile, 'x');
  fs.mkdirSync(notARun);
  fs.writeFileSync(path.join(notARun, 'notes.txt'), 'hello');
});
afterAll(tmp.cleanup);

/** Runs the CLI in-process, capturing what it writes. */
async function cli(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  const saved = { err: process.stderr.write, out: process.stdout.write, cwd: process.cwd() };
  process.stderr.write = ((s: string | Uint8Array) => ((stderr += String(s)), true)) as typeof process.stderr.write;
  process.stdout.write = ((s: string | Uint8Array) => ((stdout += String(s)), true)) as typeof process.stdout.write;
  process.chdir(tmp.dir);
  try {
    const code = await main(['node', 'fashion-gan', ...args]);
    return { code, stderr, stdout };
  } finally {
    process.stderr.write = saved.err;
    process.stdout.write = saved.out;
    process.chdir(saved.cwd);
  }
}

/** The error line: commander's "error: …" or our "fashion-gan: …" (the backend banner may precede it). */
function expectOneLineRejection(r: { code: number; stderr: string }, message: RegExp) {
  expect(r.code, r.stderr).not.toBe(0);
  const lines = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('backend: '));
  expect(lines.length, r.stderr).toBeGreaterThanOrEqual(1);
  expect(lines[0], r.stderr).toMatch(message);
  expect(lines[0]).toMatch(/^(error: |fashion-gan: )/);
  // At most commander's hints after it: never a stack trace or "--verbose for the stack".
  expect(lines.slice(1).every((l) => l === '(run with --help for usage)' || /^\(Did you mean [\w-]+\?\)$/.test(l)), r.stderr).toBe(true);
  expect(r.stderr).not.toMatch(/\n\s+at |--verbose/);
}

const whole = (min: number, max?: number) => new RegExp(`is invalid\\. must be a whole number from ${min} to ${max ?? '\\d+'}\\.`);
const number = (range: string) => new RegExp(`is invalid\\. must be a number ${range.replace(/[.*+?()[\]\\]/g, '\\$&')}\\.`);
const choices = (list: string) => new RegExp(`is invalid\\. Allowed choices are ${list}\\.`);

// Each row: argv, the message. `train` rows add nothing that would reach the data or a backend.
const TRAIN: [string[], RegExp][] = [
  ...['-3', '0', 'abc', '1.5', '1e3', '', ' ', '99999999999999999999'].map((v): [string[], RegExp] => [['--steps', v], whole(1)]),
  ...['0', '-1', 'x', '2.5'].map((v): [string[], RegExp] => [['--epochs', v], whole(1)]),
  ...['0', '-1', 'abc', 'Infinity', 'NaN', '1e7', ''].map((v): [string[], RegExp] => [['--minutes', v], number('> 0 and ≤ 1000000')]),
  ...['0', '-8', '65537', 'x', '8.5'].map((v): [string[], RegExp] => [['--batch-size', v], whole(1, 65536)]),
  ...['-1', '4294967296', '1.5', 'x'].map((v): [string[], RegExp] => [['--seed', v], whole(0, 4294967295)]),
  ...['0', '-2', 'x'].map((v): [string[], RegExp] => [['--sample-every', v], whole(1)]),
  ...['0', '-2', 'x'].map((v): [string[], RegExp] => [['--checkpoint-every', v], whole(1)]),
  ...['0', '16', 'x'].map((v): [string[], RegExp] => [['--kernel-size', v], whole(1, 15)]),
  ...['-0.1', '1.1', 'x'].map((v): [string[], RegExp] => [['--leaky-slope', v], number('≥ 0 and ≤ 1')]),
  ...['1', '-0.1', 'x'].map((v): [string[], RegExp] => [['--dropout', v], number('≥ 0 and < 1')]),
  ...['0', '4097', 'x'].map((v): [string[], RegExp] => [['--latent-dim', v], whole(1, 4096)]),
  ...['0', '17', '-1', 'x'].map((v): [string[], RegExp] => [['--filters-scale', v], number('> 0 and ≤ 16')]),
  ...['0', '1.5', 'x'].map((v): [string[], RegExp] => [['--lr', v], number('> 0 and ≤ 1')]),
  ...['0', '2', 'x'].map((v): [string[], RegExp] => [['--lr-d', v], number('> 0 and ≤ 1')]),
  ...['1', '-0.1', 'x'].map((v): [string[], RegExp] => [['--beta1', v], number('≥ 0 and < 1')]),
  ...['1', '-0.1', 'x'].map((v): [string[], RegExp] => [['--beta2', v], number('≥ 0 and < 1')]),
  ...['0', '17', 'x'].map((v): [string[], RegExp] => [['--g-filters-scale', v], number('> 0 and ≤ 16')]),
  ...['0', '17', 'x'].map((v): [string[], RegExp] => [['--d-filters-scale', v], number('> 0 and ≤ 16')]),
  [['--preset', 'fmnist-lms', '--class-batch-norm', '--steps', '1'], /--class-batch-norm needs a conditional model \(--conditional\)/],
  [['--preset', 'fmnist-lms', '--aux-classifier', '0.5', '--steps', '1'], /--aux-classifier needs a conditional model \(--conditional\)/],
  ...['-0.1', '11', 'x'].map((v): [string[], RegExp] => [['--aux-classifier', v], number('≥ 0 and ≤ 10')]),
  ...['-1', '10001', 'x'].map((v): [string[], RegExp] => [['--gp-weight', v], number('≥ 0 and ≤ 10000')]),
  ...['0.5', '-0.1', 'x'].map((v): [string[], RegExp] => [['--label-smoothing', v], number('≥ 0 and < 0.5')]),
  ...['1', '-0.1', 'x'].map((v): [string[], RegExp] => [['--ema', v], number('≥ 0 and < 1')]),
  [['--diff-augment', 'flip'], /allowed: a comma list of translation, cutout, color/],
  [['--diff-augment', 'translation,bogus'], /allowed: a comma list of translation, cutout, color/],
  [['--init', 'he'], choices('glorot, normal02')],
  [['--loss', 'mse'], choices('bce, hinge, lsgan, wgan-gp')],
  [['--dataset', 'mnist'], choices('fashion-mnist, cifar10')],
  [['--backend', 'gpu'], choices('auto, tensorflow, native, wasm, cpu')],
  [['--preset', 'nope', '--steps', '1'], /--preset nope: unknown preset \(allowed: fmnist-lms/],
  [['--dataset', 'cifar10', '--steps', '1'], /--dataset cifar10: preset fashion makes 28×28×1 images, cifar10 has 32×32×3/],
  [['--class', 'hat', '--steps', '1'], /--class hat: unknown class for fashion-mnist \(allowed: 0–9 or "T-shirt\/top"/],
  [['--class', '10', '--steps', '1'], /--class 10: unknown class for fashion-mnist \(allowed: 0–9/],
  [['--class', '-1', '--steps', '1'], /--class -1: unknown class/],
  [['--preset', 'cifar-lms', '--class', 'sneaker', '--steps', '1'], /--class sneaker: unknown class for cifar10 \(allowed: 0–9 or "airplane"/],
  [['--out', 'runs/a', '--resume', 'runs/b'], /--resume continues a run as it was configured; drop --out/],
  [['--resume', 'runs/b', '--lr', '0.1', '--batch-size', '4'], /drop --batch-size, --lr/],
  [['--resume', 'runs/b', '--init-from', 'runs/a'], /drop --init-from/],
  [['--bogus'], /unknown option '--bogus'/],
  [['extra'], /too many arguments for 'train'\. Expected 0 arguments but got 1/],
  [['--spectral-norm', 'yes'], /too many arguments for 'train'/],
  [['--steps'], /option '--steps <n>' argument missing/],
];

describe('train rejects nonsense', () => {
  it.each(TRAIN)('train %j', async (args, message) => {
    expectOneLineRejection(await cli(['train', ...args]), message);
  });

  // These get as far as train() (a backend starts first; cpu is the cheapest).
  it.each([
    [['--resume', notARun], /not-a-run\/config\.json: no such file \(is this a run folder\?\)/],
    [['--resume', path.join(tmp.dir, 'nowhere')], /--resume .*nowhere: no such run folder/],
    [['--steps', '1', '--data-dir', dataDir, '--out', path.join(tmp.dir, 'warm'), '--init-from', path.join(tmp.dir, 'nowhere')], /--init-from .*nowhere: no such run folder/],
    [['--steps', '1', '--data-dir', dataDir, '--out', path.join(tmp.dir, 'warm'), '--init-from', notARun], /--init-from .*not-a-run: not a run folder \(no config\.json\)/],
    [['--steps', '1', '--data-dir', path.join(tmp.dir, 'nowhere')], /--data-dir .*nowhere: no such directory/],
    [['--steps', '1', '--data-dir', aFile], /--data-dir .*a-file: Fashion-MNIST not found \(need train-images-idx3-ubyte/],
    [['--steps', '1', '--data-dir', notARun], /Fashion-MNIST not found/],
  ])('train %j', async (args, message) => {
    expectOneLineRejection(await cli(['train', '--backend', 'cpu', ...args]), message);
  });

  // Known gaps (changes for loop.ts / commands.ts are in the issue 6 report). `it.fails` passes
  // while the gap exists; when it is fixed the test fails: make it a plain `it` then.
  it('train --out FILE (an existing file) is a one-line UserError [gap: raw EEXIST]', async () => {
    expectOneLineRejection(await cli(['train', '--backend', 'cpu', '--steps', '1', '--data-dir', dataDir, '--out', aFile]), /--out .*a-file: .*not a folder/);
  });
  it('train --resume "" is refused [gap: runDir "" → raw ENOENT mkdir]', async () => {
    expectOneLineRejection(await cli(['train', '--backend', 'cpu', '--steps', '1', '--data-dir', dataDir, '--resume', '']), /--resume/);
  });
});

describe('generate rejects nonsense', () => {
  it.each([
    ...['0', '-1', '50001', 'x', '2.5'].map((v): [string[], RegExp] => [['--count', v], whole(1, 50000)]),
    [['--count', '4097'], /--count 4097: a PNG grid holds at most 4096 designs \(a \.npy file up to 50000\)/],
    ...['-1', '4294967296', 'x'].map((v): [string[], RegExp] => [['--seed', v], whole(0, 4294967295)]),
    ...['0', '-0.5', '11', 'x', ''].map((v): [string[], RegExp] => [['--truncation', v], number('> 0 and ≤ 10')]),
    [['--backend', 'gpu'], choices('auto, tensorflow, native, wasm, cpu')],
    [['--out', 'designs.jpg'], /--out designs\.jpg: must be a \.png file \(a grid\) or a \.npy file/],
    [['--bogus'], /unknown option '--bogus'/],
    [['--interpolate', 'yes'], /too many arguments for 'generate'/],
  ])('generate %j', async (args, message) => {
    expectOneLineRejection(await cli(['generate', ...args]), message);
  });

  it.each([
    [['--run', path.join(tmp.dir, 'nowhere')], /--run .*nowhere: no such run folder/],
    [['--run', notARun], /not-a-run\/config\.json: no such file \(is this a run folder\?\)/],
    [['--run', notARun, '--class', 'sneaker'], /not-a-run\/config\.json: no such file/],
    [['--run', aFile], /a-file\/config\.json: no such file/],
  ])('generate %j', async (args, message) => {
    expectOneLineRejection(await cli(['generate', '--backend', 'cpu', '--out', path.join(tmp.dir, 'g.png'), ...args]), message);
  });
});

describe('data rejects nonsense', () => {
  it.each([
    [['--dataset', 'mnist'], choices('fashion-mnist, cifar10')],
    [['--data-dir', '/nonexistent'], /--data-dir \/nonexistent: no such directory/],
    [['--data-dir', aFile], /Fashion-MNIST not found/],
    [['--data-dir', dataDir, '--class', 'hat'], /--class hat: unknown class for fashion-mnist \(allowed: 0–9/],
    [['--data-dir', dataDir, '--class', '10'], /--class 10: unknown class/],
    [['--dataset', 'cifar10', '--data-dir', dataDir], /CIFAR-10 not found \(need data_batch_1\.bin/],
    [['--bogus'], /unknown option '--bogus'/],
  ])('data %j', async (args, message) => {
    expectOneLineRejection(await cli(['data', ...args]), message);
  });
});

describe('summary rejects nonsense', () => {
  it.each([
    // (no --preset: the default preset, as train uses; cli-conventions.test.ts checks it)
    [['--bogus'], /unknown option '--bogus'/],
    [['--preset', 'nope'], /--preset nope: unknown preset \(allowed: fmnist-lms/],
    [['--preset'], /option '--preset <name>' argument missing/],
    [['--preset', 'fmnist-lms', 'extra'], /too many arguments for 'summary'/],
  ])('summary %j', async (args, message) => {
    expectOneLineRejection(await cli(['summary', ...args]), message);
  });
});

describe('bench rejects nonsense', () => {
  it.each([
    ...['0', '-1', '65537', 'x'].map((v): [string[], RegExp] => [['--batch-size', v], whole(1, 65536)]),
    ...['0', '1001', 'x'].map((v): [string[], RegExp] => [['--steps', v], whole(1, 1000)]),
    ...['0', '101', '1.5'].map((v): [string[], RegExp] => [['--rounds', v], whole(1, 100)]),
    [['--preset', 'nope'], /--preset nope: unknown preset/],
    [['--backend', 'gpu'], /--backend gpu: unknown backend \(allowed: native, native-builtin, native-openblas, wasm, cpu, tensorflow\)/],
    [['--backend', 'wasm,gpu'], /--backend gpu: unknown backend/],
  ])('bench %j', async (args, message) => {
    expectOneLineRejection(await cli(['bench', '--no-torch', ...args]), message);
  });

  it('bench --backend "," (nothing to measure) is refused [gap: exits 0 having measured nothing]', async () => {
    expectOneLineRejection(await cli(['bench', '--no-torch', '--backend', ',']), /--backend/);
  });
});

it('an unknown command is one line too', async () => {
  expectOneLineRejection(await cli(['trian']), /unknown command 'trian'/);
});
