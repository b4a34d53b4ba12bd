import { InvalidArgumentError } from 'commander';

/** commander argument parsers that reject nonsense with a message saying what is allowed. */
export function int(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}.`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}.`);
    return n;
  };
}

export function num(min: number, max: number, { exclusiveMin = false, exclusiveMax = false } = {}) {
  const range = `${exclusiveMin ? '>' : '≥'} ${min} and ${exclusiveMax ? '<' : '≤'} ${max}`;
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`must be a number ${range}.`);
    if ((exclusiveMin ? n <= min : n < min) || (exclusiveMax ? n >= max : n > max)) throw new InvalidArgumentError(`must be a number ${range}.`);
    return n;
  };
}

export function oneOf<T extends string>(allowed: readonly T[]) {
  return (value: string): T => {
    if (!allowed.includes(value as T)) throw new InvalidArgumentError(`allowed: ${allowed.join(', ')}.`);
    return value as T;
  };
}

/** A path or name that must not be empty. */
export function nonEmpty(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('must not be empty.');
  return value;
}

/** A comma-separated list, e.g. `--metrics fd,kid` (names are checked where they are used). */
export function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A comma-separated list whose every item is one of `allowed`. */
export function listOf<T extends string>(allowed: readonly T[]) {
  return (value: string): T[] => {
    const parts = list(value);
    for (const p of parts) if (!allowed.includes(p as T)) throw new InvalidArgumentError(`allowed: a comma list of ${allowed.join(', ')}.`);
    return parts as T[];
  };
}
