/**
 * The feedback-loop experiment: a simulated operator reviews detections round after round, and
 * the model is retrained with the labels; false positives and recall are measured on a held-out
 * split that neither the model nor the operator ever sees.
 *
 * Protocol (every choice seeded):
 * 1. Split the labelled rows into train, review and held-out parts (default 50 / 25 / 25%).
 * 2. Fit the ensemble, without labels, on train + review (the traffic the operator has).
 * 3. Each round: score the review split; the operator works through the review queue, the
 *    detections not yet labelled, and labels the first `reviewPerRound` truthfully (`tp` when the
 *    row's label is 1, else `fp`). The labels are appended to the feedback log (a file when
 *    given). The model is retrained with the whole log ({@link retrainWithFeedback}, base = the
 *    model the operator reviewed).
 * 4. Report held-out false positives, recall and the rest, per round.
 *
 * The ground-truth labels are read only to play the operator; retraining sees only the log.
 */
import type { DetectorName } from '../core/detector';
import { Random } from '../core/random';
import type { Contamination } from '../core/threshold';
import type { TrafficData } from '../data/csv';
import { subsetRows } from '../data/split';
import { AnomalyEnsemble, type DetectionResult, type EnsembleOptions } from '../ensemble/ensemble';
import { rowIds } from '../ensemble/output';
import { confusion, rates, rocAuc } from '../metrics/classification';
import { retrainWithFeedback } from './retrain';
import { appendFeedback, feedbackLog, feedbackStats, labelRows, loadFeedback, type FeedbackRecord } from './store';

/** How the operator's review queue is ordered. */
export type ReviewOrder = 'uncertainty' | 'score';

/** Options of {@link runFeedbackExperiment}. */
export interface FeedbackExperimentOptions {
  /** Seed of the split and of the ensemble. @defaultValue 42 */
  seed?: number;
  /** Review-and-retrain rounds. @defaultValue 3 */
  rounds?: number;
  /** Detections the operator labels per round. @defaultValue 50 */
  reviewPerRound?: number;
  /** Share of rows in the train split. @defaultValue 0.5 */
  trainFraction?: number;
  /** Share of rows in the review split; the rest is held out. @defaultValue 0.25 */
  reviewFraction?: number;
  /**
   * The review queue's order: `"uncertainty"` lists the detections nearest the threshold first
   * (the lowest-scoring detections: where the model is least sure, and where false positives
   * are); `"score"` lists the highest-scoring detections first. @defaultValue "uncertainty"
   */
  order?: ReviewOrder;
  /** Whether the review split is part of the (unlabelled) training data. @defaultValue true */
  reviewInTraining?: boolean;
  /** Ensemble options (the seed is `seed`). */
  ensemble?: EnsembleOptions;
  /** Copies of each confirmed false positive in training. @defaultValue 10 */
  fpWeight?: number;
  /** Fusion weights on retraining: learned from the feedback, or kept. @defaultValue "feedback" */
  weights?: 'feedback' | 'keep';
  /** Append the labels to this file and read it back every round (exercises the store). */
  feedbackFile?: string;
  /** Called after each round (round 0 is the model before any feedback). */
  onRound?: (r: FeedbackRound) => void;
}

/** Detection quality on one split. */
export interface SplitMetrics {
  rows: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  precision: number;
  recall: number;
  f1: number;
  rocAuc: number;
}

/** One round of the experiment. */
export interface FeedbackRound {
  /** 0 = before any feedback. */
  round: number;
  /** Labels given in the review that led to this model (0 for round 0). */
  newLabels: { tp: number; fp: number };
  /** All labels in force. */
  labels: { tp: number; fp: number; fn: number };
  trainRows: number;
  removedFromTraining: number;
  addedToTraining: number;
  contamination: Contamination;
  /** Fusion weights of the model. */
  weights: Partial<Record<DetectorName, number>>;
  /** Whether the weights were learned from feedback. */
  learnedWeights: boolean;
  falsePositivesStillFlagged: number;
  heldOut: SplitMetrics;
  review: SplitMetrics;
  /** Seconds to fit this round's model. */
  fitSeconds: number;
}

/** What {@link runFeedbackExperiment} returns. */
export interface FeedbackExperimentReport {
  options: Required<Omit<FeedbackExperimentOptions, 'ensemble' | 'feedbackFile' | 'onRound'>> & { ensemble: EnsembleOptions };
  splits: { train: number; review: number; heldOut: number; heldOutAnomalies: number };
  rounds: FeedbackRound[];
  /** 1 - (held-out false positives after the last round) / (before feedback). */
  falsePositiveReduction: number;
  /** Held-out recall after the last round minus before feedback (in [-1, 1]; x 100 for points). */
  recallChange: number;
  seconds: number;
}

function metrics(labels: Uint8Array, r: DetectionResult): SplitMetrics {
  const c = confusion(labels, r.isAnomaly);
  const q = rates(c);
  return { rows: labels.length, tp: c.tp, fp: c.fp, fn: c.fn, tn: c.tn, precision: q.precision, recall: q.recall, f1: q.f1, rocAuc: rocAuc(labels, r.ensembleScore) };
}

/**
 * Run the simulated feedback loop (see the module notes) on labelled traffic.
 * @param data - traffic with a label column (used only to play the operator and to measure)
 * @throws RangeError for data without labels or bad fractions
 * @example
 * ```ts
 * const rep = await runFeedbackExperiment(generateTraffic({ rows: 10000, seed: 43 }), { seed: 42 });
 * rep.falsePositiveReduction; // 0.72 to 0.90 over three seeds (results/FEEDBACK.md)
 * ```
 */
export async function runFeedbackExperiment(data: TrafficData, opts: FeedbackExperimentOptions = {}): Promise<FeedbackExperimentReport> {
  const t0 = performance.now();
  if (!data.labels) throw new RangeError('runFeedbackExperiment: the data needs a label column (to play the operator and to measure).');
  const o = {
    seed: opts.seed ?? 42,
    rounds: opts.rounds ?? 3,
    reviewPerRound: opts.reviewPerRound ?? 50,
    trainFraction: opts.trainFraction ?? 0.5,
    reviewFraction: opts.reviewFraction ?? 0.25,
    order: opts.order ?? 'uncertainty',
    reviewInTraining: opts.reviewInTraining ?? true,
    fpWeight: opts.fpWeight ?? 10,
    weights: opts.weights ?? 'feedback',
    ensemble: { ...opts.ensemble },
  } satisfies FeedbackExperimentReport['options'];
  if (!(o.trainFraction > 0 && o.reviewFraction > 0 && o.trainFraction + o.reviewFraction < 1)) {
    throw new RangeError(`runFeedbackExperiment: trainFraction and reviewFraction must be positive with a sum below 1. Got ${o.trainFraction} and ${o.reviewFraction}.`);
  }
  const n = data.X.rows;
  const perm = new Random(o.seed).permutation(n);
  const nTrain = Math.round(o.trainFraction * n);
  const nReview = Math.round(o.reviewFraction * n);
  const sorted = (a: Int32Array) => Array.from(a).sort((x, y) => x - y);
  const trainIdx = sorted(perm.subarray(0, nTrain));
  const reviewIdx = sorted(perm.subarray(nTrain, nTrain + nReview));
  const heldIdx = sorted(perm.subarray(nTrain + nReview));
  const review = subsetRows(data, reviewIdx);
  const reviewIds = rowIds(review);
  const held = subsetRows(data, heldIdx);
  // the model never sees a label: strip them from the training rows
  const trainRows = subsetRows(data, o.reviewInTraining ? [...trainIdx, ...reviewIdx] : trainIdx);
  const train: TrafficData = { ...trainRows, labels: undefined };

  const ensOptions: EnsembleOptions = { ...o.ensemble, seed: o.seed };
  const records: FeedbackRecord[] = [];
  const readLog = () => (opts.feedbackFile ? loadFeedback(opts.feedbackFile, { missingOk: true }) : feedbackLog(records));
  const rounds: FeedbackRound[] = [];

  let t = performance.now();
  let model = await new AnomalyEnsemble(ensOptions).fit(train);
  const contamination = model.options.contamination;
  let baseFeedbackRecords = 0;
  let round: FeedbackRound = {
    round: 0,
    newLabels: { tp: 0, fp: 0 },
    labels: { tp: 0, fp: 0, fn: 0 },
    trainRows: train.X.rows,
    removedFromTraining: 0,
    addedToTraining: 0,
    contamination: model.options.contamination,
    weights: model.weights,
    learnedWeights: false,
    falsePositivesStillFlagged: 0,
    heldOut: metrics(held.labels!, model.detect(held)),
    review: metrics(review.labels!, model.detect(review)),
    fitSeconds: (performance.now() - t) / 1000,
  };
  rounds.push(round);
  opts.onRound?.(round);
  for (let k = 1; k <= o.rounds; k++) {
    // the operator's review: the queue of unlabelled detections, first reviewPerRound of them
    const log = readLog();
    const r = model.detect(review);
    const queue: number[] = [];
    for (let i = 0; i < review.X.rows; i++) if (r.isAnomaly[i] && !log.latest.has(reviewIds[i])) queue.push(i);
    queue.sort((a, b) => (o.order === 'score' ? r.ensembleScore[b] - r.ensembleScore[a] : r.ensembleScore[a] - r.ensembleScore[b]) || a - b);
    const picked = queue.slice(0, o.reviewPerRound);
    const at = new Date(Date.UTC(2025, 0, 1) + k * 86_400_000);
    const tpRows = picked.filter((i) => review.labels![i] === 1);
    const fpRows = picked.filter((i) => review.labels![i] === 0);
    const fresh = [
      ...labelRows(review, { rows: tpRows }, 'tp', { at, note: `round ${k}`, model }),
      ...labelRows(review, { rows: fpRows }, 'fp', { at, note: `round ${k}`, model }),
    ];
    if (opts.feedbackFile) appendFeedback(opts.feedbackFile, fresh);
    else records.push(...fresh);
    const updated = readLog();
    t = performance.now();
    const res = await retrainWithFeedback(train, updated, {
      base: model,
      baseFeedbackRecords,
      options: ensOptions,
      contamination,
      fpWeight: o.fpWeight,
      weights: o.weights,
    });
    baseFeedbackRecords = res.feedbackRecords;
    const fitSeconds = (performance.now() - t) / 1000;
    model.dispose();
    model = res.ensemble;
    const st = feedbackStats(updated);
    round = {
      round: k,
      newLabels: { tp: tpRows.length, fp: fpRows.length },
      labels: { tp: st.tp, fp: st.fp, fn: st.fn },
      trainRows: res.trainingSet.rows,
      removedFromTraining: res.trainingSet.removed,
      addedToTraining: res.trainingSet.added,
      contamination: res.contamination.after,
      weights: model.weights,
      learnedWeights: res.learnedWeights !== undefined,
      falsePositivesStillFlagged: res.falsePositivesStillFlagged,
      heldOut: metrics(held.labels!, model.detect(held)),
      review: metrics(review.labels!, model.detect(review)),
      fitSeconds,
    };
    rounds.push(round);
    opts.onRound?.(round);
  }
  model.dispose();
  const first = rounds[0].heldOut;
  const last = rounds[rounds.length - 1].heldOut;
  return {
    options: o,
    splits: { train: trainIdx.length, review: reviewIdx.length, heldOut: heldIdx.length, heldOutAnomalies: held.labels!.reduce((a, b) => a + b, 0) },
    rounds,
    falsePositiveReduction: first.fp > 0 ? 1 - last.fp / first.fp : 0,
    recallChange: last.recall - first.recall,
    seconds: (performance.now() - t0) / 1000,
  };
}
