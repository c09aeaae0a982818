/** Train-then-score evaluation with metrics per detector and for the ensemble. */
import type { DetectorName } from '../core/detector';
import type { TrafficData } from '../data/csv';
import { detectionMetrics, type DetectionMetrics } from '../metrics/classification';
import { AnomalyEnsemble, type DetectionResult, type EnsembleOptions } from './ensemble';

/** What `nal evaluate --json` prints. */
export interface EvaluationReport {
  models: Partial<Record<DetectorName | 'ensemble', DetectionMetrics>>;
  seconds: { fit: number; score: number };
  trainRows: number;
  evalRows: number;
  seed: number;
  options: Record<string, unknown>;
}

/** Metrics of every detector and of the ensemble on labelled rows. */
export function metricsByModel(labels: ArrayLike<number>, r: DetectionResult): EvaluationReport['models'] {
  const models: EvaluationReport['models'] = {};
  for (const name of r.detectors) models[name] = detectionMetrics(labels, r.votes[name]!, r.scores[name]!);
  models.ensemble = detectionMetrics(labels, r.isAnomaly, r.ensembleScore);
  return models;
}

/**
 * Fit an ensemble on `train` (labels ignored) and measure it on `test` (labels required).
 * @returns the report, and the fitted ensemble and detection result for further inspection
 */
export async function evaluateDetection(
  train: TrafficData,
  test: TrafficData,
  options: EnsembleOptions = {},
): Promise<EvaluationReport> {
  const { report, ensemble } = await evaluateWithModel(train, test, options);
  ensemble.dispose();
  return report;
}

/** {@link evaluateDetection}, keeping the fitted ensemble and the result. */
export async function evaluateWithModel(
  train: TrafficData,
  test: TrafficData,
  options: EnsembleOptions = {},
): Promise<{ report: EvaluationReport; ensemble: AnomalyEnsemble; result: DetectionResult }> {
  if (!test.labels) throw new RangeError('evaluate: the evaluation data has no labels.');
  const t0 = performance.now();
  const ensemble = await new AnomalyEnsemble(options).fit(train);
  const t1 = performance.now();
  const result = ensemble.detect(test);
  const t2 = performance.now();
  const { onProgress: _p, ...opts } = { ...ensemble.options, onProgress: undefined };
  return {
    report: {
      models: metricsByModel(test.labels, result),
      seconds: { fit: (t1 - t0) / 1000, score: (t2 - t1) / 1000 },
      trainRows: train.X.rows,
      evalRows: test.X.rows,
      seed: ensemble.seed,
      options: JSON.parse(JSON.stringify(opts)),
    },
    ensemble,
    result,
  };
}
