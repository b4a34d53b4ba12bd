/**
 * The GEMM under every native convolution and matMul, both of them (OpenBLAS where built in, and
 * the builtin one with each of its micro-kernels this CPU runs): odd sizes, transposes, leading
 * dimensions, beta 0 and 1, against a double-precision product; and the builtin's bits, which
 * depend on nothing but the inputs (not the thread count, nor the micro-kernels).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { GEMM_KERNELS, loadAddon, setNativeGemm, setNativeThreads } from './index';
import type { NativeAddon } from './addon';
import { GEMMS, rand, suiteName, unavailable } from './test-helpers';

const SIZES = [1, 7, 33, 257];
const addon = loadAddon() as NativeAddon;
const kernelsHere = unavailable ? [] : GEMM_KERNELS.filter((k) => setNativeGemm('builtin', k) === null);

interface Layout { ta: boolean; tb: boolean; lda: number; ldb: number; ldc: number }

/** A[m, k], B[k, n] stored per `l` (transposed and/or with padded rows); C[m, n] with row stride ldc. */
function operands(m: number, n: number, k: number, l: Layout, seed: number) {
  const a = rand((l.ta ? k : m) * l.lda, seed);
  const b = rand((l.tb ? n : k) * l.ldb, seed + 1);
  const c0 = rand(m * l.ldc, seed + 2);
  const A = (i: number, p: number) => (l.ta ? a[p * l.lda + i] : a[i * l.lda + p])!;
  const B = (p: number, j: number) => (l.tb ? b[j * l.ldb + p] : b[p * l.ldb + j])!;
  return { a, b, c0, A, B };
}

function layouts(m: number, n: number, k: number): Layout[] {
  const out: Layout[] = [];
  for (const ta of [false, true])
    for (const tb of [false, true])
      for (const pad of [0, 3]) out.push({ ta, tb, lda: (ta ? m : k) + pad, ldb: (tb ? k : n) + pad, ldc: n + pad });
  return out;
}

/** Runs the addon's gemm; returns C (padding included). */
function gemm(m: number, n: number, k: number, l: Layout, beta: number, o: ReturnType<typeof operands>): Float32Array {
  const c = o.c0.slice();
  addon.gemm(l.ta, l.tb, m, n, k, o.a, l.lda, o.b, l.ldb, beta, c, l.ldc);
  return c;
}

describe.skipIf(!!unavailable)(suiteName('native GEMM'), () => {
  afterAll(() => {
    setNativeGemm('default');
    setNativeThreads(2);
  });

  for (const gemmName of GEMMS) {
    const variants = gemmName === 'builtin' ? kernelsHere : (['default'] as const);
    for (const kernel of variants) {
      it(`${gemmName}${gemmName === 'builtin' ? ` (${kernel})` : ''}: sizes 1, 7, 33, 257 in each dimension, transposes, leading dimensions, beta 0 and 1`, () => {
        expect(setNativeGemm(gemmName, kernel)).toBeNull();
        let worst = 0;
        let cases = 0;
        for (const m of SIZES)
          for (const n of SIZES)
            for (const k of SIZES) {
              const ls = layouts(m, n, k);
              for (const [li, l] of ls.entries()) {
                // Two layouts per size (all eight for the small sizes) keep the run short.
                if (m * n * k > 33 * 33 * 33 && li % 4 !== (m + n + k) % 4) continue;
                const o = operands(m, n, k, l, m * 1000 + n * 10 + k);
                for (const beta of [0, 1]) {
                  const c = gemm(m, n, k, l, beta, o);
                  for (let i = 0; i < m; i++) {
                    for (let j = 0; j < l.ldc; j++) {
                      const got = c[i * l.ldc + j]!;
                      if (j >= n) {
                        // Padding between rows is never written.
                        if (!Object.is(got, o.c0[i * l.ldc + j])) throw new Error(`wrote padding at ${i},${j} (m${m} n${n} k${k})`);
                        continue;
                      }
                      let s = beta ? o.c0[i * l.ldc + j]! : 0;
                      let mag = Math.abs(s);
                      for (let p = 0; p < k; p++) {
                        s += o.A(i, p) * o.B(p, j);
                        mag += Math.abs(o.A(i, p) * o.B(p, j));
                      }
                      // Float32 sums of k products: |error| ≤ (k + 1)·2⁻²⁴·Σ|terms|.
                      const err = Math.abs(got - s) / Math.max(mag, 1e-30) / (k + 1);
                      if (!(err <= 2 ** -24)) throw new Error(`m${m} n${n} k${k} ${JSON.stringify(l)} beta ${beta}: C[${i},${j}] = ${got}, expected ${s}`);
                      worst = Math.max(worst, err);
                    }
                  }
                  cases++;
                }
              }
            }
        expect(cases).toBeGreaterThan(200);
        expect(worst).toBeLessThanOrEqual(2 ** -24);
      });
    }
  }

  it('builtin: the same bits on 1, 2 and 3 threads, with every micro-kernel, and for any split of the rows and columns', () => {
    expect(kernelsHere).toContain('portable');
    const shapes: Array<[number, number, number]> = [[257, 33, 257], [600, 130, 300], [33, 1000, 70], [1, 12544, 100], [256, 1, 6272]];
    for (const [si, [m, n, k]] of shapes.entries()) {
      const l: Layout = { ta: si % 2 === 1, tb: si % 3 === 1, lda: 0, ldb: 0, ldc: n };
      l.lda = l.ta ? m : k;
      l.ldb = l.tb ? k : n;
      const o = operands(m, n, k, l, 7 + si);
      let first: Float32Array | undefined;
      for (const kernel of kernelsHere) {
        for (const threads of [1, 2, 3]) {
          expect(setNativeGemm('builtin', kernel)).toBeNull();
          setNativeThreads(threads);
          for (let r = 0; r < 3; r++) {
            const c = gemm(m, n, k, l, 0, o);
            if (!first) first = c;
            else expect(Buffer.from(c.buffer).equals(Buffer.from(first.buffer)), `${kernel}, ${threads} threads, [${m},${n},${k}]`).toBe(true);
          }
        }
      }
      // The same product as blocks of rows and of columns, each its own call.
      const rows = new Float32Array(m * n);
      const cut = Math.max(1, Math.floor(m / 3));
      for (const [r0, r1] of [[0, cut], [cut, m]] as const) {
        if (r1 <= r0) continue;
        const a = l.ta ? o.a.subarray(r0) : o.a.subarray(r0 * l.lda);
        addon.gemm(l.ta, l.tb, r1 - r0, n, k, a, l.lda, o.b, l.ldb, 0, rows.subarray(r0 * n), n);
      }
      expect(Buffer.from(rows.buffer).equals(Buffer.from(first!.buffer)), `row blocks [${m},${n},${k}]`).toBe(true);
      const cols = new Float32Array(m * n);
      const cc = Math.max(1, Math.floor(n / 2));
      for (const [c0, c1] of [[0, cc], [cc, n]] as const) {
        if (c1 <= c0) continue;
        const b = l.tb ? o.b.subarray(c0 * l.ldb) : o.b.subarray(c0);
        addon.gemm(l.ta, l.tb, m, c1 - c0, k, o.a, l.lda, b, l.ldb, 0, cols.subarray(c0), n);
      }
      expect(Buffer.from(cols.buffer).equals(Buffer.from(first!.buffer)), `column blocks [${m},${n},${k}]`).toBe(true);
    }
  });

  it('builtin: thin products (a row, a column, an outer product) give the packed GEMM\'s bits', () => {
    expect(setNativeGemm('builtin')).toBeNull();
    const same = (a: Float32Array, b: Float32Array, what: string) => {
      const i = a.findIndex((v, j) => !Object.is(v, b[j]));
      if (i >= 0) throw new Error(`${what}: element ${i} ${a[i]} vs ${b[i]}`);
    };
    for (const [n, k] of [[6272, 64], [1000, 700], [13, 257], [600, 1]]) {
      for (const ta of [false, true])
        for (const tb of [false, true])
          for (const beta of [0, 1]) {
            // Row 0 of a 2-row product (the packed GEMM) is the 1-row product (the thin path).
            const l2: Layout = { ta, tb, lda: ta ? 2 : k, ldb: tb ? k : n, ldc: n };
            const o = operands(2, n, k, l2, n + k);
            const two = gemm(2, n, k, l2, beta, o).subarray(0, n);
            const one = o.c0.slice(0, n);
            const a1 = ta ? Float32Array.from({ length: k }, (_, p) => o.a[p * 2]!) : o.a.subarray(0, k);
            addon.gemm(ta, tb, 1, n, k, a1, ta ? 1 : k, o.b, l2.ldb, beta, one, n);
            same(one, two, `row [1,${n},${k}] ta ${ta} tb ${tb} beta ${beta}`);
            // The column C = A·b, as Cᵀ = bᵀ·Aᵀ: column 0 of a 2-column product.
            const lc: Layout = { ta, tb, lda: ta ? n : k, ldb: tb ? k : 2, ldc: 2 };
            const q = operands(n, 2, k, lc, 3 * n + k);
            const twoCols = gemm(n, 2, k, lc, beta, q).filter((_, i) => i % 2 === 0);
            const col = Float32Array.from({ length: n }, (_, i) => q.c0[i * 2]!);
            const b1 = tb ? q.b.subarray(0, k) : Float32Array.from({ length: k }, (_, p) => q.b[p * 2]!);
            addon.gemm(ta, tb, n, 1, k, q.a, lc.lda, b1, tb ? k : 1, beta, col, 1);
            same(col, twoCols, `column [${n},1,${k}] ta ${ta} tb ${tb} beta ${beta}`);
          }
    }
    // An outer product (k = 1) equals k = 2 with a zero second column of A (+0 changes no sum).
    for (const [m, n] of [[64, 6272], [7, 33]]) {
      for (const tb of [false, true])
        for (const beta of [0, 1]) {
          const a = rand(m, m), b = rand(2 * n, n), c0 = rand(m * n, m + n);
          const a2 = new Float32Array(2 * m);
          for (let i = 0; i < m; i++) a2[2 * i] = a[i]!;
          const b1 = tb ? Float32Array.from({ length: n }, (_, j) => b[2 * j]!) : b.subarray(0, n);
          const one = c0.slice(), two = c0.slice();
          addon.gemm(false, tb, m, n, 1, a, 1, b1, tb ? 1 : n, beta, one, n);
          addon.gemm(false, tb, m, n, 2, a2, 2, b, tb ? 2 : n, beta, two, n);
          same(one, two, `outer [${m},${n}] tb ${tb} beta ${beta}`);
        }
    }
  });

  it('rejects sizes that do not fit the arrays, in one line', () => {
    const a = new Float32Array(6);
    expect(() => addon.gemm(false, false, 2, 3, 4, a, 4, a, 3, 0, a, 3)).toThrow(/^gemm: bad sizes$/);
    expect(() => addon.gemm(false, false, 2, 2, 3, a, 3, a, 2, 0.5, a, 2)).toThrow(/^gemm: bad sizes$/);
  });
});
