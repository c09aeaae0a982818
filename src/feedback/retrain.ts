/**
 * Retraining with operator feedback. Only labels the operator gave are used; a label column in
 * the training data is never read.
 *
 * 1. Confirmed anomalies (`tp`, `fn`) leave the training set.
 * 2. Confirmed false positives become normal training rows, each present `fpWeight` times
 *    (repetition is the weight). This raises the bar for rows like them, and only for rows like
 *    them: the forest needs more splits to isolate that region, LOF sees it as dense, and the
 *    autoencoder learns to rebuild it. A global threshold raised above every confirmed false
 *    positive was measured and rejected: one false positive that scores like the anomalies then
 *    cost 8 to 29 points of recall (seed 10k data, 3 rounds).
 * 3. Thresholds are recalibrated on the new training set. A numeric `contamination` c is adjusted
 *    for the rows removed and added: (c x n - removed) / n', where n is the old and n' the new
 *    number of training rows, so the threshold does not move into normal traffic just because
 *    known anomalies left.
 * 4. With at least {@link MIN_LABELS_PER_CLASS} confirmed anomalies and confirmed false
 *    positives, the fusion weights are learned from the feedback: each detector's share is
 *    (2 x AUC - 1)^2, floored at 0, where AUC is the ROC-AUC of the detector's scores separating
 *    the confirmed anomalies from the confirmed false positives, each label scored as the model
 *    the operator reviewed scored it (see {@link feedbackWeights}); these shares are blended with
 *    the base model's weights, which count as {@link FEEDBACK_WEIGHT_PRIOR} labels. Detectors
 *    that tell the operator's hard cases apart get more say as labels accumulate. With fewer
 *    usable labels the configured (or base) weights are kept.
 */
import type { DetectorName } from '../core/detector';
import { FeatureMismatchError } from '../core/errors';
import { denseMatrix, type DenseMatrix } from '../core/matrix';
import type { Contamination } from '../core/threshold';
import type { TrafficData } from '../data/csv';
import { AnomalyEnsemble, type EnsembleOptions, type FitProgress } from '../ensemble/ensemble';
import { featureSetId, rowIds, type RowIdSource } from '../ensemble/output';
import { rocAuc } from '../metrics/classification';
import { normalizeScores } from '../ensemble/combine';
import { feedbackLog, type FeedbackLog, type FeedbackRecord } from './store';

/** Copies of each confirmed false positive in the training set by default. */
export const DEFAULT_FP_WEIGHT = 10;

/** Largest `fpWeight`: beyond it one label would outweigh any training set we can hold. */
export const MAX_FP_WEIGHT = 1000;

/**
 * Most feature values the copies of confirmed false positives may add to the training set
 * (2^24, 128 MB of float64): `fpWeight` multiplies rows, so it is bounded before allocating.
 */
export const MAX_FEEDBACK_ADDED_VALUES = 2 ** 24;

/** Confirmed anomalies and confirmed false positives needed (each) before fusion weights are learned. */
export const MIN_LABELS_PER_CLASS = 5;

/**
 * Weight of the base model's fusion weights when blending them with the weights learned from
 * feedback, in labels: 50 labels count as much as the prior. The labels are the least certain
 * detections, a biased sample; on NSL-KDD, weights taken from 50 of them alone (one detector with
 * all the say) doubled the held-out false positives in one seed.
 */
export const FEEDBACK_WEIGHT_PRIOR = 50;

/** Lowest contamination the adjustment returns. */
export const MIN_ADJUSTED_CONTAMINATION = 0.001;

/**
 * Training rows: feature names and matrix, plus what row ids are computed from (timestamps, and
 * the raw cells of a file); a label column is ignored.
 */
export type FeedbackTrainingInput = RowIdSource & { features: readonly string[] };

/** A training set with the feedback applied; see {@link feedbackTrainingSet}. */
export interface FeedbackTrainingSet {
  features: string[];
  X: DenseMatrix;
  /** Training rows before the feedback. */
  originalRows: number;
  /** Training rows removed as confirmed anomalies (`tp`/`fn`). */
  removed: number;
  /** Rows added: copies of confirmed false positives. */
  added: number;
  /** Confirmed false positives used (distinct rows). */
  falsePositives: number;
  /** Confirmed anomalies labelled but not in the training data (nothing to remove). */
  anomaliesNotInTraining: number;
  /** Labels that could not be used, with the reason. */
  ignored: { row_id: string; label: string; reason: string }[];
  /** The confirmed false positives' feature rows (one each), for checks after retraining. */
  falsePositiveRows: DenseMatrix;
}

/** Options of {@link feedbackTrainingSet}. */
export interface FeedbackTrainingOptions {
  /** Times each confirmed false positive is in the new training set. @defaultValue 10 */
  fpWeight?: number;
}

function asLog(feedback: FeedbackLog | readonly FeedbackRecord[]): FeedbackLog {
  return Array.isArray(feedback) ? feedbackLog(feedback as readonly FeedbackRecord[]) : (feedback as FeedbackLog);
}

/**
 * Apply feedback to a training set: drop confirmed anomalies, add each confirmed false positive
 * until it is there `fpWeight` times. A false positive not in the training data is added from
 * the feature values stored with its label; one without them is ignored (and reported).
 * @throws RangeError for a bad `fpWeight`
 * @example
 * ```ts
 * const set = feedbackTrainingSet(train, loadFeedback(feedbackPath('models/demo')));
 * set.removed; set.added;
 * ```
 */
export function feedbackTrainingSet(
  train: FeedbackTrainingInput,
  feedback: FeedbackLog | readonly FeedbackRecord[],
  opts: FeedbackTrainingOptions = {},
): FeedbackTrainingSet {
  const fpWeight = opts.fpWeight ?? DEFAULT_FP_WEIGHT;
  if (!Number.isInteger(fpWeight) || fpWeight < 1 || fpWeight > MAX_FP_WEIGHT) {
    throw new RangeError(`The 'fpWeight' option must be an integer in [1, ${MAX_FP_WEIGHT}]. Got ${fpWeight}.`);
  }
  const log = asLog(feedback);
  const { rows: n, cols: d, data } = train.X;
  const ids = rowIds(train);
  const keep: number[] = [];
  const present = new Map<string, number>(); // row id -> kept copies in the training data
  let removed = 0;
  for (let i = 0; i < n; i++) {
    const l = log.latest.get(ids[i])?.label;
    if (l === 'tp' || l === 'fn') {
      removed++;
      continue;
    }
    keep.push(i);
    present.set(ids[i], (present.get(ids[i]) ?? 0) + 1);
  }
  const firstRow = new Map<string, number>();
  ids.forEach((id, i) => {
    if (!firstRow.has(id)) firstRow.set(id, i);
  });
  const featureSet = featureSetId(train.features);
  const extra: number[][] = [];
  const fpRows: number[][] = [];
  const ignored: FeedbackTrainingSet['ignored'] = [];
  let anomaliesNotInTraining = 0;
  for (const r of log.latest.values()) {
    if (r.label !== 'fp') {
      if (!firstRow.has(r.row_id)) anomaliesNotInTraining++;
      continue;
    }
    let values: number[] | undefined;
    const i = firstRow.get(r.row_id);
    if (i !== undefined) values = Array.from(data.subarray(i * d, i * d + d));
    else if (r.features) {
      if (r.features.length !== d || (r.feature_set !== undefined && r.feature_set !== featureSet)) {
        ignored.push({
          row_id: r.row_id,
          label: r.label,
          reason: `not in the training data, and its stored feature values are in other columns (${r.features.length} values${r.feature_set !== undefined ? `, feature set ${r.feature_set}` : ''}; the training data has ${d}, feature set ${featureSet})`,
        });
        continue;
      }
      values = r.features;
    } else {
      ignored.push({ row_id: r.row_id, label: r.label, reason: 'not in the training data and no feature values stored with the label' });
      continue;
    }
    fpRows.push(values);
    const copies = Math.max(0, fpWeight - (present.get(r.row_id) ?? 0));
    if ((extra.length + copies) * d > MAX_FEEDBACK_ADDED_VALUES) {
      throw new RangeError(
        `fpWeight ${fpWeight} with ${[...log.latest.values()].filter((x) => x.label === 'fp').length} confirmed false positives would add more than ${MAX_FEEDBACK_ADDED_VALUES.toLocaleString('en-US')} feature values (${d} per row) to the training set; use a smaller fpWeight.`,
      );
    }
    for (let k = 0; k < copies; k++) extra.push(values);
  }
  const out = new Float64Array((keep.length + extra.length) * d);
  keep.forEach((i, k) => out.set(data.subarray(i * d, i * d + d), k * d));
  extra.forEach((v, k) => out.set(v, (keep.length + k) * d));
  return {
    features: [...train.features],
    X: denseMatrix(keep.length + extra.length, d, out),
    originalRows: n,
    removed,
    added: extra.length,
    falsePositives: fpRows.length,
    anomaliesNotInTraining,
    ignored,
    falsePositiveRows: denseMatrix(fpRows.length, d, Float64Array.from(fpRows.flat())),
  };
}

/**
 * The contamination for the new training set: the old share c x n of anomalies, less the
 * confirmed anomalies removed, over the new row count; `"auto"` stays `"auto"`.
 */
export function adjustContamination(c: Contamination, set: Pick<FeedbackTrainingSet, 'originalRows' | 'removed' | 'X'>): Contamination {
  if (c === 'auto') return c;
  const adjusted = (c * set.originalRows - set.removed) / set.X.rows;
  return Math.min(0.5, Math.max(MIN_ADJUSTED_CONTAMINATION, adjusted));
}

/** Feedback-learned fusion weights and the evidence behind them. */
export interface FeedbackWeights {
  /** Per detector: ROC-AUC of its scores, confirmed anomalies vs confirmed false positives. */
  auc: Partial<Record<DetectorName, number>>;
  /** Per detector: max(0, 2 x AUC - 1)^2, normalised to sum to 1: what the labels alone say. */
  learned: Partial<Record<DetectorName, number>>;
  /** The base model's fusion weights (sum 1): the prior. */
  prior: Partial<Record<DetectorName, number>>;
  /**
   * The fusion weights used (sum 1): (n x learned + {@link FEEDBACK_WEIGHT_PRIOR} x prior) /
   * (n + {@link FEEDBACK_WEIGHT_PRIOR}), n the number of labels.
   */
  weights: Partial<Record<DetectorName, number>>;
  positives: number;
  negatives: number;
}

/**
 * Fusion weights learned from feedback (see the module notes), or undefined when there are fewer
 * than {@link MIN_LABELS_PER_CLASS} usable labels of either class or no detector separates them.
 *
 * Each label is scored as the model the operator reviewed scored it: the normalised detector
 * scores stored with the label ({@link FeedbackRecord.scores}). A label without them is scored by
 * `base`, but only when the base model was not retrained with it (records from `fromRecord` on):
 * a model scores the false positives it was retrained with as normal, the autoencoder most of
 * all, which would then look skilled on them.
 * @param base - the model whose detections the operator reviewed
 * @param train - rows to look up labelled rows without stored features
 * @param fromRecord - index of the first record of the log the base model has not used @defaultValue 0
 */
export function feedbackWeights(
  base: AnomalyEnsemble,
  feedback: FeedbackLog | readonly FeedbackRecord[],
  train?: FeedbackTrainingInput,
  fromRecord = 0,
): FeedbackWeights | undefined {
  const log = asLog(feedback);
  const dets = base.options.detectors;
  const d = base.featureNames.length;
  const lookup = new Map<string, number>();
  if (train) rowIds(train).forEach((id, i) => lookup.has(id) || lookup.set(id, i));
  const lastIndex = new Map<string, number>();
  log.records.forEach((r, k) => lastIndex.set(r.row_id, k));
  // the latest stored scores of each row (a relabel without scores keeps the earlier ones)
  const stored = new Map<string, Partial<Record<DetectorName, number>>>();
  for (const r of log.records) if (r.scores && dets.every((det) => r.scores![det] !== undefined)) stored.set(r.row_id, r.scores);
  const known: { scores: Partial<Record<DetectorName, number>>; y: number }[] = [];
  const toScore: number[][] = [];
  const toScoreY: number[] = [];
  for (const r of log.latest.values()) {
    const y = r.label === 'fp' ? 0 : 1;
    const s = stored.get(r.row_id);
    if (s) {
      known.push({ scores: s, y });
      continue;
    }
    if (lastIndex.get(r.row_id)! < fromRecord) continue;
    let v = r.features;
    if (!v && train && lookup.has(r.row_id)) {
      const i = lookup.get(r.row_id)!;
      v = Array.from(train.X.data.subarray(i * d, i * d + d));
    }
    if (!v || v.length !== d) continue;
    toScore.push(v);
    toScoreY.push(y);
  }
  const columns = new Map<DetectorName, number[]>(dets.map((det) => [det, known.map((k) => k.scores[det]!)]));
  if (toScore.length) {
    const r = base.detect(denseMatrix(toScore.length, d, Float64Array.from(toScore.flat())), base.featureNames);
    for (const det of dets) columns.get(det)!.push(...normalizeScores(r.scores[det]!, base.stats(det), base.options.normalization));
  }
  const y = [...known.map((k) => k.y), ...toScoreY];
  const positives = y.reduce((a, b) => a + b, 0);
  const negatives = y.length - positives;
  if (positives < MIN_LABELS_PER_CLASS || negatives < MIN_LABELS_PER_CLASS) return undefined;
  const auc: FeedbackWeights['auc'] = {};
  const raw: number[] = [];
  for (const det of dets) {
    auc[det] = rocAuc(y, columns.get(det)!);
    raw.push(Math.max(0, 2 * auc[det]! - 1) ** 2);
  }
  const total = raw.reduce((a, b) => a + b, 0);
  if (!(total > 0)) return undefined;
  const baseWeights = base.weights;
  const n = y.length;
  const learned: FeedbackWeights['learned'] = {};
  const prior: FeedbackWeights['prior'] = {};
  const weights: FeedbackWeights['weights'] = {};
  dets.forEach((det, k) => {
    learned[det] = raw[k] / total;
    prior[det] = baseWeights[det] ?? 0;
    weights[det] = (n * learned[det]! + FEEDBACK_WEIGHT_PRIOR * prior[det]!) / (n + FEEDBACK_WEIGHT_PRIOR);
  });
  return { auc, learned, prior, weights, positives, negatives };
}

/**
 * What the ensemble is fitted on: traffic read from a file keeps its schema and encoder (saved
 * with the model, so that `nal detect` reads new files the same way); its cells are not needed.
 */
function fitInput(train: FeedbackTrainingInput | TrafficData, set: FeedbackTrainingSet): TrafficData | DenseMatrix {
  const t = train as TrafficData;
  if (!Array.isArray(t.records) || !Array.isArray(t.header) || !t.schema) return set.X;
  return { ...t, features: set.features, X: set.X, labels: undefined, timestamps: undefined, records: [], warnings: [] };
}

/** Options of {@link retrainWithFeedback}. */
export interface RetrainOptions extends FeedbackTrainingOptions {
  /**
   * The model whose detections were reviewed: its options (and seed) are the starting point, and
   * its detector scores on the labelled rows give the feedback-learned weights.
   */
  base?: AnomalyEnsemble;
  /** Ensemble options; they override the base model's. */
  options?: EnsembleOptions;
  /**
   * Expected anomaly share of the training data before any feedback, which the adjustment starts
   * from. @defaultValue `options.contamination`, else the base model's. A base model that was
   * itself retrained with feedback has an adjusted contamination: pass the original one (`nal train
   * --feedback` keeps it in the model's manifest, `metadata.feedback.contamination`).
   */
  contamination?: Contamination;
  /**
   * `"feedback"`: learn fusion weights from the labels (needs `base`; falls back to the configured
   * weights with too few labels). `"keep"`: use the configured weights. @defaultValue "feedback"
   */
  weights?: 'feedback' | 'keep';
  /**
   * Number of records at the start of the log that the base model was already retrained with.
   * Labels among them without stored scores ({@link FeedbackRecord.scores}) are not scored by
   * the base model for the learned weights (see {@link feedbackWeights}). `nal train --feedback`
   * keeps it in the manifest (`metadata.feedback.records`). @defaultValue 0
   */
  baseFeedbackRecords?: number;
  /** Fit progress, as {@link EnsembleOptions.onProgress}. */
  onProgress?: (p: FitProgress) => void;
}

/** What {@link retrainWithFeedback} returns. */
export interface RetrainResult {
  ensemble: AnomalyEnsemble;
  trainingSet: Omit<FeedbackTrainingSet, 'X' | 'falsePositiveRows'> & { rows: number };
  contamination: { before: Contamination; after: Contamination };
  /** Learned fusion weights, when learned. */
  learnedWeights?: FeedbackWeights;
  /** Confirmed false positives the new model still flags (0 is the goal; reported, not forced). */
  falsePositivesStillFlagged: number;
  /** Records in the log used: pass it as `baseFeedbackRecords` when this model is retrained. */
  feedbackRecords: number;
}

/**
 * Fit a new ensemble on the training rows with the feedback applied (see the module notes).
 * @param train - the training traffic (its label column, if any, is ignored)
 * @param feedback - a {@link loadFeedback} result or records
 * @throws FeatureMismatchError when the base model has other features than the training data
 * @example
 * ```ts
 * const base = await AnomalyEnsemble.load('models/demo');
 * const { ensemble } = await retrainWithFeedback(train, loadFeedback(feedbackPath('models/demo')), { base });
 * await ensemble.save('models/demo');
 * ```
 */
export async function retrainWithFeedback(
  train: FeedbackTrainingInput | TrafficData,
  feedback: FeedbackLog | readonly FeedbackRecord[],
  opts: RetrainOptions = {},
): Promise<RetrainResult> {
  const log = asLog(feedback);
  // everything but the label column goes on: operator labels are the only labels used
  const input: FeedbackTrainingInput = {
    features: train.features,
    X: train.X,
    timestamps: train.timestamps,
    header: train.header,
    records: train.records,
    schema: train.schema,
  };
  const base = opts.base;
  if (base) {
    const names = base.featureNames;
    if (names.length !== input.features.length || names.some((f, j) => f !== input.features[j])) {
      throw new FeatureMismatchError('retrainWithFeedback (base model vs training data)', names.length, input.features.length, 'the base model was fitted on other features');
    }
  }
  const set = feedbackTrainingSet(input, log, opts);
  const baseOptions: EnsembleOptions = base ? { ...base.options, seed: base.options.seed ?? base.seed } : {};
  const merged: EnsembleOptions = { ...baseOptions, ...opts.options };
  const before = opts.contamination ?? new AnomalyEnsemble(merged).options.contamination;
  const after = adjustContamination(before, set);
  let learned: FeedbackWeights | undefined;
  if ((opts.weights ?? 'feedback') === 'feedback' && base) {
    learned = feedbackWeights(base, log, input, opts.baseFeedbackRecords ?? 0);
  }
  const ensemble = await new AnomalyEnsemble({
    ...merged,
    contamination: after,
    ...(learned ? { weights: learned.weights } : {}),
    onProgress: opts.onProgress,
  }).fit(fitInput(train, set), set.features);
  const fpFlagged = set.falsePositiveRows.rows ? ensemble.detect(set.falsePositiveRows, set.features).isAnomaly.reduce((a, b) => a + b, 0) : 0;
  const { X, falsePositiveRows, ...summary } = set;
  return {
    ensemble,
    trainingSet: { ...summary, rows: X.rows },
    contamination: { before, after },
    learnedWeights: learned,
    falsePositivesStillFlagged: fpFlagged,
    feedbackRecords: log.records.length,
  };
}
