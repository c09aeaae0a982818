/**
 * Global permutation importance (Breiman 2001; scikit-learn's `permutation_importance`) for the
 * ensemble and each of its detectors: shuffle one feature column at a time across a seeded sample
 * of rows, rescore, and measure how much the scores move, and when labels are given how much the
 * ROC-AUC drops. Repeated `nRepeats` times with seeded permutations: mean and standard deviation
 * per feature.
 *
 * Three measures per model: `scoreDrop` (how much the scores of the rows the model flags fall:
 * why they are detected; no labels), `scoreChange` (how much any row's score moves: sensitivity;
 * no labels) and `aucDrop` (how much the ranking of labelled anomalies suffers; with labels).
 */
import type { DetectorName } from '../core/detector';
import type { DenseMatrix } from '../core/matrix';
import { recordSeed } from '../core/provenance';
import { checkSeed, Random } from '../core/random';
import type { AnomalyEnsemble, DetectionResult } from '../ensemble/ensemble';
import { rocAuc } from '../metrics/classification';
import { modelRows, type ExplainInput } from './rows';

/** Mean and standard deviation of one feature's importance over the repeats. */
export interface FeatureImportanceStat {
  feature: string;
  mean: number;
  std: number;
  /** The value of every repeat, in repeat order. */
  values: number[];
}

/** Importances for one model: the ensemble or one detector. Features in model order. */
export interface ModelImportance {
  /**
   * Why rows are detected: the mean drop of the scores of the rows the model flags (score above
   * its threshold, before permuting) when the feature is permuted, in units of the spread of the
   * model's training scores (IQR, or standard deviation with `zscore` normalisation; the ensemble
   * score is already on that scale). Positive when the feature's values make those rows look
   * anomalous. Needs no labels; 0 for every feature when the model flags no sampled row.
   *
   * It can be negative: a model fitted on contaminated traffic learns the joint pattern of
   * anomalies that come in clusters, and shuffling one feature of such a row breaks the pattern
   * and makes it look *more* anomalous (on the seed data the autoencoder's flagged rows score
   * higher whichever feature is shuffled). Use `aucDrop` when labels exist.
   */
  scoreDrop: FeatureImportanceStat[];
  /**
   * Sensitivity: the mean absolute change of every sampled row's score when the feature is
   * permuted, in the same units. A feature that only moves normal rows around scores here too.
   */
  scoreChange: FeatureImportanceStat[];
  /** Sampled rows the model flags (the rows {@link scoreDrop} averages over). */
  flagged: number;
  /** ROC-AUC of the unpermuted scores on the sampled rows; only with labels of both classes. */
  baselineAuc?: number;
  /** Drop in ROC-AUC when the feature is permuted (baseline - permuted); only with labels. */
  aucDrop?: FeatureImportanceStat[];
}

/** What {@link permutationImportance} returns. */
export interface PermutationImportance {
  features: string[];
  /** Rows scored (a seeded sample of the data when it has more than `maxRows`). */
  nRows: number;
  nRepeats: number;
  seed: number;
  /** The ensemble's fused score, then each detector's score. */
  models: Partial<Record<'ensemble' | DetectorName, ModelImportance>>;
  /** Wall-clock seconds of the computation. */
  seconds: number;
}

/** Options of {@link permutationImportance}. */
export interface PermutationImportanceOptions {
  /** Permutations per feature. @defaultValue 5 */
  nRepeats?: number;
  /** Seed of the row sample and of every permutation. @defaultValue 0 */
  seed?: number;
  /**
   * Score at most this many rows: larger data is sampled (seeded, without replacement). The cost
   * is `features x nRepeats` scorings of this many rows. @defaultValue 1000
   */
  maxRows?: number;
  /** 1 = anomaly, 0 = normal per row of `data`: adds the ROC-AUC drop. @defaultValue `data.labels` when present */
  labels?: ArrayLike<number>;
}

/**
 * Permutation importance of every feature for the ensemble score and each detector's score.
 *
 * @param ens - a fitted (or loaded) ensemble
 * @param data - rows to measure on (training or held-out traffic)
 * @returns per model, per feature: mean and standard deviation over repeats of the flagged rows'
 *   score drop, of every row's score change and, with labels, of the ROC-AUC drop
 * @throws RangeError for bad options or labels of the wrong length
 * @remarks
 * Deterministic for a fixed `seed` (the row sample and every permutation come from it).
 * Cost: `1 + features x nRepeats` calls of {@link AnomalyEnsemble.detectScaled} on `maxRows` rows,
 * dominated by the Local Outlier Factor (exact kNN against every training row) and the One-Class
 * SVM (every support vector), so linear in `maxRows x nRepeats`. Measured on the 10k seed file
 * (7,500 training rows, 10 features, all four detectors, 2 vCPUs, wasm backend;
 * bench/feedback-experiment.mjs): 1,000 rows x 5 repeats 3.8 s, 2,500 x 5 8.5 s, all 10,000 rows
 * x 1 repeat 7.3 s.
 * @example
 * ```ts
 * const imp = permutationImportance(ens, test, { nRepeats: 5, seed: 42 });
 * showChart(featureImportanceChart(imp.models.ensemble!.scoreDrop));
 * ```
 */
export function permutationImportance(ens: AnomalyEnsemble, data: ExplainInput, opts: PermutationImportanceOptions = {}): PermutationImportance {
  const t0 = performance.now();
  const nRepeats = opts.nRepeats ?? 5;
  if (!Number.isInteger(nRepeats) || nRepeats < 1) throw new RangeError(`The 'nRepeats' option of permutationImportance must be an integer >= 1. Got ${nRepeats}.`);
  const maxRows = opts.maxRows ?? 1000;
  if (!Number.isInteger(maxRows) || maxRows < 2) throw new RangeError(`The 'maxRows' option of permutationImportance must be an integer >= 2. Got ${maxRows}.`);
  const seed = opts.seed ?? 0;
  checkSeed(seed, 'permutationImportance');
  recordSeed('permutationImportance', seed);
  const labelsAll = opts.labels ?? data.labels;
  if (labelsAll && labelsAll.length !== data.X.rows) throw new RangeError(`permutationImportance: ${labelsAll.length} labels for ${data.X.rows} rows.`);
  if (data.X.rows < 2) throw new RangeError('permutationImportance: needs at least 2 rows.');

  const rng = new Random(seed);
  const n = data.X.rows;
  const idx = n > maxRows ? Array.from(rng.sampleIndices(n, maxRows)).sort((a, b) => a - b) : Array.from({ length: n }, (_, i) => i);
  const names = ens.featureNames;
  const { Xs } = modelRows(ens, data, idx);
  const m = Xs.rows;
  const d = Xs.cols;
  const labels = labelsAll ? Uint8Array.from(idx, (i) => (labelsAll[i] ? 1 : 0)) : undefined;
  const positives = labels ? labels.reduce((a, b) => a + b, 0) : 0;
  const withAuc = labels !== undefined && positives > 0 && positives < m;

  const base = ens.detectScaled(Xs);
  const models: ('ensemble' | DetectorName)[] = ['ensemble', ...base.detectors];
  const zscore = ens.options.normalization === 'zscore';
  const spread = (model: 'ensemble' | DetectorName) => {
    if (model === 'ensemble') return 1;
    const st = ens.stats(model);
    return zscore ? st.std : st.iqr;
  };
  const scoresOf = (r: DetectionResult, model: 'ensemble' | DetectorName) => (model === 'ensemble' ? r.ensembleScore : r.scores[model]!);
  const baseAuc = new Map(models.map((mo) => [mo, withAuc ? rocAuc(labels!, scoresOf(base, mo)) : NaN]));

  const thresholdOf = (model: 'ensemble' | DetectorName) => (model === 'ensemble' ? base.ensembleThreshold : ens.detector(model).threshold);
  // the rows each model flags before permuting: the scoreDrop averages over them
  const flagged = new Map(
    models.map((mo) => {
      const a = scoresOf(base, mo);
      const t = thresholdOf(mo);
      const rows: number[] = [];
      for (let i = 0; i < m; i++) if (a[i] > t) rows.push(i);
      return [mo, rows];
    }),
  );
  // [model][feature][repeat] of each measure
  const perRepeat = () => new Map(models.map((mo) => [mo, names.map(() => new Array<number>(nRepeats))]));
  const change = perRepeat();
  const scoreDrop = perRepeat();
  const drop = perRepeat();
  const work = new Float64Array(Xs.data);
  const permuted: DenseMatrix = { rows: m, cols: d, data: work };
  for (let j = 0; j < d; j++) {
    for (let rep = 0; rep < nRepeats; rep++) {
      const perm = rng.permutation(m);
      for (let i = 0; i < m; i++) work[i * d + j] = Xs.data[perm[i] * d + j];
      const r = ens.detectScaled(permuted);
      for (const mo of models) {
        const a = scoresOf(base, mo);
        const b = scoresOf(r, mo);
        let s = 0;
        for (let i = 0; i < m; i++) s += Math.abs(b[i] - a[i]);
        change.get(mo)![j][rep] = s / m / spread(mo);
        const fl = flagged.get(mo)!;
        let sd = 0;
        for (const i of fl) sd += a[i] - b[i];
        scoreDrop.get(mo)![j][rep] = fl.length ? sd / fl.length / spread(mo) : 0;
        if (withAuc) drop.get(mo)![j][rep] = baseAuc.get(mo)! - rocAuc(labels!, b);
      }
    }
    for (let i = 0; i < m; i++) work[i * d + j] = Xs.data[i * d + j];
  }
  const stat = (feature: string, values: number[]): FeatureImportanceStat => {
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    return { feature, mean, std, values };
  };
  const out: PermutationImportance['models'] = {};
  for (const mo of models) {
    const mi: ModelImportance = {
      scoreDrop: names.map((f, j) => stat(f, scoreDrop.get(mo)![j])),
      scoreChange: names.map((f, j) => stat(f, change.get(mo)![j])),
      flagged: flagged.get(mo)!.length,
    };
    if (withAuc) {
      mi.baselineAuc = baseAuc.get(mo)!;
      mi.aucDrop = names.map((f, j) => stat(f, drop.get(mo)![j]));
    }
    out[mo] = mi;
  }
  return { features: names, nRows: m, nRepeats, seed, models: out, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Feature names ranked by importance, most important first (ties by feature order).
 * @param model - `"ensemble"` or a detector name @defaultValue "ensemble"
 * @param measure - `"scoreDrop"`, `"scoreChange"` or `"aucDrop"` @defaultValue "scoreDrop"
 * @throws RangeError when the model or measure was not computed
 */
export function rankFeatures(
  imp: PermutationImportance,
  model: 'ensemble' | DetectorName = 'ensemble',
  measure: 'scoreDrop' | 'scoreChange' | 'aucDrop' = 'scoreDrop',
): string[] {
  const stats = imp.models[model]?.[measure];
  if (!stats) throw new RangeError(`rankFeatures: no ${measure} for '${model}' (computed: ${Object.keys(imp.models).join(', ')}${measure === 'aucDrop' ? '; the ROC-AUC drop needs labels of both classes' : ''}).`);
  return stats
    .map((s, j) => ({ s, j }))
    .sort((a, b) => b.s.mean - a.s.mean || a.j - b.j)
    .map((x) => x.s.feature);
}

/**
 * One model's importances as table rows (feature, mean and std of the flagged rows' score drop,
 * of every row's score change and, with labels, of the ROC-AUC drop), ranked by the first.
 */
export function importanceTable(imp: PermutationImportance, model: 'ensemble' | DetectorName = 'ensemble'): Record<string, string | number>[] {
  const mi = imp.models[model];
  if (!mi) throw new RangeError(`importanceTable: no importances for '${model}'.`);
  const r4 = (v: number) => Number(v.toPrecision(4));
  return rankFeatures(imp, model).map((feature) => {
    const j = imp.features.indexOf(feature);
    const row: Record<string, string | number> = {
      feature,
      score_drop: r4(mi.scoreDrop[j].mean),
      score_drop_std: r4(mi.scoreDrop[j].std),
      score_change: r4(mi.scoreChange[j].mean),
      score_change_std: r4(mi.scoreChange[j].std),
    };
    if (mi.aucDrop) {
      row.auc_drop = r4(mi.aucDrop[j].mean);
      row.auc_drop_std = r4(mi.aucDrop[j].std);
    }
    return row;
  });
}
