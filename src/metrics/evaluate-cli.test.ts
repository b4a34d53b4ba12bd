import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifierDir } from '../classifier/model';
import { DEFAULT_MODEL_DIR } from '../generate';

const BIN = path.resolve(__dirname, '../../bin/fashion-gan.js');
const ready = fs.existsSync(path.join(classifierDir('fashion-mnist'), 'model.json')) && fs.existsSync(path.join(DEFAULT_MODEL_DIR, 'config.json'));
let tmp: string;

function run(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp, encoding: 'utf8', env: { ...process.env, FASHION_GAN_DATA: '' }, timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fashion-gan-evaluate-'));
  // A copy of the shipped model, so evaluate writes its evaluation.json here, not into models/.
  if (ready) fs.cpSync(DEFAULT_MODEL_DIR, path.join(tmp, 'run'), { recursive: true, filter: (f) => !f.endsWith('evaluation.json') });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.runIf(ready)('evaluate and classifier evaluate on the command line', () => {
  it('classifier evaluate --json prints {"testAccuracy"}, the number training.json recorded', () => {
    const r = run(['classifier', 'evaluate', '--json']);
    expect(r.code).toBe(0);
    const recorded = JSON.parse(fs.readFileSync(path.join(classifierDir('fashion-mnist'), 'training.json'), 'utf8')).testAccuracy;
    expect(JSON.parse(r.stdout)).toEqual({ testAccuracy: expect.closeTo(recorded, 3) });
  });

  it('evaluate --quick --json prints one object and writes evaluation.json; the table names every number', () => {
    const r = run(['evaluate', '--run', 'run', '--quick', '--samples', '100', '--json']);
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
    const table = run(['evaluate', '--run', 'run', '--samples', '100', '--metrics', 'precisionRecall']);
    expect(table.code).toBe(0);
    for (const row of ['FD', 'KID', 'recognisability', 'classifier score', 'precision / recall', 'coverage', 'class fidelity', 'real test images: ', 'per class']) expect(table.stdout).toContain(row);
    expect(table.stdout).not.toContain('memorisation');
    const novelty = run(['evaluate', '--run', 'run', '--samples', '300', '--metrics', 'novelty', '--json']);
    expect(novelty.code, novelty.stderr).toBe(0);
    const n = JSON.parse(novelty.stdout);
    expect(n.memorisationRate).toBeGreaterThanOrEqual(0);
    expect(n.dataCopyingPerClass).toHaveLength(10); // null where a class had under 20 samples
    const rows = run(['evaluate', '--run', 'run', '--samples', '300', '--metrics', 'novelty']);
    for (const row of ['memorisation rate', 'data-copying z', 'nearest-train distance']) expect(rows.stdout).toContain(row);
  });

  it('evaluate without --run prints the FD among its yardsticks and writes nothing into models/', () => {
    const shipped = path.join(DEFAULT_MODEL_DIR, 'evaluation.json');
    const before = fs.existsSync(shipped) ? fs.readFileSync(shipped) : null;
    const listing = fs.readdirSync(DEFAULT_MODEL_DIR).sort();
    const r = run(['evaluate', '--quick', '--samples', '100']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^FD \d+\.\d\d {2}\(real \d+\.\d+ · pixelated \d+\.\d+ · blurred \d+\.\d+ · noisy \d+\.\d+\)$/m);
    expect(fs.readdirSync(DEFAULT_MODEL_DIR).sort()).toEqual(listing);
    expect(fs.existsSync(shipped) ? fs.readFileSync(shipped) : null).toEqual(before);
    expect(r.stderr).toMatch(/--out FILE keeps the result/);
  });

  it('evaluate --truncation samples truncated latents, says so, and leaves the run\'s evaluation.json alone', () => {
    const saved = path.join(tmp, 'run', 'evaluation.json');
    const plain = run(['evaluate', '--run', 'run', '--quick', '--samples', '200', '--json']);
    expect(plain.code, plain.stderr).toBe(0);
    const before = fs.readFileSync(saved, 'utf8');
    const r = run(['evaluate', '--run', 'run', '--quick', '--samples', '200', '--truncation', '0.5', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(saved, 'utf8')).toBe(before);
    const [a, b] = [JSON.parse(plain.stdout), JSON.parse(r.stdout)];
    expect(b.fd).not.toBe(a.fd); // other samples
    // Typical designs: the classifier is surer of them.
    expect(b.recognisability).toBeGreaterThan(a.recognisability);
    const out = run(['evaluate', '--run', 'run', '--quick', '--samples', '200', '--truncation', '0.5', '--out', 'truncated.json']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('latents truncated at ±0.5');
    expect(JSON.parse(fs.readFileSync(path.join(tmp, 'truncated.json'), 'utf8'))).toMatchObject({ truncation: 0.5, samples: 200 });
  });

  it('evaluate --out records the step and images seen of the generator it measured, and the yardsticks', () => {
    const model = path.join(tmp, 'run', 'generator', 'model.json');
    const json = JSON.parse(fs.readFileSync(model, 'utf8'));
    fs.writeFileSync(model, JSON.stringify({ ...json, userDefinedMetadata: { fashionGan: { step: 1234, epoch: 1, imagesSeen: 78976 } } }));
    const r = run(['evaluate', '--run', 'run', '--quick', '--samples', '100', '--out', 'elsewhere.json', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const saved = JSON.parse(fs.readFileSync(path.join(tmp, 'elsewhere.json'), 'utf8'));
    expect(saved).toMatchObject({ step: 1234, epoch: 1, imagesSeen: 78976, samples: 100, classifier: { weights: expect.stringMatching(/^[0-9a-f]{16}$/) } });
    expect(Object.keys(saved.yardsticks).sort()).toEqual(['blurred', 'noisy', 'pixelated', 'real']);
    expect(JSON.parse(r.stdout).yardsticks).toEqual(saved.yardsticks);
  });

  it('bad options are one-line errors naming the option and what is allowed', () => {
    const bad = run(['evaluate', '--run', 'run', '--metrics', 'fid']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^fashion-gan: --metrics fid: unknown metric "fid" \(allowed: fd, .*novelty\)$/m);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const model = run(['classifier', 'evaluate', '--model', 'nope']);
    expect(model.code).toBe(1);
    expect(model.stderr.trim()).toBe('fashion-gan: --model nope: no model.json there (expected a folder written by `fashion-gan classifier train --out DIR`)');
  });
});
