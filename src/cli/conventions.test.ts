/**
 * Conventions people expect of a command line, from the real CLI: --version, a `runs` listing,
 * --json results, a --config file, an end-of-training summary, paths shown one way, examples
 * in every --help, and a README that says what --help says.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, TINY, waitFor } from '../../test/cli';
import { tempDir, writeTinyFashion } from '../../test/fixtures';
import { readRunConfig } from '../run/config';
import { readJsonl } from '../run/jsonl';
import { runPaths } from '../run/paths';
import { buildProgram, main } from './main';

/** Runs the CLI in-process (as bin/fashion-gan.js does), capturing stdout; for --help, which only prints. */
async function helpOf(args: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const write = process.stdout.write;
  process.stdout.write = ((s: string | Uint8Array) => ((stdout += String(s)), true)) as typeof process.stdout.write;
  try {
    return { code: await main(['node', 'fashion-gan', ...args]), stdout };
  } finally {
    process.stdout.write = write;
  }
}

const REPO = path.resolve(__dirname, '../..');
const tmp = tempDir();
const dataDir = path.join(tmp.dir, 'data');
const run = (args: string[]) => runCli(args, tmp.dir);
const data = ['--data-dir', dataDir];
const finished = path.join(tmp.dir, 'runs', 'finished');

beforeAll(() => {
  writeTinyFashion(dataDir, 24, 12);
  const r = run(['train', ...TINY, ...data, '--steps', '2', '--out', finished]);
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(tmp.cleanup);

describe('--version', () => {
  it('prints the version of package.json, as -V too', () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
    for (const flag of ['--version', '-V']) {
      const r = run([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
    const typo = run(['--versoin']);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/^error: unknown option '--versoin'/);
  });
});

describe('train ends with a summary', () => {
  it('steps, epochs, images, speed, final losses and accuracies, the last grid and the checkpoint', () => {
    const r = run(['train', '--resume', finished, ...data, '--backend', 'wasm', '--steps', '4']);
    expect(r.code, r.stderr).toBe(0);
    const rel = path.relative(tmp.dir, finished);
    expect(r.stderr).toMatch(/^done: step 4 \(1\.33 epochs\) in \d+s — target 4 steps reached$/m);
    expect(r.stderr).toMatch(/^ {2}32 images seen, \d+\.\d img\/s$/m);
    expect(r.stderr).toMatch(/^ {2}final \(mean of the last 2 steps\): G loss -?\d+\.\d{3} · D loss \d+\.\d{3} · D accuracy real \d\.\d\d fake \d\.\d\d$/m);
    expect(r.stderr).toContain(`  last grid: ${path.join(rel, 'samples', 'e0002-s00000004.png')} · checkpoint at step 4\n`);
    expect(fs.existsSync(path.join(finished, 'samples', 'e0002-s00000004.png'))).toBe(true);
  });

  it('--json prints the summary as one object on stdout, and nothing else there', () => {
    const dir = path.join(tmp.dir, 'runs', 'json');
    const r = run(['train', ...TINY, ...data, '--steps', '3', '--out', dir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ runDir: path.join('runs', 'json'), stoppedBy: 'target', step: 3, epochs: 1, imagesSeen: 24, target: { steps: 3 }, defaultedTarget: false, checkpointStep: 3, targetReached: true, nextFlags: '--steps 6' });
    expect(Object.keys(s.final).sort()).toEqual(['discLoss', 'fakeAccuracy', 'genLoss', 'realAccuracy', 'steps']);
    expect(s.final.steps).toBe(3);
    const history = readJsonl<{ gen_loss: number }>(runPaths(dir).history);
    expect(s.final.genLoss).toBeCloseTo(history.reduce((a, h) => a + h.gen_loss, 0) / 3, 6);
    expect(fs.existsSync(path.join(tmp.dir, s.lastGrid))).toBe(true);
    expect(r.stderr).not.toContain('run folder:');
  });
});

describe('train --config', () => {
  const config = (name: string, body: unknown) => {
    const f = path.join(tmp.dir, name);
    fs.writeFileSync(f, typeof body === 'string' ? body : JSON.stringify(body));
    return name;
  };

  it('takes the flags\' names as keys; flags given on the command line win', () => {
    const dir = path.join(tmp.dir, 'runs', 'configured');
    const file = config('my-run.json', { preset: 'fmnist-lms', 'filters-scale': 0.125, 'batch-size': 8, steps: 2, seed: 3, backend: 'wasm', 'data-dir': dataDir, out: dir, 'sample-every': 1, 'no-batch-norm': true });
    const r = run(['train', '--config', file, '--steps', '3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^done: step 3 /m);
    const saved = readRunConfig(runPaths(dir).config);
    expect(saved).toMatchObject({ preset: 'fmnist-lms', batchSize: 8, seed: 3, target: { steps: 3 }, cadence: { sampleEvery: 1 } });
    expect(saved.model.generator.project.batchNorm).toBe(false);
  });

  it.each([
    [{ 'batch-size': 0 }, "option '--batch-size <n>' argument '0' is invalid. must be a whole number from 1 to 65536."],
    [{ loss: 'mse' }, "option '--loss <kind>' argument 'mse' is invalid. Allowed choices are bce, hinge, lsgan, wgan-gp."],
    [{ 'diff-augment': ['translation', 'flip'] }, "option '--diff-augment <policy>' argument 'translation,flip' is invalid. allowed: a comma list of translation, cutout, color."],
    [{ batchsize: 8 }, 'unknown key "batchsize" (allowed: preset, dataset, class, data-dir, epochs, steps, minutes, lr-decay-from, batch-size, '],
    [{ 'spectral-norm': 'yes' }, '"spectral-norm": must be true or false (the switch --spectral-norm)'],
    [{ steps: true }, '"steps": true is not a value for --steps <n> (give a number or text)'],
    [[1, 2], 'must hold one JSON object of train options, e.g. {"preset": "fashion", "steps": 2000}'],
    ['{"steps": 2,', 'not valid JSON ('],
  ])('%j is refused with the flag\'s own message, naming the file', (body, message) => {
    const file = config('bad.json', body);
    const r = run(['train', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toContain(`fashion-gan: bad.json: ${message}`);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('the same value as a flag gives the same message; a missing file and a resume clash are one line too', () => {
    const flag = run(['train', '--batch-size', '0']);
    expect(flag.stderr).toContain("option '--batch-size <n>' argument '0' is invalid. must be a whole number from 1 to 65536.");
    expect(run(['train', '--config', 'nowhere.json']).stderr.trim()).toBe('fashion-gan: --config nowhere.json: no such file');
    const clash = run(['train', '--config', config('resume.json', { resume: finished, preset: 'fashion' })]);
    expect(clash.stderr.trim()).toBe('fashion-gan: --resume continues a run as it was configured; drop --preset');
  });
});

describe('runs', () => {
  it('lists each run with its preset, step, epoch, losses, FD and status: training, finished, interrupted', async () => {
    const live = path.join(tmp.dir, 'runs', 'live');
    const a = startCli(['train', ...TINY, ...data, '--steps', '100000', '--out', live], tmp.dir);
    await waitFor(() => fs.existsSync(runPaths(live).history) && readJsonl(runPaths(live).history).length >= 1, a.child, 'the first step');
    fs.mkdirSync(path.join(tmp.dir, 'runs', 'broken'));
    fs.writeFileSync(path.join(tmp.dir, 'runs', 'broken', 'config.json'), '{');
    fs.writeFileSync(runPaths(finished).metrics, `${JSON.stringify({ step: 4, fd: 123.456, imagesSeen: 32 })}\n`);
    const during = run(['runs', '--json']);
    a.child.kill('SIGINT');
    expect((await a.exited).code).toBe(130);
    expect(during.code, during.stderr).toBe(0);
    const byName = Object.fromEntries(JSON.parse(during.stdout).map((r: { name: string }) => [r.name, r]));
    expect(byName.live).toMatchObject({ status: 'training', pid: a.child.pid, preset: 'fmnist-lms', target: { steps: 100000 } });
    expect(byName.finished).toMatchObject({ status: 'finished', preset: 'fmnist-lms', step: 4, checkpointStep: 4, fd: 123.456, fdStep: 4, dir: path.join('runs', 'finished') });
    expect(byName.finished.epochs).toBeCloseTo(4 / 3, 6);
    expect(byName.broken).toMatchObject({ status: 'damaged', problem: expect.stringMatching(/config\.json: not valid JSON/) });

    const after = run(['runs']);
    expect(after.code).toBe(0);
    const table = after.stdout.split('\n');
    expect(table[0]).toMatch(/^run +preset +step +epoch +G loss +D loss +FD@step +status$/);
    expect(table.find((l) => l.startsWith('finished '))).toMatch(/fmnist-lms +4 +1\.33 +-?\d+\.\d{3} +\d+\.\d{3} +123\.46@4 +finished$/);
    expect(table.find((l) => l.startsWith('live '))).toMatch(/interrupted \(target 100,000 steps\)$/);
    expect(table.find((l) => l.startsWith('broken '))).toMatch(/damaged: .*config\.json: not valid JSON/);
  });

  it('a missing folder is one line; an empty one says there are no runs', () => {
    const missing = run(['runs', 'nowhere']);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('fashion-gan: nowhere: no such folder');
    fs.mkdirSync(path.join(tmp.dir, 'empty'));
    const empty = run(['runs', 'empty']);
    expect(empty.code).toBe(0);
    expect(empty.stderr.trim()).toBe('empty: no run folders (train writes runs/NAME)');
    expect(JSON.parse(run(['runs', 'empty', '--json']).stdout)).toEqual([]);
  });
});

describe('messages', () => {
  it('"wrote 1 design", and paths relative inside the current folder, absolute outside it', () => {
    const inside = run(['generate', '--run', finished, '--count', '1', '--out', 'one.png', '--json']);
    expect(inside.code, inside.stderr).toBe(0);
    expect(inside.stderr).toContain(`wrote 1 design to one.png (model: ${path.join('runs', 'finished')}, seed 0)`);
    expect(JSON.parse(inside.stdout)).toEqual({ files: ['one.png'], count: 1, seeds: [0], classes: [null], model: path.join('runs', 'finished'), interpolate: false });
    const sub = path.join(tmp.dir, 'sub');
    fs.mkdirSync(sub);
    const outside = runCli(['generate', '--run', finished, '--count', '2', '--seed', '4', '--out', path.join(tmp.dir, 'two.png')], sub);
    expect(outside.code, outside.stderr).toBe(0);
    expect(outside.stderr).toContain(`wrote 2 designs to ${path.join(tmp.dir, 'two.png')} (model: ${finished}, seeds 4…5)`);
    expect(outside.stderr).not.toContain('..');
    const trained = runCli(['train', ...TINY, ...data, '--steps', '1', '--out', path.join(tmp.dir, 'runs', 'elsewhere')], sub);
    expect(trained.code, trained.stderr).toBe(0);
    expect(trained.stderr).toContain(`run folder: ${path.join(tmp.dir, 'runs', 'elsewhere')}/`);
    expect(trained.stderr).not.toMatch(/\.\.\//);
  });

  it('progress lines fit 80 columns, in a log and on an 80-column terminal', () => {
    const r = run(['train', ...TINY, ...data, '--steps', '3', '--out', path.join(tmp.dir, 'runs', 'log')]);
    const progress = r.stderr.split('\n').filter((l) => l.includes('ETA'));
    expect(progress.length).toBeGreaterThan(0);
    for (const l of progress) expect(l.length, l).toBeLessThanOrEqual(80);
    expect(progress[0]).toMatch(/^step 1\/3 · .* · ETA \d/);

    // A real terminal (util-linux `script` gives the trainer a pseudo-terminal of 80 columns).
    const out = path.join(tmp.dir, 'runs', 'tty');
    const cmd = ['stty cols 80;', process.execPath, path.join(REPO, 'bin', 'fashion-gan.js'), 'train', ...TINY, ...data, '--steps', '12', '--out', out].join(' ');
    const tty = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: tmp.dir, encoding: 'utf8', env: { ...process.env, FASHION_GAN_DATA: '' }, timeout: 240_000 });
    expect(tty.status, tty.stdout).toBe(0);
    // Split where the bar redraws (carriage return, cursor to column 1) and drop other escapes.
    const frames = tty.stdout.replace(/\x1b\[\d*G/g, '\r').replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '').split(/[\r\n]+/).filter((l) => l.includes('ETA'));
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.some((l) => /^[█░]{12} +\d+% · step \d+\/12 · /.test(l)), frames.join('\n')).toBe(true);
    for (const l of frames) expect([...l].length, l).toBeLessThanOrEqual(80);
  });
});

describe('help', () => {
  /** Every command of the program, with its path (e.g. "classifier train"). */
  const commands = () => {
    const out: string[] = [];
    const walk = (c: ReturnType<typeof buildProgram>, prefix: string[]) => {
      for (const sub of c.commands) {
        const name = [...prefix, sub.name()];
        if (sub.commands.length === 0 || sub.name() === 'classifier') out.push(name.join(' '));
        walk(sub, name);
      }
    };
    walk(buildProgram(), []);
    return out;
  };

  it('every command shows examples of itself', async () => {
    const all = commands();
    expect(all).toEqual(expect.arrayContaining(['train', 'generate', 'evaluate', 'compare', 'runs', 'serve', 'data', 'presets', 'summary', 'bench', 'classifier', 'classifier train', 'classifier evaluate']));
    const top = run(['--help']);
    expect(top.stdout).toMatch(/\nExamples:\n {2}fashion-gan /);
    for (const name of all) {
      const r = await helpOf([...name.split(' '), '--help']);
      expect(r.code, name).toBe(0);
      expect(r.stdout, name).toMatch(new RegExp(`\\nExamples:\\n {2}fashion-gan ${name}( |\\n)`));
    }
  });

  it('summary without --preset is the default preset, as train uses', () => {
    const r = run(['summary', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).preset).toBe('fashion');
    expect(run(['train', '--help']).stdout).toMatch(/\(default: "fashion"\)/);
  });

  it('the README lists the backends --help lists', () => {
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const help = run(['train', '--help']).stdout.replace(/\s+/g, ' ');
    const choices = /--backend <name> .*?\(choices: ([^)]*?), default: "auto"\)/.exec(help)![1]!.split(', ').map((c) => JSON.parse(c));
    const documented = /`--backend ([a-z|]+)`/.exec(readme)![1]!.split('|');
    expect(documented).toEqual(choices);
  });

  it('the README opens with its title and one sentence, then the two commands', () => {
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const [title, sentence, block] = readme.split(/\n\n/);
    expect(title).toBe('# fashion-gan');
    expect(sentence!.split('\n').join(' ')).toMatch(/^[A-Z][^]*\.$/);
    expect(sentence!.match(/[.!?](\s|$)/g)).toHaveLength(1);
    expect(block).toBe('```sh\nnpm ci && npm start\nnpm test\n```');
    expect(readme.indexOf('```')).toBe(readme.indexOf(block!));
  });
});
