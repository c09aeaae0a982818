import { beforeAll, describe, expect, it } from 'vitest';
import { FeatureMismatchError } from '../../src/core/errors';
import { denseMatrix } from '../../src/core/matrix';
import type { TrafficData } from '../../src/data/csv';
import { generateTraffic } from '../../src/data/generator';
import { subsetRows } from '../../src/data/split';
import { normalizeScores } from '../../src/ensemble/combine';
import { AnomalyEnsemble, type EnsembleOptions } from '../../src/ensemble/ensemble';
import { featureSetId, rowIds } from '../../src/ensemble/output';
import { adjustContamination, FEEDBACK_WEIGHT_PRIOR, feedbackTrainingSet, feedbackWeights, retrainWithFeedback } from '../../src/feedback/retrain';
import { feedbackLog, labelRows, type FeedbackRecord } from '../../src/feedback/store';

const AT = '2025-01-01T00:00:00.000Z';
const FAST: EnsembleOptions = { seed: 7, detectors: ['isolationForest', 'localOutlierFactor'] };

describe('feedbackTrainingSet', () => {
  const all = generateTraffic({ rows: 130, anomalyRatio: 0.2, seed: 2 });
  const train = subsetRows(all, Array.from({ length: 100 }, (_, i) => i));
  const outside = subsetRows(all, [110, 111, 112, 113]);
  const ids = rowIds(train);

  it('drops confirmed anomalies, repeats confirmed false positives fpWeight times, reports what it could not use', () => {
    const records: FeedbackRecord[] = [
      ...labelRows(train, { rows: [0, 1] }, 'tp', { at: AT }),
      ...labelRows(outside, { rows: [0] }, 'fn', { at: AT }),
      ...labelRows(train, { rows: [50] }, 'fp', { at: AT }),
      ...labelRows(outside, { rows: [1] }, 'fp', { at: AT }),
      { ...labelRows(outside, { rows: [2] }, 'fp', { at: AT })[0], features: undefined },
      { ...labelRows(outside, { rows: [3] }, 'fp', { at: AT })[0], feature_set: 'abcdef01' },
    ];
    const set = feedbackTrainingSet(train, feedbackLog(records), { fpWeight: 4 });
    expect(set.originalRows).toBe(100);
    expect(set.removed).toBe(2);
    expect(set.anomaliesNotInTraining).toBe(1);
    expect(set.falsePositives).toBe(2);
    expect(set.added).toBe(3 + 4);
    expect(set.X.rows).toBe(100 - 2 + 7);
    expect(set.ignored.map((x) => x.row_id)).toEqual([records[5].row_id, records[6].row_id]);
    expect(set.ignored[0].reason).toMatch(/no feature values stored/);
    expect(set.ignored[1].reason).toMatch(/other columns/);
    const rows = Array.from({ length: set.X.rows }, (_, i) => Array.from(set.X.data.subarray(i * 10, i * 10 + 10)).join(','));
    const row = (d: TrafficData, i: number) => Array.from(d.X.data.subarray(i * 10, i * 10 + 10)).join(',');
    expect(rows).not.toContain(row(train, 0));
    expect(rows).not.toContain(row(train, 1));
    expect(rows.filter((r) => r === row(train, 50))).toHaveLength(4);
    expect(rows.filter((r) => r === row(outside, 1))).toHaveLength(4);
    expect(records[3].feature_set).toBe(featureSetId(train.features));
    expect(ids).toHaveLength(100);
  });

  it('adjusts a numeric contamination for the rows removed and added; auto stays auto', () => {
    const set = { originalRows: 1000, removed: 50, X: denseMatrix(1040, 1) };
    expect(adjustContamination(0.15, set)).toBeCloseTo((150 - 50) / 1040, 12);
    expect(adjustContamination('auto', set)).toBe('auto');
    expect(adjustContamination(0.01, { ...set, removed: 400 })).toBe(0.001);
  });
});

describe('retrainWithFeedback', () => {
  const data = generateTraffic({ rows: 1000, anomalyRatio: 0.15, seed: 42 });
  let base: AnomalyEnsemble;
  let records: FeedbackRecord[];
  let fpRows: number[];

  beforeAll(async () => {
    base = await new AnomalyEnsemble({ ...FAST, contamination: 0.2 }).fit({ ...data, labels: undefined });
    const r = base.detect(data);
    fpRows = [];
    const tpRows: number[] = [];
    for (let i = 0; i < data.X.rows; i++) if (r.isAnomaly[i]) (data.labels![i] ? tpRows : fpRows).push(i);
    records = [...labelRows(data, { rows: tpRows.slice(0, 20) }, 'tp', { at: AT }), ...labelRows(data, { rows: fpRows }, 'fp', { at: AT })];
  });

  it('has false positives to correct', () => {
    expect(fpRows.length).toBeGreaterThanOrEqual(10);
  });

  it('lowers the scores of confirmed false positives and stops flagging them, keeping the base options and seed', async () => {
    const res = await retrainWithFeedback(data, records, { base });
    const before = base.detect(subsetRows(data, fpRows));
    const after = res.ensemble.detect(subsetRows(data, fpRows));
    expect(res.falsePositivesStillFlagged).toBe(after.isAnomaly.reduce((a, b) => a + b, 0));
    expect(res.falsePositivesStillFlagged).toBeLessThanOrEqual(Math.floor(fpRows.length / 5));
    const drop = (k: number) => (before.ensembleScore[k] - base.ensembleThreshold) - (after.ensembleScore[k] - res.ensemble.ensembleThreshold);
    expect(fpRows.filter((_, k) => drop(k) > 0).length).toBeGreaterThanOrEqual(Math.ceil(0.8 * fpRows.length));
    expect(res.ensemble.seed).toBe(7);
    expect(res.ensemble.options.detectors).toEqual(FAST.detectors);
    expect(res.trainingSet).toMatchObject({ originalRows: 1000, removed: 20, falsePositives: fpRows.length, added: 9 * fpRows.length });
    expect(res.contamination).toEqual({ before: 0.2, after: (0.2 * 1000 - 20) / (1000 - 20 + 9 * fpRows.length) });
    expect(res.feedbackRecords).toBe(records.length);
    // learned fusion weights from the base model's scores on the labelled rows
    expect(res.learnedWeights).toBeDefined();
    expect(res.learnedWeights!.positives).toBe(20);
    expect(res.learnedWeights!.negatives).toBe(fpRows.length);
    const lw = res.learnedWeights!;
    const raw = FAST.detectors!.map((d) => Math.max(0, 2 * lw.auc[d]! - 1) ** 2);
    const n = lw.positives + lw.negatives;
    FAST.detectors!.forEach((d, k) => {
      expect(lw.learned[d]).toBeCloseTo(raw[k] / (raw[0] + raw[1]), 12);
      expect(lw.prior[d]).toBe(base.weights[d]);
      expect(lw.weights[d]).toBeCloseTo((n * lw.learned[d]! + FEEDBACK_WEIGHT_PRIOR * lw.prior[d]!) / (n + FEEDBACK_WEIGHT_PRIOR), 12);
    });
    expect(res.ensemble.weights.isolationForest).toBeCloseTo(lw.weights.isolationForest!, 12);
    res.ensemble.dispose();
  });

  it('never reads the label column: scrambled labels give the identical model', async () => {
    const scrambled: TrafficData = { ...data, labels: Uint8Array.from(data.labels!, (l, i) => (i % 3 === 0 ? 1 - l : l)) };
    const a = await retrainWithFeedback(data, records, { base });
    const b = await retrainWithFeedback(scrambled, records, { base });
    const c = await retrainWithFeedback({ ...data, labels: undefined }, records, { base });
    const ra = a.ensemble.detect(data).ensembleScore;
    expect(Array.from(b.ensemble.detect(data).ensembleScore)).toEqual(Array.from(ra));
    expect(Array.from(c.ensemble.detect(data).ensembleScore)).toEqual(Array.from(ra));
  });

  it('learns weights only from labels the base model was not retrained with, else keeps them', async () => {
    const first = await retrainWithFeedback(data, records, { base });
    const second = await retrainWithFeedback(data, records, { base: first.ensemble, baseFeedbackRecords: first.feedbackRecords, contamination: 0.2 });
    expect(second.learnedWeights).toBeUndefined();
    expect(second.ensemble.weights).toEqual(first.ensemble.weights);
    // the contamination starts from the raw training data's, not the base's adjusted one
    expect(second.contamination.before).toBe(0.2);
    expect(feedbackWeights(base, records, data, records.length)).toBeUndefined();
    // 'keep': the base's configured weights (the default, equal), not numbers learned from the labels
    const kept = await retrainWithFeedback(data, records, { base, weights: 'keep' });
    expect(kept.learnedWeights).toBeUndefined();
    expect(base.options.weights).toBe('equal');
    expect(kept.ensemble.options.weights).toBe('equal');
    expect(kept.ensemble.options.fusion).toBe('mean');
    for (const d of FAST.detectors!) expect(kept.ensemble.weights[d]).toBeCloseTo(1 / 2, 15);
    // and a base with agreement weights keeps learning them without labels at each fit
    const agreeBase = await new AnomalyEnsemble({ ...FAST, contamination: 0.2, weights: 'agreement' }).fit({ ...data, labels: undefined });
    const keptAgree = await retrainWithFeedback(data, records, { base: agreeBase, weights: 'keep' });
    expect(keptAgree.learnedWeights).toBeUndefined();
    expect(keptAgree.ensemble.options.weights).toBe('agreement');
    expect(keptAgree.ensemble.options.fusion).toBe('mean');
    agreeBase.dispose();
    keptAgree.ensemble.dispose();
  });

  it('learns weights from the scores stored with the labels (what the reviewed model thought)', () => {
    const withScores = labelRows(data, { rows: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }, 'tp', { at: AT, model: base });
    expect(Object.keys(withScores[0].scores!)).toEqual(FAST.detectors);
    const r = base.detect(subsetRows(data, [1]));
    expect(withScores[0].scores!.isolationForest).toBe(normalizeScores(r.scores.isolationForest!, base.stats('isolationForest'), base.options.normalization)[0]);
    // hand-made scores: the forest separates the classes, LOF does not
    const made: FeedbackRecord[] = Array.from({ length: 12 }, (_, k) => ({
      row_id: (k + 1).toString(16).padStart(16, '0'),
      label: k < 6 ? 'tp' : 'fp',
      at: AT,
      scores: { isolationForest: k < 6 ? 5 + k : k - 10, localOutlierFactor: k % 2 },
    }));
    const w = feedbackWeights(base, made, data, made.length)!;
    expect(w.auc).toEqual({ isolationForest: 1, localOutlierFactor: 0.5 });
    expect(w.learned).toEqual({ isolationForest: 1, localOutlierFactor: 0 });
    expect(w.weights.isolationForest).toBeCloseTo((12 + 50 * base.weights.isolationForest!) / 62, 12);
  });

  it('keeps the schema of traffic read from a file, and refuses a base model with other features', async () => {
    const res = await retrainWithFeedback(data, [], { options: FAST });
    expect(res.ensemble.featureNames).toEqual(data.features);
    expect(res.trainingSet.rows).toBe(1000);
    const other = await new AnomalyEnsemble(FAST).fit(denseMatrix(50, 2, Float64Array.from({ length: 100 }, (_, k) => (k * 7919) % 101)), ['a', 'b']);
    await expect(retrainWithFeedback(data, records, { base: other })).rejects.toThrow(FeatureMismatchError);
  });
});
