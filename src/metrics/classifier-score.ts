/**
 * From class probabilities [n, classes]:
 * - recognisability: the mean top-class probability (how sure the classifier is of each sample);
 * - classifierScore: the Inception Score's formula with our classifier, exp(E_x KL(p(y|x) ‖ p(y))),
 *   from 1 (all alike or all unsure) to the number of classes (each sure, classes balanced);
 * - coverage: the share of samples predicted as each class.
 */
export function classifierScores(probs: Float32Array, n: number, classes: number): { recognisability: number; classifierScore: number; coverage: number[] } {
  const marginal = new Float64Array(classes);
  const coverage = new Array<number>(classes).fill(0);
  let top = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 0; c < classes; c++) {
      const p = probs[i * classes + c]!;
      marginal[c]! += p / n;
      if (p > probs[i * classes + best]!) best = c;
    }
    top += probs[i * classes + best]!;
    coverage[best]! += 1 / n;
  }
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < classes; c++) {
      const p = probs[i * classes + c]!;
      if (p > 0) kl += p * (Math.log(p) - Math.log(Math.max(marginal[c]!, 1e-30)));
    }
  }
  return { recognisability: top / n, classifierScore: Math.exp(kl / n), coverage };
}
