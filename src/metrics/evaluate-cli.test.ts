import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifierDir } from '../classifier/model';
import { encodeNpy } from '../data/npy';
import { DEFAULT_MODEL_DIR } from '../generate';
import { runCliAsync } from '../../test/cli';

const ready = fs.existsSync(path.join(classifierDir('fashion-mnist'), 'model.json')) && fs.existsSync(path.join(DEFAULT_MODEL_DIR, 'config.json'));
let tmp: string;

const run = (args: string[]) => runCliAsync(args, tmp);

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fashion-gan-evaluate-'));
  // A copy of the shipped model, so evaluate writes its evaluation.json here, not into models/.
  if (ready) fs.cpSync(DEFAULT_MODEL_DIR, path.join(tmp, 'run'), { recursive: true, filter: (f) => !f.endsWith('evaluation.json') });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.runIf(ready)('evaluate and classifier evaluate on the command line', () => {
  it('classifier evaluate --json prints {"testAccuracy"}, the number training.json recorded', async () => {
    const r = await run(['classifier', 'evaluate', '--json']);
    expect(r.code).toBe(0);
    const recorded = JSON.parse(fs.readFileSync(path.join(classifierDir('fashion-mnist'), 'training.json'), 'utf8')).testAccuracy;
    expect(JSON.parse(r.stdout)).toEqual({ testAccuracy: expect.closeTo(recorded, 3) });
  });

  it('evaluate --quick --json prints one object and writes evaluation.json; the table names every number', async () => {
    const r = await run(['evaluate', '--run', 'run', '--quick', '--samples', '100', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    for (const k of ['samples', 'fd', 'fdFloor', 'kid', 'kidStd', 'recognisability', 'classifierScore', 'coverage']) expect(out, k).toHaveProperty(k);
    expect(out.samples).toBe(100);
    // Class fidelity's yardstick is the same share for real test images: the classifier's test accuracy.
    const recorded = JSON.parse(fs.readFileSync(path.join(classifierDir('fashion-mnist'), 'training.json'), 'utf8')).testAccuracy;
    expect(out.classFidelityReal).toBeCloseTo(recorded, 3);
    expect(out.classFidelityRealPerClass).toHaveLength(10);
    expect(out.classFidelityRealPerClass.reduce((a: number, b: number) => a + b, 0) / 10).toBeCloseTo(recorded, 3); // 1,000 test images per class
    const saved = JSON.parse(fs.readFileSync(path.join(tmp, 'run', 'evaluation.json'), 'utf8'));
    expect(saved).toMatchObject({ run: 'run', seed: 1000000, fd: out.fd, samples: 100 });
    const table = await run(['evaluate', '--run', 'run', '--samples', '100', '--metrics', 'precisionRecall']);
    expect(table.code).toBe(0);
    for (const row of ['FD', 'KID', 'recognisability', 'classifier score', 'precision / recall', 'coverage', 'class fidelity', 'real test images: ', 'per class']) expect(table.stdout).toContain(row);
    expect(table.stdout).not.toContain('memorisation');
  });

  it('evaluate --metrics novelty: the memorisation rate and the data-copying test, in JSON and in the table', async () => {
    const novelty = await run(['evaluate', '--run', 'run', '--samples', '300', '--metrics', 'novelty', '--json']);
    expect(novelty.code, novelty.stderr).toBe(0);
    const n = JSON.parse(novelty.stdout);
    expect(n.memorisationRate).toBeGreaterThanOrEqual(0);
    expect(n.memorisationRate).toBeLessThan(0.05);
    expect(n.dataCopyingPerClass).toHaveLength(10); // null where a class had under 20 samples
    expect(n.dataCopying).toBeGreaterThan(-3); // the shipped model does not copy
    const rows = await run(['evaluate', '--run', 'run', '--samples', '300', '--metrics', 'novelty']);
    for (const row of ['memorisation rate', 'data-copying z', 'nearest-train distance']) expect(rows.stdout).toContain(row);
  });

  it('evaluate without --run prints the FD among its yardsticks and writes nothing into models/', async () => {
    const shipped = path.join(DEFAULT_MODEL_DIR, 'evaluation.json');
    const before = fs.existsSync(shipped) ? fs.readFileSync(shipped) : null;
    const listing = fs.readdirSync(DEFAULT_MODEL_DIR).sort();
    const r = await run(['evaluate', '--quick', '--samples', '100']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^FD \d+\.\d\d {2}\(real \d+\.\d+ · pixelated \d+\.\d+ · blurred \d+\.\d+ · noisy \d+\.\d+\)$/m);
    expect(fs.readdirSync(DEFAULT_MODEL_DIR).sort()).toEqual(listing);
    expect(fs.existsSync(shipped) ? fs.readFileSync(shipped) : null).toEqual(before);
    expect(r.stderr).toMatch(/--out FILE keeps the result/);
  });

  it('evaluate --truncation samples truncated latents, says so, and leaves the run\'s evaluation.json alone', async () => {
    const saved = path.join(tmp, 'run', 'evaluation.json');
    const plain = await run(['evaluate', '--run', 'run', '--quick', '--samples', '200', '--json']);
    expect(plain.code, plain.stderr).toBe(0);
    const before = fs.readFileSync(saved, 'utf8');
    const r = await run(['evaluate', '--run', 'run', '--quick', '--samples', '200', '--truncation', '0.5', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(saved, 'utf8')).toBe(before);
    const [a, b] = [JSON.parse(plain.stdout), JSON.parse(r.stdout)];
    expect(b.fd).not.toBe(a.fd); // other samples
    // Typical designs: the classifier is surer of them.
    expect(b.recognisability).toBeGreaterThan(a.recognisability);
    const out = await run(['evaluate', '--run', 'run', '--quick', '--samples', '200', '--truncation', '0.5', '--out', 'truncated.json']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('latents truncated at ±0.5');
    expect(JSON.parse(fs.readFileSync(path.join(tmp, 'truncated.json'), 'utf8'))).toMatchObject({ truncation: 0.5, samples: 200 });
  });

  it('evaluate --out records the step and images seen of the generator it measured, and the yardsticks', async () => {
    const model = path.join(tmp, 'run', 'generator', 'model.json');
    const json = JSON.parse(fs.readFileSync(model, 'utf8'));
    fs.writeFileSync(model, JSON.stringify({ ...json, userDefinedMetadata: { fashionGan: { step: 1234, epoch: 1, imagesSeen: 78976 } } }));
    const r = await run(['evaluate', '--run', 'run', '--quick', '--samples', '100', '--out', 'elsewhere.json', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const saved = JSON.parse(fs.readFileSync(path.join(tmp, 'elsewhere.json'), 'utf8'));
    expect(saved).toMatchObject({ step: 1234, epoch: 1, imagesSeen: 78976, samples: 100, classifier: { weights: expect.stringMatching(/^[0-9a-f]{16}$/) } });
    expect(Object.keys(saved.yardsticks).sort()).toEqual(['blurred', 'noisy', 'pixelated', 'real']);
    expect(JSON.parse(r.stdout).yardsticks).toEqual(saved.yardsticks);
  });

  it('evaluate --images measures designs saved by generate --out x.npy as evaluate --run measures the same designs', async () => {
    const gen = await run(['generate', '--run', 'run', '--count', '300', '--seed', '1000000', '--out', 'designs.npy', '--json']);
    expect(gen.code, gen.stderr).toBe(0);
    expect(JSON.parse(gen.stdout).files).toEqual(['designs.npy', 'designs-labels.npy']);
    const [direct, saved] = await Promise.all([
      run(['evaluate', '--run', 'run', '--quick', '--samples', '300', '--json', '--out', 'direct.json']),
      run(['evaluate', '--images', 'designs.npy', '--labels', 'designs-labels.npy', '--quick', '--json']),
    ]);
    expect(saved.code, saved.stderr).toBe(0);
    const [a, b] = [JSON.parse(direct.stdout), JSON.parse(saved.stdout)];
    expect(b.samples).toBe(300);
    // The same designs, rounded to 8 bits: every number within a hair of the direct one.
    expect(Math.abs(b.fd - a.fd)).toBeLessThan(0.02 * a.fd + 0.01);
    expect(b.recognisability).toBeCloseTo(a.recognisability, 2);
    expect(Math.abs(b.classFidelity - a.classFidelity)).toBeLessThanOrEqual(2 / 300);
    expect(b.fdFloor).toBe(a.fdFloor);
  });

  it('evaluate --images of real test images (IDX, as shipped) gives the known answers: FD below the floor, fidelity = the classifier\'s accuracy', async () => {
    const data = path.resolve(__dirname, '../../data/fashion-mnist');
    const r = await run(['evaluate', '--images', path.join(data, 't10k-images-idx3-ubyte.gz'), '--labels', path.join(data, 't10k-labels-idx1-ubyte.gz'), '--samples', '1000', '--quick', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.samples).toBe(1000);
    // Part of the reference set itself: nearer it than as many unseen training images are.
    expect(out.fd).toBeLessThan(out.fdFloor);
    expect(out.classFidelity).toBeGreaterThan(0.88);
    expect(Math.abs(out.classFidelity - out.classFidelityReal)).toBeLessThan(0.03);
    const table = await run(['evaluate', '--images', path.join(data, 't10k-images-idx3-ubyte.gz'), '--samples', '100', '--quick']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/t10k-images-idx3-ubyte\.gz: 100 images/);
    expect(table.stdout).not.toContain('class fidelity'); // no labels, no requests to honour
  });

  it('evaluate --images refuses what does not fit in one line', async () => {
    fs.writeFileSync(path.join(tmp, 'flat.npy'), encodeNpy(new Uint8Array(4 * 784), [4, 784]));
    for (const [args, message] of [
      [['--images', 'flat.npy'], /^fashion-gan: flat\.npy: shape \(4, 784\) is not 28×28×1 images \(allowed: \[n, 28, 28\], \[n, 28, 28, 1\] or \[n, 1, 28, 28\]\)$/m],
      [['--images', 'designs.npy', '--run', 'run'], /^fashion-gan: --run does not go with --images/m],
      [['--labels', 'designs-labels.npy'], /^fashion-gan: --labels goes with --images/m],
      [['--images', 'designs.npy', '--dataset', 'mnist'], /option '--dataset <name>' argument 'mnist' is invalid\. Allowed choices are fashion-mnist, cifar10\./],
      [['--images', 'designs.npy', '--dataset', 'cifar10'], /designs\.npy: shape \(300, 28, 28\) is not 32×32×3 images/],
    ] as const) {
      const r = await run(['evaluate', ...args]);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('bad options are one-line errors naming the option and what is allowed', async () => {
    const bad = await run(['evaluate', '--run', 'run', '--metrics', 'fid']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^fashion-gan: --metrics fid: unknown metric "fid" \(allowed: fd, .*novelty\)$/m);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const model = await run(['classifier', 'evaluate', '--model', 'nope']);
    expect(model.code).toBe(1);
    expect(model.stderr.trim()).toBe('fashion-gan: --model nope: no model.json there (expected a folder written by `fashion-gan classifier train --out DIR`)');
  });
});
