import { beforeAll, describe, expect, it } from 'vitest';
import { AnomalyEnsemble, DEFAULT_DETECTORS, DETECTOR_NAMES } from '../../src/ensemble/ensemble';
import { importanceTable, permutationImportance, rankFeatures, type PermutationImportance } from '../../src/explain/permutation';
import { FEATURES, PLANTED_FEATURES, plantedData } from './fixture';

const { data } = plantedData();
const top2 = (ranked: string[]) => [...ranked.slice(0, 2)].sort();

describe('permutationImportance', () => {
  // the default ensemble (Isolation Forest, kNN, HBOS, PCA)
  let ens: AnomalyEnsemble;
  let imp: PermutationImportance;
  // every detector, for the per-detector rankings
  let all: AnomalyEnsemble;
  let impAll: PermutationImportance;

  beforeAll(async () => {
    ens = await new AnomalyEnsemble({ seed: 3, contamination: 0.06 }).fit({ ...data, labels: undefined });
    imp = permutationImportance(ens, data, { nRepeats: 3, seed: 1 });
    all = await new AnomalyEnsemble({ seed: 3, contamination: 0.06, detectors: DETECTOR_NAMES, autoencoder: { epochs: 5 } }).fit({ ...data, labels: undefined });
    impAll = permutationImportance(all, data, { nRepeats: 3, seed: 1 });
  });

  it('ranks the two planted features first for the ensemble, without labels and by ROC-AUC drop', () => {
    for (const im of [imp, impAll]) {
      expect(top2(rankFeatures(im, 'ensemble'))).toEqual([...PLANTED_FEATURES]);
      expect(top2(rankFeatures(im, 'ensemble', 'aucDrop'))).toEqual([...PLANTED_FEATURES]);
      expect(top2(rankFeatures(im, 'ensemble', 'scoreChange'))).toEqual([...PLANTED_FEATURES]);
    }
  });

  it('ranks them first for every detector by ROC-AUC drop, and by the flagged rows\' score drop for all but the One-Class SVM', () => {
    expect(all.options.detectors).toEqual([...DETECTOR_NAMES]);
    for (const d of all.options.detectors) expect(top2(rankFeatures(impAll, d, 'aucDrop')), d).toEqual([...PLANTED_FEATURES]);
    for (const d of ['isolationForest', 'localOutlierFactor', 'autoencoder'] as const) expect(top2(rankFeatures(impAll, d)), d).toEqual([...PLANTED_FEATURES]);
    // the default ensemble's own detectors
    expect(ens.options.detectors).toEqual([...DEFAULT_DETECTORS]);
    for (const d of ens.options.detectors) expect(top2(rankFeatures(imp, d, 'aucDrop')), d).toEqual([...PLANTED_FEATURES]);
    expect(top2(rankFeatures(imp, 'isolationForest')), 'isolationForest').toEqual([...PLANTED_FEATURES]);
  });

  it('reports mean and standard deviation over the seeded repeats, per model and feature', () => {
    expect(imp.nRepeats).toBe(3);
    expect(imp.nRows).toBe(data.X.rows);
    expect(Object.keys(imp.models)).toEqual(['ensemble', 'isolationForest', 'knn', 'hbos', 'pca']);
    expect(Object.keys(impAll.models)).toEqual(['ensemble', 'isolationForest', 'oneClassSvm', 'localOutlierFactor', 'autoencoder', 'knn', 'ecod', 'copod', 'hbos', 'pca']);
    for (const mi of [...Object.values(imp.models), ...Object.values(impAll.models)]) {
      expect(mi!.scoreDrop.map((s) => s.feature)).toEqual(FEATURES);
      expect(mi!.baselineAuc).toBeGreaterThan(0.5);
      for (const s of [...mi!.scoreDrop, ...mi!.scoreChange, ...mi!.aucDrop!]) {
        expect(s.values).toHaveLength(3);
        const mean = s.values.reduce((a, b) => a + b, 0) / 3;
        expect(s.mean).toBeCloseTo(mean, 12);
        expect(s.std).toBeCloseTo(Math.sqrt(s.values.reduce((a, b) => a + (b - mean) ** 2, 0) / 3), 12);
      }
    }
    expect(imp.models.ensemble!.flagged).toBeGreaterThan(0);
    const table = importanceTable(imp);
    expect(table.map((r) => r.feature)).toEqual(rankFeatures(imp));
    expect(Object.keys(table[0])).toEqual(['feature', 'score_drop', 'score_drop_std', 'score_change', 'score_change_std', 'auc_drop', 'auc_drop_std']);
  });

  it('is deterministic for a seed and changes with it', () => {
    const again = permutationImportance(ens, data, { nRepeats: 3, seed: 1 });
    expect(JSON.stringify({ ...again, seconds: 0 })).toBe(JSON.stringify({ ...imp, seconds: 0 }));
    const other = permutationImportance(ens, data, { nRepeats: 3, seed: 2 });
    expect(other.models.ensemble!.scoreDrop[1].values).not.toEqual(imp.models.ensemble!.scoreDrop[1].values);
  });

  it('samples at most maxRows rows (seeded), and leaves the ROC-AUC drop out without labels', () => {
    const small = permutationImportance(ens, { features: data.features, X: data.X }, { nRepeats: 1, maxRows: 200, seed: 4 });
    expect(small.nRows).toBe(200);
    expect(small.models.ensemble!.aucDrop).toBeUndefined();
    expect(() => rankFeatures(small, 'ensemble', 'aucDrop')).toThrow(/needs labels/);
    const again = permutationImportance(ens, { features: data.features, X: data.X }, { nRepeats: 1, maxRows: 200, seed: 4 });
    expect(again.models.ensemble!.scoreChange).toEqual(small.models.ensemble!.scoreChange);
  });

  it('validates its options', () => {
    expect(() => permutationImportance(ens, data, { nRepeats: 0 })).toThrow(/'nRepeats' option of permutationImportance must be an integer >= 1. Got 0/);
    expect(() => permutationImportance(ens, data, { maxRows: 1 })).toThrow(/'maxRows'/);
    expect(() => permutationImportance(ens, data, { seed: -1 })).toThrow(/'seed' option of permutationImportance/);
    expect(() => permutationImportance(ens, data, { labels: [1, 0] })).toThrow(/2 labels for 640 rows/);
  });
});
