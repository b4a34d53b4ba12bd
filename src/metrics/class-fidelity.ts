import type { MetricSpec } from './types';

/**
 * For a class-conditional generator: the share of samples the classifier puts in the class they
 * were asked for (`generate --class k` → the classifier says k), overall and per class.
 * @param probs [n, classes] row-major; labels [n] the requested classes
 */
export function classFidelity(probs: Float32Array, labels: Int32Array, classes: number): { overall: number; perClass: number[] } {
  const hit = new Array<number>(classes).fill(0);
  const asked = new Array<number>(classes).fill(0);
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (probs[i * classes + c]! > probs[i * classes + best]!) best = c;
    const want = labels[i]!;
    asked[want]!++;
    if (best === want) hit[want]!++;
  }
  const total = hit.reduce((a, b) => a + b, 0);
  return { overall: labels.length ? total / labels.length : NaN, perClass: hit.map((h, c) => (asked[c] ? h / asked[c]! : NaN)) };
}

export const classFidelityMetric: MetricSpec = {
  name: 'classFidelity',
  description: 'conditional models: share of samples the classifier puts in the class they were asked for (and per class), beside the same share of real test images',
  cheap: true,
  compute: ({ real, fake }) => {
    if (!fake.labels) return {};
    const r = classFidelity(fake.probs, fake.labels, real.classes);
    // The yardstick: real test images "asked for" by their labels — the classifier's own accuracy.
    const t = classFidelity(real.test.probs, Int32Array.from(real.data.test.labels.subarray(0, real.test.n)), real.classes);
    return { classFidelity: r.overall, classFidelityPerClass: r.perClass, classFidelityReal: t.overall, classFidelityRealPerClass: t.perClass };
  },
};
