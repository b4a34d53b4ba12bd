/** Latents for design seeds, plain and truncated (the rule `generate`, `evaluate` and the app share). */
import { describe, expect, it } from 'vitest';
import { latentsForSeeds } from './generate';
import { Rng } from './util/rng';

describe('latentsForSeeds', () => {
  it('design i is new Rng(seed + i).normal(latentDim)', () => {
    const z = latentsForSeeds(41, 3, 64);
    for (let i = 0; i < 3; i++) expect(Array.from(z.subarray(i * 64, (i + 1) * 64))).toEqual(Array.from(new Rng(41 + i).normal(64)));
  });

  it('--truncation t redraws only the coordinates outside ±t, from the same generator, the same way every time', () => {
    const plain = latentsForSeeds(7, 200, 64);
    for (const t of [0.5, 1, 2]) {
      const z = latentsForSeeds(7, 200, 64, t);
      expect(z).toEqual(latentsForSeeds(7, 200, 64, t));
      let redrawn = 0;
      for (let j = 0; j < z.length; j++) {
        expect(Math.abs(z[j]!)).toBeLessThanOrEqual(t);
        if (Math.abs(plain[j]!) <= t) expect(z[j]).toBe(plain[j]);
        else redrawn++;
      }
      // A standard normal lies outside ±t with probability 2·(1 − Φ(t)): 0.617, 0.317, 0.046.
      const expected = { 0.5: 0.617, 1: 0.317, 2: 0.046 }[t]!;
      expect(redrawn / z.length).toBeCloseTo(expected, 1);
    }
    expect(() => latentsForSeeds(7, 1, 64, 0)).toThrow(/truncation must be > 0/);
  });
});
