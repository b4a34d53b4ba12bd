/**
 * Quality numbers for generators (see README.md here): the registry of metrics, the evaluation
 * driver and the real-image statistics they are measured against.
 */
export { ALL_METRICS, CHEAP_METRICS, getMetric, listMetrics, resolveMetricNames } from './registry';
export { evaluateGenerator, evaluateImages, sampleGenerator, trainingEvaluator, type EvaluateOptions } from './evaluate';
export { extractFeatures } from './features';
export { clearRealStats, realStats, type RealStatsOptions } from './real-stats';
export type { ClassifierIdentity, Evaluation, MetricContext, MetricSpec, NearestExample, ProgressFn, RealStats, Yardsticks } from './types';
