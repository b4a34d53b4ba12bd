import { UserError } from '../errors';
import { classFidelityMetric } from './class-fidelity';
import { classifierScoreMetric } from './classifier-score';
import { coverageMetric } from './coverage';
import { fdFloorMetric, fdMetric } from './fd';
import { kidMetric } from './kid';
import { noveltyMetric } from './novelty';
import { precisionRecallMetric } from './precision-recall';
import { recognisabilityMetric } from './recognisability';
import type { MetricSpec } from './types';
import { yardsticksMetric } from './yardsticks';

/**
 * The metric registry (after stylegan2-ada's metric_main): every number `evaluate` reports is a
 * named metric, one file each (fd.ts, kid.ts, …) exporting its spec; the math in those files
 * knows nothing of generators, only arrays. They run and print in this order.
 */
const REGISTERED: readonly MetricSpec[] = [
  fdMetric,
  fdFloorMetric,
  yardsticksMetric,
  kidMetric,
  recognisabilityMetric,
  classifierScoreMetric,
  coverageMetric,
  classFidelityMetric,
  precisionRecallMetric,
  noveltyMetric,
];
const registry = new Map(REGISTERED.map((m) => [m.name, m]));
if (registry.size !== REGISTERED.length) throw new Error('two metrics share a name');

/** All registered metrics, in order. */
export function listMetrics(): MetricSpec[] {
  return [...REGISTERED];
}

export function getMetric(name: string): MetricSpec {
  const m = registry.get(name);
  if (!m) throw new Error(`no metric ${name}`);
  return m;
}

export const CHEAP_METRICS = (): string[] => REGISTERED.filter((m) => m.cheap).map((m) => m.name);
export const ALL_METRICS = (): string[] => REGISTERED.map((m) => m.name);

/** Checks metric names (e.g. from `--metrics`); the cheap set is always added. */
export function resolveMetricNames(names?: string[], full = true): string[] {
  if (!names) return full ? ALL_METRICS() : CHEAP_METRICS();
  for (const n of names) {
    if (!registry.has(n)) throw new UserError(`--metrics ${names.join(',')}: unknown metric ${JSON.stringify(n)} (allowed: ${ALL_METRICS().join(', ')})`);
  }
  const want = new Set([...CHEAP_METRICS(), ...names]);
  return ALL_METRICS().filter((n) => want.has(n));
}
