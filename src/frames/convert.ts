/**
 * The library's results as danfo.js DataFrames (the `...ToDataFrame` forms), for notebooks where a
 * data analyst would reach for pandas: describe, groupby, sort, filter. Every column name is
 * snake_case, as in the CSV output of `nal detect`; numbers are JavaScript numbers (danfo labels
 * non-integer columns `float32` but keeps the values as given).
 *
 * Filter rows with `df.loc({ rows: mask })`, pandas' `df.loc[mask]` (danfo 1.2's `query` fails on a frame
 * that is itself filtered: its row labels are no longer 0..n-1).
 *
 * This folder sits above everything it converts (data, ensemble, explain, feedback, metrics,
 * stream): nothing below imports it. danfo is loaded lazily ({@link danfo}).
 */
import type { DetectorName } from '../core/detector';
import { DataValidationError } from '../core/errors';
import { parseTraffic, type TrafficData } from '../data/csv';
import type { DatasetSchema } from '../data/schema';
import { DETECTOR_LABELS, type DetectionResult } from '../ensemble/ensemble';
import { detectionRows } from '../ensemble/output';
import type { PermutationImportance } from '../explain/permutation';
import type { FeedbackRound, SplitMetrics } from '../feedback/experiment';
import type { DetectionMetrics } from '../metrics/classification';
import type { StreamWindow } from '../charts/stream';
import { danfo, isFrame, type DataFrame } from './danfo';
import { FLOW_COLUMNS, type FlowRecord } from '../capture/columns';

type Model = DetectorName | 'ensemble';
type Cell = unknown;

const label = (m: Model): string => (m === 'ensemble' ? 'Ensemble' : (DETECTOR_LABELS[m] ?? m));

/**
 * A DataFrame from plain row objects (every key a column, in first-seen order; a key missing in a
 * row is an empty cell) or from columns (`{ name: values }`, typed arrays included).
 * @param columns - the columns and their order (rows only). @defaultValue every key, in first-seen order
 * @throws DataValidationError when the columns of a column object differ in length
 * @example
 * ```ts
 * const df = toDataFrame([{ model: 'a', f1: 0.9 }, { model: 'b', f1: 0.8 }]);
 * ```
 */
export function toDataFrame(source: readonly object[] | Readonly<Record<string, ArrayLike<unknown>>>, columns?: readonly string[]): DataFrame {
  const dfd = danfo();
  if (Array.isArray(source)) {
    const rows = source as readonly Record<string, Cell>[];
    const names = columns ? [...columns] : [...new Set(rows.flatMap((r) => Object.keys(r)))];
    const cols: Record<string, Cell[]> = {};
    for (const c of names) cols[c] = rows.map((r) => r[c]);
    return frameOf(dfd, cols, names);
  }
  const obj = source as Readonly<Record<string, ArrayLike<unknown>>>;
  const names = Object.keys(obj);
  const cols: Record<string, Cell[]> = {};
  let n: number | undefined;
  for (const c of names) {
    cols[c] = Array.from(obj[c]);
    if (n !== undefined && cols[c].length !== n) {
      throw new DataValidationError(`toDataFrame: column '${c}' has ${cols[c].length} values, the first column ${n}.`, { column: c });
    }
    n = cols[c].length;
  }
  return frameOf(dfd, cols, names);
}

/** danfo's constructor, with an empty frame keeping its column names. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function frameOf(dfd: any, cols: Record<string, Cell[]>, names: string[]): DataFrame {
  const n = names.length ? cols[names[0]].length : 0;
  if (n === 0) return new dfd.DataFrame([], { columns: names });
  return new dfd.DataFrame(cols, { columns: names });
}

/**
 * Traffic (timestamp, features, label) as a DataFrame, one row per connection.
 * @example
 * ```ts
 * trafficToDataFrame(data).describe();
 * ```
 */
export function trafficToDataFrame(data: TrafficData): DataFrame {
  const cols: Record<string, Cell[]> = {};
  if (data.timestamps) cols.timestamp = [...data.timestamps];
  const d = data.X.cols;
  data.features.forEach((f, j) => {
    const c = new Array<number>(data.X.rows);
    for (let i = 0; i < data.X.rows; i++) c[i] = data.X.data[i * d + j];
    cols[f] = c;
  });
  if (data.labels) cols.label = Array.from(data.labels);
  return toDataFrame(cols);
}

/**
 * A DataFrame as {@link TrafficData}, with the checks of a CSV file (required columns, finite
 * numeric features, 0/1 labels).
 * @throws DataValidationError when `df` is not a DataFrame or its cells are invalid (row and column named)
 */
export function dataFrameToTraffic(df: DataFrame, schema?: DatasetSchema): TrafficData {
  if (!isFrame(df) || !Array.isArray(df.columns)) {
    throw new DataValidationError('dataFrameToTraffic: expected a danfo DataFrame (with columns and values).');
  }
  const header: string[] = df.columns.map(String);
  const records: string[][] = (df.values as unknown[][]).map((r) => r.map((v) => (v === null || v === undefined ? '' : String(v))));
  return parseTraffic({ header, records, warnings: [] }, { schema });
}

/**
 * Detection results as a DataFrame, one row per scored row: `row`, `row_id`, `timestamp`, the
 * features and `label` (when `data` is given), each detector's `<name>_score` and `<name>_vote`,
 * `votes`, `is_anomaly`, `confidence`, `severity`, `ensemble_score` (the columns of
 * {@link detectionRows}).
 * @param r - the ensemble's result
 * @param data - the rows that were scored
 * @example
 * ```ts
 * const df = detectionToDataFrame(ensemble.detect(data), data);
 * df.loc({ rows: df.is_anomaly.eq(1) }).sortValues('ensemble_score', { ascending: false }).head(10);
 * ```
 */
export function detectionToDataFrame(r: DetectionResult, data?: TrafficData): DataFrame {
  const rows = detectionRows(r, data);
  const names = rows.length ? Object.keys(rows[0]) : ['row', 'votes', 'is_anomaly', 'confidence', 'severity', 'ensemble_score'];
  return toDataFrame(rows, names);
}

/**
 * Metrics per model (`metricsByModel(labels, r)`, or the `models` of `nal evaluate --json`) as a
 * DataFrame, one row per model: `model` (its label), `accuracy`, `precision`, `recall`, `f1`,
 * `roc_auc`, `pr_auc`, `tp`, `fp`, `fn`, `tn`.
 * @example
 * ```ts
 * metricsToDataFrame(metricsByModel(data.labels!, r)).sortValues('roc_auc', { ascending: false });
 * ```
 */
export function metricsToDataFrame(metrics: Partial<Record<Model, DetectionMetrics>>): DataFrame {
  const rows = (Object.keys(metrics) as Model[])
    .filter((m) => metrics[m])
    .map((m) => {
      const x = metrics[m]!;
      return { model: label(m), accuracy: x.accuracy, precision: x.precision, recall: x.recall, f1: x.f1, roc_auc: x.rocAuc, pr_auc: x.prAuc, tp: x.tp, fp: x.fp, fn: x.fn, tn: x.tn };
    });
  return toDataFrame(rows, ['model', 'accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'pr_auc', 'tp', 'fp', 'fn', 'tn']);
}

/**
 * Permutation importances in long form, one row per model and feature: `model` (its label),
 * `feature`, `score_drop`, `score_drop_std`, `score_change`, `score_change_std` and, when labels
 * were given, `auc_drop`, `auc_drop_std` (means and standard deviations over the repeats; see
 * {@link permutationImportance}). Models in the order computed (the ensemble first), features in
 * the model's column order.
 * @example
 * ```ts
 * const df = importanceToDataFrame(imp);
 * const ens = df.loc({ rows: df.model.eq('Ensemble') }).sortValues('auc_drop', { ascending: false });
 * ```
 */
export function importanceToDataFrame(imp: PermutationImportance): DataFrame {
  const models = Object.keys(imp.models) as Model[];
  const withAuc = models.some((m) => imp.models[m]?.aucDrop);
  const rows: Record<string, Cell>[] = [];
  for (const m of models) {
    const mi = imp.models[m]!;
    imp.features.forEach((feature, j) => {
      const row: Record<string, Cell> = {
        model: label(m),
        feature,
        score_drop: mi.scoreDrop[j].mean,
        score_drop_std: mi.scoreDrop[j].std,
        score_change: mi.scoreChange[j].mean,
        score_change_std: mi.scoreChange[j].std,
      };
      if (withAuc) {
        row.auc_drop = mi.aucDrop?.[j].mean ?? null;
        row.auc_drop_std = mi.aucDrop?.[j].std ?? null;
      }
      rows.push(row);
    });
  }
  const names = ['model', 'feature', 'score_drop', 'score_drop_std', 'score_change', 'score_change_std', ...(withAuc ? ['auc_drop', 'auc_drop_std'] : [])];
  return toDataFrame(rows, names);
}

const SPLIT_KEYS: readonly (keyof SplitMetrics)[] = ['rows', 'tp', 'fp', 'fn', 'tn', 'precision', 'recall', 'f1', 'rocAuc'];
const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * Feedback rounds (of {@link runFeedbackExperiment}, or built by hand as in notebook 06) as a
 * DataFrame, one row per round (0 = before feedback): `round`, `new_tp`, `new_fp`, labels in force
 * (`labels_tp`, `labels_fp`, `labels_fn`), `train_rows`, `removed`, `added`, `contamination`,
 * `learned_weights`, `fp_still_flagged`, `fit_seconds`, the held-out and review metrics
 * (`held_out_fp`, `held_out_recall`, ..., `review_f1`, ...) and each detector's fusion weight
 * (`weight_<detector>`).
 * @example
 * ```ts
 * feedbackRoundsToDataFrame(report.rounds).loc({ columns: ['round', 'held_out_fp', 'held_out_recall'] });
 * ```
 */
export function feedbackRoundsToDataFrame(rounds: readonly FeedbackRound[]): DataFrame {
  const detectors = [...new Set(rounds.flatMap((r) => Object.keys(r.weights)))] as DetectorName[];
  const rows = rounds.map((r) => {
    const row: Record<string, Cell> = {
      round: r.round,
      new_tp: r.newLabels.tp,
      new_fp: r.newLabels.fp,
      labels_tp: r.labels.tp,
      labels_fp: r.labels.fp,
      labels_fn: r.labels.fn,
      train_rows: r.trainRows,
      removed: r.removedFromTraining,
      added: r.addedToTraining,
      contamination: typeof r.contamination === 'number' ? r.contamination : String(r.contamination),
      learned_weights: r.learnedWeights,
      fp_still_flagged: r.falsePositivesStillFlagged,
      fit_seconds: r.fitSeconds,
    };
    for (const k of SPLIT_KEYS) row[`held_out_${snake(k)}`] = r.heldOut[k];
    for (const k of SPLIT_KEYS) row[`review_${snake(k)}`] = r.review[k];
    for (const d of detectors) row[`weight_${d}`] = r.weights[d] ?? 0;
    return row;
  });
  return toDataFrame(rows);
}

/**
 * Stream windows (a `StreamHistory`'s `windows`, or the history itself) as a DataFrame, one row
 * per window: `window`, `start`, `rows`, `anomalies`, `low`, `medium`, `high`, `max_score`,
 * `from`, `to` (timestamps, when given) and `latency_ms` (when measured).
 * @example
 * ```ts
 * const w = streamWindowsToDataFrame(history);
 * w.loc({ rows: w.anomalies.gt(0) });
 * w.latency_ms.describe();
 * ```
 */
export function streamWindowsToDataFrame(windows: readonly StreamWindow[] | { readonly windows: readonly StreamWindow[] }): DataFrame {
  const list = Array.isArray(windows) ? (windows as readonly StreamWindow[]) : (windows as { windows: readonly StreamWindow[] }).windows;
  const rows = list.map((w) => ({
    window: w.window,
    start: w.start,
    rows: w.rows,
    anomalies: w.anomalies,
    low: w.low,
    medium: w.medium,
    high: w.high,
    max_score: w.maxScore,
    from: w.from,
    to: w.to,
    latency_ms: w.ms,
  }));
  const names = ['window', 'start', 'rows', 'anomalies', 'low', 'medium', 'high', 'max_score'];
  if (list.some((w) => w.from !== undefined)) names.push('from', 'to');
  if (list.some((w) => w.ms !== undefined)) names.push('latency_ms');
  return toDataFrame(rows, names);
}

/**
 * Flows (rows of `nal flows`, {@link loadCaptureFlows}) as a DataFrame: one column per flow
 * column (docs/FLOWS.md), in their order, plus `label` when labels are given.
 * @param labels - a label per flow (for example from {@link labelFlows})
 * @throws DataValidationError when `labels` has another length than `flows`
 * @example
 * ```ts
 * const df = flowsToDataFrame(flows, labelFlows(flows, sessions));
 * show(df.groupby(['label']).agg({ duration: 'mean', fwd_packets: 'mean' }));
 * ```
 */
export function flowsToDataFrame(flows: readonly FlowRecord[], labels?: readonly string[]): DataFrame {
  if (labels && labels.length !== flows.length) throw new DataValidationError(`flowsToDataFrame: ${labels.length} labels for ${flows.length} flows.`);
  const cols: Record<string, unknown[]> = {};
  for (const c of FLOW_COLUMNS) cols[c] = flows.map((f) => f[c]);
  if (labels) cols.label = [...labels];
  return toDataFrame(cols);
}
