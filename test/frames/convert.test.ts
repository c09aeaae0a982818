import * as util from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DataValidationError, MissingDependencyError } from '../../src/core/errors';
import { generateTraffic } from '../../src/data/generator';
import { AnomalyEnsemble } from '../../src/ensemble/ensemble';
import { detectionRows } from '../../src/ensemble/output';
import { metricsByModel } from '../../src/ensemble/evaluate';
import { permutationImportance } from '../../src/explain/permutation';
import { StreamHistory } from '../../src/charts/stream';
import type { FeedbackRound, SplitMetrics } from '../../src/feedback/experiment';
import { danfo, isFrame, isSeries, setDanfoLoaderForTests } from '../../src/frames/danfo';
import {
  dataFrameToTraffic,
  detectionToDataFrame,
  feedbackRoundsToDataFrame,
  importanceToDataFrame,
  metricsToDataFrame,
  streamWindowsToDataFrame,
  toDataFrame,
  trafficToDataFrame,
} from '../../src/frames/convert';
import type { DetectionResult } from '../../src/ensemble/ensemble';

describe('danfo.js DataFrames', () => {
  const data = generateTraffic({ rows: 120, anomalyRatio: 0.1, seed: 2 });
  let ens: AnomalyEnsemble;
  let r: DetectionResult;

  beforeAll(async () => {
    ens = await new AnomalyEnsemble({ seed: 1, detectors: ['isolationForest', 'localOutlierFactor'] }).fit(data);
    r = ens.detect(data);
  });

  it('round-trips traffic through a DataFrame', () => {
    const df = trafficToDataFrame(data);
    expect(df.shape).toEqual([120, 12]);
    expect(df.columns).toEqual(data.header);
    const back = dataFrameToTraffic(df);
    expect(back.X.rows).toBe(120);
    // danfo labels non-integer columns float32 but keeps the JavaScript numbers given
    expect(Array.from(back.X.data)).toEqual(Array.from(data.X.data));
    expect(Array.from(back.labels!)).toEqual(Array.from(data.labels!));
  });

  it('returns detection results as a DataFrame, (result, data), and validates input frames', () => {
    const df = detectionToDataFrame(r, data);
    expect(df.shape[0]).toBe(120);
    for (const c of ['row', 'row_id', 'is_anomaly', 'severity', 'ensemble_score', 'isolationForest_score', 'packet_size', 'label']) expect(df.columns).toContain(c);
    // the same rows as detectionRows
    const rows = detectionRows(r, data);
    expect(df.values.map((v) => v[df.columns.indexOf('ensemble_score')])).toEqual(rows.map((x) => x.ensemble_score));
    // an analyst's filter and sort, on danfo's own methods
    const flagged = df.loc({ rows: df.is_anomaly.eq(1) }).sortValues('ensemble_score', { ascending: false });
    expect(flagged.shape[0]).toBe(rows.filter((x) => x.is_anomaly === 1).length);
    expect(flagged.ensemble_score.values[0]).toBe(Math.max(...rows.map((x) => x.ensemble_score)));
    // a filter of a filter (row labels no longer 0..n-1) works with loc
    const high = flagged.loc({ rows: flagged.severity.eq('high') });
    expect(high.shape[0]).toBe(rows.filter((x) => x.is_anomaly === 1 && x.severity === 'high').length);
    // without the data: only the result columns
    expect(detectionToDataFrame(r).columns).not.toContain('packet_size');
    expect(() => detectionToDataFrame(data as never, r as never)).toThrow(/takes \(result, data\)/);
    expect(() => dataFrameToTraffic({} as never)).toThrow(DataValidationError);
    const bad = new (danfo().DataFrame)({ packet_size: [1, 2] });
    expect(() => dataFrameToTraffic(bad)).toThrow(/missing required columns 'duration'/);
  });

  it('metrics, one row per model, snake_case columns', () => {
    const m = metricsByModel(data.labels!, r);
    const df = metricsToDataFrame(m);
    expect(df.columns).toEqual(['model', 'accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'pr_auc', 'tp', 'fp', 'fn', 'tn']);
    expect(df.model.values).toEqual(['Isolation Forest', 'Local Outlier Factor', 'Ensemble']);
    expect(df.roc_auc.values).toEqual([m.isolationForest!.rocAuc, m.localOutlierFactor!.rocAuc, m.ensemble!.rocAuc]);
    expect(df.tp.add(df.fp).values).toEqual([m.isolationForest!.tp + m.isolationForest!.fp, m.localOutlierFactor!.tp + m.localOutlierFactor!.fp, m.ensemble!.tp + m.ensemble!.fp]);
  });

  it('permutation importance in long form: one row per model and feature', () => {
    const imp = permutationImportance(ens, data, { nRepeats: 2, seed: 3, maxRows: 60 });
    const df = importanceToDataFrame(imp);
    const models = Object.keys(imp.models).length;
    expect(df.shape).toEqual([models * imp.features.length, 8]);
    expect(df.columns).toEqual(['model', 'feature', 'score_drop', 'score_drop_std', 'score_change', 'score_change_std', 'auc_drop', 'auc_drop_std']);
    const ensRows = df.loc({ rows: df.model.eq('Ensemble') });
    expect(ensRows.feature.values).toEqual(imp.features);
    expect(ensRows.auc_drop.values).toEqual(imp.models.ensemble!.aucDrop!.map((s) => s.mean));
    // without labels: no ROC-AUC columns
    const noLabels = importanceToDataFrame(permutationImportance(ens, { ...data, labels: undefined }, { nRepeats: 1, seed: 3, maxRows: 40 }));
    expect(noLabels.columns).not.toContain('auc_drop');
  });

  it('feedback rounds and stream windows', () => {
    const split = (fp: number): SplitMetrics => ({ rows: 100, tp: 10, fp, fn: 2, tn: 88 - fp, precision: 10 / (10 + fp), recall: 10 / 12, f1: 0.8, rocAuc: 0.95 });
    const round = (k: number, fp: number): FeedbackRound => ({
      round: k, newLabels: { tp: k, fp: k }, labels: { tp: 2 * k, fp: k, fn: 0 }, trainRows: 500 + k, removedFromTraining: k, addedToTraining: 10 * k,
      contamination: k ? 0.12 : 'auto', weights: { isolationForest: 0.7, autoencoder: 0.3 }, learnedWeights: k > 0, falsePositivesStillFlagged: 0,
      heldOut: split(fp), review: split(fp + 1), fitSeconds: 1.5,
    });
    const fr = feedbackRoundsToDataFrame([round(0, 9), round(1, 4)]);
    expect(fr.shape[0]).toBe(2);
    expect(fr.held_out_fp.values).toEqual([9, 4]);
    expect(fr.review_roc_auc.values).toEqual([0.95, 0.95]);
    expect(fr.contamination.values).toEqual(['auto', 0.12]);
    expect(fr.weight_isolationForest.values).toEqual([0.7, 0.7]);
    for (const c of ['round', 'new_tp', 'labels_fn', 'train_rows', 'removed', 'added', 'learned_weights', 'fp_still_flagged', 'fit_seconds']) expect(fr.columns).toContain(c);

    const h = new StreamHistory({ maxRows: 50 });
    h.add({ start: 0, rows: 60, result: selectRows(r, 0, 60) }, { ms: 3.5, timestamps: data.timestamps!.slice(0, 60) });
    h.add({ start: 60, rows: 60, result: selectRows(r, 60, 120) }, { ms: 2.5, timestamps: data.timestamps!.slice(60, 120) });
    const w = streamWindowsToDataFrame(h);
    expect(w.columns).toEqual(['window', 'start', 'rows', 'anomalies', 'low', 'medium', 'high', 'max_score', 'from', 'to', 'latency_ms']);
    expect(w.latency_ms.values).toEqual([3.5, 2.5]);
    expect(streamWindowsToDataFrame(h.windows).shape).toEqual([2, 11]);
    expect(streamWindowsToDataFrame([]).shape).toEqual([0, 8]);
  });

  it('builds frames from rows or columns, keeping column order and empty frames', () => {
    const df = toDataFrame([{ a: 1, b: 'x' }, { a: 2.5, c: true }]);
    expect(df.columns).toEqual(['a', 'b', 'c']);
    expect(df.values).toEqual([[1, 'x', undefined], [2.5, undefined, true]]);
    expect(toDataFrame([], ['a', 'b']).shape).toEqual([0, 2]);
    expect(toDataFrame({ z: new Float64Array([1, 2]), a: [3, 4] }).columns).toEqual(['z', 'a']);
    expect(() => toDataFrame({ a: [1], b: [1, 2] })).toThrow(/column 'b' has 2 values/);
    expect(isFrame(df)).toBe(true);
    expect(isSeries(df.a)).toBe(true);
    expect(isFrame({ values: [], index: [] })).toBe(false);
  });

  it('prints as a table, not as danfo internals (console.log, a notebook cell value)', () => {
    const df = toDataFrame([{ model: 'Isolation Forest', f1: 0.96754321 }, { model: 'Ensemble', f1: 0.5 }]);
    const text = util.inspect(df);
    expect(text).not.toContain('$data');
    expect(text).toContain('Isolation Forest');
    expect(text).toContain('0.9675');
    expect(text).toContain('[2 rows × 2 columns]');
    expect(util.inspect(df.f1)).toContain('(Series)');
    expect(util.inspect(df.groupby(['model']))).toMatch(/^danfo groupby by \["model"\]: 2 groups/);
  });
});

/** Rows [from, to) of a result (what a stream window holds). */
function selectRows(r: DetectionResult, from: number, to: number): DetectionResult {
  const cut = <T extends { slice(a: number, b: number): T }>(a: T) => a.slice(from, to);
  return {
    ...r,
    isAnomaly: cut(r.isAnomaly),
    voteCount: cut(r.voteCount),
    confidence: cut(r.confidence),
    severity: r.severity.slice(from, to),
    ensembleScore: cut(r.ensembleScore),
    scores: Object.fromEntries(Object.entries(r.scores).map(([k, v]) => [k, cut(v!)])),
    votes: Object.fromEntries(Object.entries(r.votes).map(([k, v]) => [k, cut(v!)])),
  } as DetectionResult;
}

describe('without danfojs-node', () => {
  afterEach(() => setDanfoLoaderForTests());

  it('says what to install, with the overrides it needs', () => {
    setDanfoLoaderForTests(() => {
      const e = new Error("Cannot find module 'danfojs-node'\nRequire stack:\n- x") as NodeJS.ErrnoException;
      e.code = 'MODULE_NOT_FOUND';
      throw e;
    });
    const data = generateTraffic({ rows: 10, seed: 1 });
    expect(() => trafficToDataFrame(data)).toThrow(MissingDependencyError);
    expect(() => trafficToDataFrame(data)).toThrow(/optional peer dependency.*npm install danfojs-node@1\.2\.0.*"overrides"/);
  });

  it('names the dependency of danfo that is missing', () => {
    setDanfoLoaderForTests(() => {
      const e = new Error("Cannot find module '@tensorflow/tfjs-node'") as NodeJS.ErrnoException;
      e.code = 'MODULE_NOT_FOUND';
      throw e;
    });
    expect(() => danfo()).toThrow(/danfojs-node is installed but does not load: Cannot find module '@tensorflow\/tfjs-node'/);
  });

  it('the library itself loads without danfo, tslab or a notebook (the built dist/, in a fresh process)', async () => {
    const { spawnSync } = await import('node:child_process');
    const fs = await import('node:fs');
    expect(fs.existsSync('dist/index.js'), 'dist/index.js: run npm run build (npm install does)').toBe(true);
    // block both optional packages from resolving, then load the whole API and use it
    const code = `
      const Module = require('module');
      const orig = Module._resolveFilename;
      Module._resolveFilename = function (req, ...rest) {
        if (req === 'danfojs-node' || req === 'tslab') { const e = new Error("Cannot find module '" + req + "'"); e.code = 'MODULE_NOT_FOUND'; throw e; }
        return orig.call(this, req, ...rest);
      };
      const nal = require('./dist/index.js');
      const data = nal.generateTraffic({ rows: 50, seed: 1 });
      nal.show([{ a: 1 }]);
      try { nal.trafficToDataFrame(data); } catch (e) { console.log(e.name + ': ' + e.message.split('.')[0]); }
    `;
    const res = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', cwd: process.cwd() });
    expect(res.stderr).toBe('');
    expect(res.stdout).toContain('MissingDependencyError: DataFrames need danfojs-node (danfo');
  });
});
