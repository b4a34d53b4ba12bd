import { describe, expect, it } from 'vitest';
import { Rng } from '../util/rng';
import { nearestNeighbours, nearestNeighboursChunked } from './nearest';

describe('nearest-neighbour search', () => {
  it('gives the same answer in chunks as in one pass, ties keeping the earlier row', () => {
    const rng = new Rng(3);
    const dim = 6;
    const pool = rng.normal(37 * dim);
    pool.set(pool.subarray(4 * dim, 5 * dim), 30 * dim); // row 30 duplicates row 4
    const queries = rng.normal(5 * dim);
    queries.set(pool.subarray(4 * dim, 5 * dim), 0); // query 0 sits on rows 4 and 30
    const whole = nearestNeighbours(queries, pool, dim, 4);
    for (const chunk of [1, 5, 16, 37, 100]) {
      const chunked = nearestNeighboursChunked(queries, dim, 37, (s, c) => pool.subarray(s * dim, (s + c) * dim), 4, chunk);
      expect(chunked, `chunk ${chunk}`).toEqual(whole);
    }
    expect(whole[0]!.slice(0, 2).map((h) => h.index)).toEqual([4, 30]);
    expect(whole[0]![0]!.distance).toBe(0);
  });
});
