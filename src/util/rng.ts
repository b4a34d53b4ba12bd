/**
 * The run-level random number generator: xoshiro128** (Blackman & Vigna), seeded through
 * splitmix32. Its whole state is four uint32 words, saved in every checkpoint, so a resumed
 * run draws exactly the numbers an uninterrupted run would have drawn.
 */
export type RngState = [number, number, number, number];

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Rng {
  private s: Uint32Array;

  constructor(seedOrState: number | RngState) {
    if (typeof seedOrState === 'number') {
      const next = splitmix32(seedOrState);
      this.s = new Uint32Array([next(), next(), next(), next()]);
      if (this.s.every((w) => w === 0)) this.s[0] = 1;
    } else {
      this.s = Uint32Array.from(seedOrState);
    }
  }

  state(): RngState {
    return [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!];
  }

  /** A uniform uint32. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** A uniform float in [0, 1) with 24 random bits (exact in float32). */
  nextFloat(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }

  /** A fresh seed for a seeded TF.js op or a child generator. */
  nextSeed(): number {
    return this.nextUint32();
  }

  /** A uniform integer in [0, n). */
  nextInt(n: number): number {
    // Rejection sampling keeps it unbiased for any n up to 2^32.
    const limit = Math.floor(4294967296 / n) * n;
    let x: number;
    do x = this.nextUint32();
    while (x >= limit);
    return x % n;
  }

  /** Fills `out` with standard normal draws (Box–Muller, both values of each pair used). */
  fillNormal(out: Float32Array): Float32Array {
    for (let i = 0; i < out.length; i += 2) {
      const u1 = (this.nextUint32() + 1) / 4294967297; // (0, 1): log never sees 0
      const u2 = this.nextUint32() / 4294967296;
      const r = Math.sqrt(-2 * Math.log(u1));
      out[i] = r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < out.length) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
    }
    return out;
  }

  /** A new array of `n` standard normal draws. */
  normal(n: number): Float32Array {
    return this.fillNormal(new Float32Array(n));
  }

  /** Shuffles `items` in place (Fisher–Yates). */
  shuffle<T extends { [i: number]: unknown; length: number }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = items[i];
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * A seed for stream `tag`, item `n` of a run seeded with `seed` (murmur3's finaliser over the
 * three words). Step k's latents and dropout masks come from `new Rng(deriveSeed(seed, STEP, k))`,
 * epoch e's shuffle from `deriveSeed(seed, SHUFFLE, e)`: the numbers depend only on the seed and
 * the position, so a resumed run draws exactly what an uninterrupted one would.
 */
export function deriveSeed(seed: number, tag: number, n: number): number {
  let h = (seed ^ Math.imul(tag + 1, 0x9e3779b1)) >>> 0;
  h = fmix(h ^ Math.imul(n, 0x85ebca77));
  h = fmix(h ^ Math.imul(tag + 0x632be5ab, 0xc2b2ae3d));
  return h >>> 0;
}

function fmix(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The streams of deriveSeed. */
export const STREAM = { INIT_G: 1, INIT_D: 2, SHUFFLE: 3, STEP: 4, FIXED_LATENTS: 5, STANDING_STATS: 6 } as const;
