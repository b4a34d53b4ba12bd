/**
 * Shared by the fuzz tests: run a reader on a bad input and check that it ends in a one-line
 * UserError (or a valid result), quickly, without allocating more than its input.
 */
import { expect } from 'vitest';
import { UserError } from '../src/errors';
import { Rng } from '../src/util/rng';

export interface Outcome {
  ok: boolean;
  message?: string;
  ms: number;
  /** Bytes asked of typed-array constructors (new Uint8Array(n), Float32Array.from, …) during the call. */
  allocated: number;
  /** The largest single typed array asked for. */
  largest: number;
}

const METERED = ['Uint8Array', 'Float32Array', 'Int32Array', 'Uint32Array', 'Float64Array'] as const;

/**
 * Runs `fn` with the global typed-array constructors metered (the readers allocate through them;
 * Buffer and zlib use their own internal references and are not counted).
 */
export async function metered(fn: () => unknown): Promise<Outcome> {
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = METERED.map((n) => g[n]);
  let allocated = 0;
  let largest = 0;
  const count = (bytes: number) => {
    allocated += bytes;
    largest = Math.max(largest, bytes);
  };
  METERED.forEach((name, i) => {
    const Ctor = saved[i] as { BYTES_PER_ELEMENT: number } & (new (...a: unknown[]) => unknown);
    g[name] = new Proxy(Ctor, {
      construct(target, args, newTarget) {
        const a = args[0];
        if (typeof a === 'number') count(a * Ctor.BYTES_PER_ELEMENT);
        else if (a && typeof a === 'object' && !(a instanceof ArrayBuffer) && typeof (a as { length?: unknown }).length === 'number') count((a as { length: number }).length * Ctor.BYTES_PER_ELEMENT);
        return Reflect.construct(target, args, newTarget);
      },
    });
  });
  const t0 = performance.now();
  try {
    await fn();
    return { ok: true, ms: performance.now() - t0, allocated, largest };
  } catch (err) {
    const ms = performance.now() - t0;
    if (!(err instanceof UserError)) {
      throw new Error(`expected a UserError, got ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
    }
    return { ok: false, message: err.message, ms, allocated, largest };
  } finally {
    METERED.forEach((name, i) => (g[name] = saved[i]));
  }
}

export interface FuzzCase {
  label: string;
  bytes: Uint8Array;
  /** the reader must refuse this input (the others may load when the damage is harmless) */
  refuse?: boolean;
}

/**
 * A bound on one case's time that only a hang or a pathological blow-up would cross — never a
 * speed measurement (this machine is shared; speed is measured in benchmarks).
 */
export const CASE_MS_LIMIT = 10_000;

/** Checks an outcome: a one-line UserError naming `file` (or success, unless the case must be refused), allocation within `cap`. */
export function expectGraceful(c: FuzzCase, o: Outcome, file: string, cap: number): void {
  if (!o.ok) {
    expect(o.message, c.label).not.toMatch(/[\n\r]/);
    expect(o.message!.includes(file), `${c.label}: "${o.message}" should name ${file}`).toBe(true);
    expect(o.message!.length, c.label).toBeLessThan(600);
  } else {
    expect(c.refuse ?? false, `${c.label} was accepted, but must be refused`).toBe(false);
  }
  expect(o.allocated, `${c.label}: allocated ${o.allocated} bytes for a ${c.bytes.length}-byte input`).toBeLessThanOrEqual(cap);
}

/**
 * Bad versions of `valid`: every truncation at `offsets`, bit flips, random overwrites, appended
 * junk. `refuse` marks the kinds the format must always refuse (e.g. a truncated checkpoint).
 */
export function mutations(rng: Rng, valid: Uint8Array, offsets: number[], flips = 60, refuse: { truncated?: boolean; appended?: boolean } = {}): FuzzCase[] {
  const out: FuzzCase[] = [];
  for (const at of new Set(offsets.filter((o) => o >= 0 && o < valid.length))) out.push({ label: `truncated at ${at}`, bytes: valid.slice(0, at), refuse: refuse.truncated });
  for (let i = 0; i < flips; i++) {
    const b = valid.slice();
    const n = 1 + rng.nextInt(4);
    const where: number[] = [];
    for (let k = 0; k < n; k++) {
      // half the flips land in the first 64 bytes, where the headers are
      const at = rng.nextInt(2) ? rng.nextInt(Math.min(64, b.length)) : rng.nextInt(b.length);
      b[at]! ^= 1 << rng.nextInt(8);
      where.push(at);
    }
    out.push({ label: `bits flipped at ${where.join(',')}`, bytes: b });
  }
  for (let i = 0; i < 10; i++) {
    const b = valid.slice();
    const at = rng.nextInt(b.length);
    const len = 1 + rng.nextInt(32);
    for (let k = at; k < Math.min(b.length, at + len); k++) b[k] = rng.nextInt(256);
    out.push({ label: `random run of ${len} at ${at}`, bytes: b });
  }
  const junk = randomBytes(rng, 1 + rng.nextInt(700));
  out.push({ label: 'junk appended', bytes: Buffer.concat([valid, junk]), refuse: refuse.appended });
  return out;
}

export function randomBytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.nextInt(256);
  return b;
}
