/**
 * Pictures a person can read, from the real CLI: sample grids captioned with their step,
 * conditional grids one class per column under the class names, interpolation strips that keep
 * a class (or switch halfway, as the app's morph), and compare's FD curves and notes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, TINY, TINY_CONDITIONAL } from '../../test/cli';
import { tempDir, writeTinyFashion } from '../../test/fixtures';
import { decodePng, type Image8 } from '../output/image';
import { runPaths } from '../run/paths';

const tmp = tempDir();
const dataDir = path.join(tmp.dir, 'data');
const run = (args: string[]) => runCli(args, tmp.dir);
const plain = path.join(tmp.dir, 'runs', 'plain');
const cond = path.join(tmp.dir, 'runs', 'cond');
const CELL = 28 * 3 + 2; // a 28×28 image at 3× plus the 2-pixel gap
const png = (file: string) => decodePng(fs.readFileSync(file));

/** The band above a grid of `rows` rows: the image's height minus the grid's. */
const bandOf = (img: Image8, rows: number) => img.height - (rows * CELL + 2);

/** The pixels (red channel) of tile (row, col) of a grid whose band is `band` pixels high. */
function tile(img: Image8, row: number, col: number, band: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < 84; y++) for (let x = 0; x < 84; x++) out.push(img.data[((band + 2 + row * CELL + y) * img.width + 2 + col * CELL + x) * 4]!);
  return out;
}

/** Whether any pixel of rows [y0, y1) is darker than the background (text was drawn there). */
const inked = (img: Image8, y0: number, y1: number) => {
  for (let p = y0 * img.width; p < y1 * img.width; p++) if (img.data[p * 4]! < 128) return true;
  return false;
};

beforeAll(() => {
  writeTinyFashion(dataDir, 24, 12);
  for (const [dir, preset] of [[plain, TINY], [cond, TINY_CONDITIONAL]] as const) {
    const r = run(['train', ...preset, '--data-dir', dataDir, '--steps', '3', '--seed', '2', '--out', dir]);
    if (r.code !== 0) throw new Error(r.stderr);
  }
});
afterAll(tmp.cleanup);

describe('sample grids', () => {
  it('carry their step and epoch above the 4×4 grid', () => {
    const samples = runPaths(plain).samples;
    const [start, end] = ['e0000-s00000000.png', 'e0001-s00000003.png'].map((f) => png(path.join(samples, f)));
    for (const g of [start!, end!]) {
      expect(g.width).toBe(4 * CELL + 2);
      const band = bandOf(g, 4);
      expect(band).toBeGreaterThan(10);
      expect(inked(g, 0, band)).toBe(true);
    }
    // Different steps, different captions (the images differ too, so compare the bands only).
    const band = bandOf(end!, 4);
    expect(Buffer.from(start!.data.subarray(0, band * start!.width * 4)).equals(Buffer.from(end!.data.subarray(0, band * end!.width * 4)))).toBe(false);
  });

  it('of a conditional model put one class per column, under the class names', () => {
    const g = png(path.join(runPaths(cond).samples, 'e0001-s00000003.png'));
    expect(g.width).toBe(10 * CELL + 2);
    const band = bandOf(g, 2);
    expect(band).toBeGreaterThan(bandOf(png(path.join(runPaths(plain).samples, 'e0001-s00000003.png')), 4)); // a line of class names more
    expect(inked(g, band - 16, band)).toBe(true);
    const gif = fs.readFileSync(runPaths(cond).gif);
    expect(gif.subarray(0, 6).toString()).toBe('GIF89a');
    expect(gif.readUInt16LE(6)).toBe(g.width);
  });
});

describe('generate on a conditional model', () => {
  it('lays a grid out one class per column: design i is class i mod 10, as the app draws it', () => {
    const gridFile = path.join(tmp.dir, 'grid.png');
    const r = run(['generate', '--run', cond, '--seed', '40', '--count', '20', '--out', gridFile, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).classes.slice(0, 11)).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot', 'T-shirt/top']);
    const grid = png(gridFile);
    expect(grid.width).toBe(10 * CELL + 2);
    const band = bandOf(grid, 2);
    expect(inked(grid, 0, band)).toBe(true);
    // Designs 43 and 53 (grid positions 3 and 13) are both dresses: column 3, rows 0 and 1.
    for (const [seed, row] of [[43, 0], [53, 1]] as const) {
      const one = path.join(tmp.dir, `one-${seed}.png`);
      expect(run(['generate', '--run', cond, '--seed', String(seed), '--count', '1', '--class', 'dress', '--out', one]).code).toBe(0);
      const single = png(one);
      expect(tile(grid, row, 3, band)).toEqual(tile(single, 0, 0, bandOf(single, 1)));
    }
  });

  it('--interpolate switches from the first design\'s class to the second\'s halfway (the app\'s morph), or keeps --class', () => {
    const strip = path.join(tmp.dir, 'strip.png');
    const r = run(['generate', '--run', cond, '--interpolate', '--seed', '5', '--count', '9', '--out', strip, '--json']);
    expect(r.code, r.stderr).toBe(0);
    // src/app/explore.js: frame k at t = k / (count − 1) takes design A's class while t < 0.5.
    const expected = Array.from({ length: 9 }, (_, k) => (k / 8 < 0.5 ? 'T-shirt/top' : 'Trouser'));
    expect(JSON.parse(r.stdout)).toMatchObject({ count: 9, seeds: [5, 6], classes: expected });
    const img = png(strip);
    const band = bandOf(img, 1);
    // The ends are designs 5 (class 0) and 6 (class 1) themselves.
    const end = (seed: number, cls: string) => {
      const f = path.join(tmp.dir, `end-${seed}-${cls}.png`);
      expect(run(['generate', '--run', cond, '--seed', String(seed), '--count', '1', '--class', cls, '--out', f]).code).toBe(0);
      const single = png(f);
      return tile(single, 0, 0, bandOf(single, 1));
    };
    expect(tile(img, 0, 0, band)).toEqual(end(5, '0'));
    expect(tile(img, 0, 8, band)).toEqual(end(6, '1'));

    const kept = run(['generate', '--run', cond, '--interpolate', '--seed', '5', '--count', '9', '--class', 'sneaker', '--out', strip, '--json']);
    expect(kept.code, kept.stderr).toBe(0);
    expect(JSON.parse(kept.stdout).classes).toEqual(Array(9).fill('Sneaker'));
    expect(tile(png(strip), 0, 0, bandOf(png(strip), 1))).toEqual(end(5, '7'));
  });

  it('refuses a class the model or its data set does not have', () => {
    const notConditional = run(['generate', '--run', plain, '--class', 'bag', '--out', path.join(tmp.dir, 'x.png')]);
    expect(notConditional.code).toBe(1);
    expect(notConditional.stderr.trim()).toBe(`fashion-gan: --class: the model in ${plain} is not class-conditional`);
    const unknown = run(['generate', '--run', cond, '--class', 'hat', '--out', path.join(tmp.dir, 'x.png')]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^fashion-gan: --class hat: unknown class for fashion-mnist \(allowed: 0–9 or "T-shirt\/top"/);
    expect(fs.existsSync(path.join(tmp.dir, 'x.png'))).toBe(false);
  });

  it('an unconditional grid stays as it was: no caption, √count columns', () => {
    const f = path.join(tmp.dir, 'plain.png');
    expect(run(['generate', '--run', plain, '--count', '9', '--out', f]).code).toBe(0);
    const img = png(f);
    expect([img.width, img.height]).toEqual([3 * CELL + 2, 3 * CELL + 2]);
  });
});

describe('compare', () => {
  const metric = (dir: string, rows: object[]) => fs.writeFileSync(runPaths(dir).metrics, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));

  it('without FD says so instead of "0 images seen"', () => {
    const r = run(['compare', plain, cond, '--out', path.join(tmp.dir, 'cmp0')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^No FD to compare: no run has one \(metrics\.jsonl from `train --eval-every N`, or evaluation\.json .*\)\.$/m);
    expect(r.stderr + fs.readFileSync(path.join(tmp.dir, 'cmp0', 'compare.md'), 'utf8')).not.toMatch(/0 images seen|0\.0 minutes/);
    expect(fs.existsSync(path.join(tmp.dir, 'cmp0', 'fd-curves.png'))).toBe(false);
  });

  it('with FD in one run only names the run without', () => {
    metric(plain, [{ step: 3, epoch: 1, seconds: 4.5, imagesSeen: 24, fd: 320.5 }]);
    const r = run(['compare', plain, cond, '--out', path.join(tmp.dir, 'cmp1'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.note).toMatch(/^FD at equal images and equal time needs an FD in every run; cond has none/);
    expect(out).toMatchObject({ equalImages: null, equalMinutes: null, runs: [{ name: 'plain', finalFd: 320.5, steps: 3 }, { name: 'cond', steps: 3 }] });
    expect(out.runs[1].finalFd).toBeUndefined();
  });

  it('with FD in every run compares at equal images and time, and draws sane axes', () => {
    metric(cond, [{ step: 3, epoch: 1, seconds: 4.473, imagesSeen: 24, fd: 250.25 }]);
    const r = run(['compare', plain, cond, '--out', path.join(tmp.dir, 'cmp2'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.note).toBe('Equal images: 24 images seen; equal time: 0.1 minutes of training (the most every run reached).');
    expect(out).toMatchObject({ equalImages: 24, report: path.join('cmp2', 'compare.md'), curves: path.join('cmp2', 'fd-curves.png') });
    expect(out.runs.map((x: { fdAtEqualImages: number }) => x.fdAtEqualImages)).toEqual([320.5, 250.25]);
    expect(png(path.join(tmp.dir, 'cmp2', 'fd-curves.png')).width).toBeGreaterThan(700);
  });
});
