import { describe, expect, it } from 'vitest';
import { Rng } from '../util/rng';
import { dataCopying, mannWhitney } from './data-copying';

/** U by its definition: every (sample, test) pair, ½ for a tie. */
function pairCount(s: number[], t: number[]): number {
  let u = 0;
  for (const a of s) for (const b of t) u += a > b ? 1 : a === b ? 0.5 : 0;
  return u;
}

describe('the data-copying test (Meehan et al. 2020)', () => {
  it('Mann–Whitney U: known answers, and the sign says which group is nearer', () => {
    const sd = Math.sqrt((2 * 2 * 5) / 12);
    expect(mannWhitney([1, 2], [3, 4])).toEqual({ u: 0, z: -2 / sd }); // samples nearer: copying side
    expect(mannWhitney([3, 4], [1, 2])).toEqual({ u: 4, z: 2 / sd });
    expect(mannWhitney([1], [1])).toEqual({ u: 0.5, z: 0 });
    expect(mannWhitney([], [1, 2])).toEqual({ u: 0, z: 0 });
  });

  it('Mann–Whitney U by ranks equals the pair count, ties included', () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 20; trial++) {
      const s = Array.from({ length: 15 + trial }, () => rng.nextInt(8)); // many ties
      const t = Array.from({ length: 9 + 2 * trial }, () => rng.nextInt(8));
      expect(mannWhitney(s, t).u).toBe(pairCount(s, t));
    }
  });

  it('|z| stays small when samples and test images share a distribution, and is large when shifted', () => {
    const rng = new Rng(11);
    const test = Array.from(rng.normal(2000), (v) => 7 + v);
    const same = Array.from(rng.normal(2000), (v) => 7 + v);
    expect(Math.abs(mannWhitney(same, test).z)).toBeLessThan(3);
    expect(mannWhitney(same.map((v) => v - 0.5), test).z).toBeLessThan(-10);
    expect(mannWhitney(same.map((v) => v + 0.5), test).z).toBeGreaterThan(10);
  });

  it('C_T averages the cells with the test images as weights, leaving sparse cells out', () => {
    // cell 0: samples nearer (z = −a); cell 1: samples farther (z = +b); cell 2: too few samples
    const s0 = [1, 2, 3], t0 = [4, 5, 6, 7, 8, 9];
    const s1 = [10, 11, 12], t1 = [1, 2, 3];
    const d = [...s0, ...s1, 5];
    const c = [0, 0, 0, 1, 1, 1, 2];
    const td = [...t0, ...t1, 1, 2, 3];
    const tc = [0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2];
    const r = dataCopying(d, c, td, tc, 3, 3);
    const z0 = mannWhitney(s0, t0).z;
    const z1 = mannWhitney(s1, t1).z;
    expect(z0).toBeLessThan(0);
    expect(z1).toBeGreaterThan(0);
    expect(r.cellZ.slice(0, 2)).toEqual([z0, z1]);
    expect(r.cellZ[2]).toBeNaN();
    expect(r.cellsUsed).toBe(2);
    expect(r.statistic).toBeCloseTo((6 * z0 + 3 * z1) / 9, 12);
    expect(dataCopying([...d, 0], [...c, -1], td, tc, 3, 3)).toEqual(r); // a point outside the cells is left out
    expect(dataCopying(d, c, td, tc, 3, 10).statistic).toBeNaN();
    expect(() => dataCopying(d, c.slice(1), td, tc, 3)).toThrow(/one cell per distance/);
  });
});
