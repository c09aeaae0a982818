import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AnomalyEnsemble, DEFAULT_DETECTORS, SEED_DETECTORS } from '../../src/ensemble/ensemble';
import { detectionRows } from '../../src/ensemble/output';
import { detectorTable, explainRow, explainRows, explanationTable, flaggedRows } from '../../src/explain/explain';
import { featureProfile, robustZ, trainingPercentile } from '../../src/explain/profile';
import { FEATURES, plantedData } from './fixture';

const { data, planted } = plantedData();
const plantedRows = planted.map((p, i) => (p ? i : -1)).filter((i) => i >= 0);

describe('featureProfile', () => {
  it('summarises each training feature: median, IQR, robust scale, percentiles', () => {
    const p = featureProfile([[1], [2], [3], [4], [5]], ['x']);
    expect(p).toMatchObject({ features: ['x'], nRows: 5, median: [3], iqr: [2], mean: [3] });
    expect(p.scale[0]).toBeCloseTo(2 / 1.349, 12);
    expect(robustZ(p, 0, 3 + 2 / 1.349)).toBeCloseTo(1, 12);
    expect(trainingPercentile(p, 0, 0)).toBe(0);
    expect(trainingPercentile(p, 0, 6)).toBe(100);
    expect(trainingPercentile(p, 0, 3)).toBeCloseTo(50, 6);
    // a constant feature: the median is typical, anything else is extremely unusual
    const c = featureProfile([[7], [7], [7]], ['k']);
    expect(robustZ(c, 0, 7)).toBe(0);
    expect(Math.abs(robustZ(c, 0, 8))).toBeGreaterThan(1e6);
    expect(trainingPercentile(c, 0, 7)).toBe(50);
    expect(JSON.parse(JSON.stringify(p))).toEqual(p);
  });
});

describe('explainRows', () => {
  // the default's detectors and the seed's four: with the autoencoder, whose reconstruction error is split per feature
  let ens: AnomalyEnsemble;
  // the default ensemble (Isolation Forest, kNN, HBOS, PCA with equal weights): no reconstruction part
  let def: AnomalyEnsemble;
  const profile = featureProfile(data);

  beforeAll(async () => {
    const unlabelled = { ...data, labels: undefined };
    ens = await new AnomalyEnsemble({ seed: 3, contamination: 0.06, detectors: [...new Set([...DEFAULT_DETECTORS, ...SEED_DETECTORS])], autoencoder: { epochs: 5 } }).fit(unlabelled);
    def = await new AnomalyEnsemble({ seed: 3, contamination: 0.06 }).fit(unlabelled);
  });

  it('names the feature each planted anomaly was planted in, with and without a training profile', () => {
    for (const model of [ens, def]) {
      for (const opts of [{ profile }, {}]) {
        for (const e of explainRows(model, data, plantedRows, opts)) {
          expect(e.topFeature, `row ${e.row}`).toBe(planted[e.row]);
          expect(e.features[0].unusual).toBe(true);
          expect(e.summary).toContain(`${planted[e.row]} = `);
        }
      }
    }
  });

  it('gives every detector vote, score against threshold and share, and agrees with detect', () => {
    expect(def.options.detectors).toEqual([...DEFAULT_DETECTORS]);
    expect(ens.options.detectors).toContain('autoencoder');
    for (const model of [ens, def]) {
      const r = model.detect(data);
      const rows = [0, 5, ...plantedRows.slice(0, 4), flaggedRows(r)[0]];
      const ex = explainRows(model, data, rows, { profile });
      const ids = detectionRows(r, data).map((x) => x.row_id);
      ex.forEach((e, k) => {
        const i = rows[k];
        expect(e.row).toBe(i);
        expect(e.rowId).toBe(ids[i]);
        expect(e.isAnomaly).toBe(r.isAnomaly[i] === 1);
        expect(e.ensembleScore).toBe(r.ensembleScore[i]);
        expect(e.ensembleThreshold).toBe(model.ensembleThreshold);
        expect(e.voteCount).toBe(r.voteCount[i]);
        expect(e.severity).toBe(r.severity[i]);
        expect(e.decision).toBe('score');
        expect(e.detectors.map((d) => d.detector)).toEqual(r.detectors);
        let fused = 0;
        for (const d of e.detectors) {
          expect(d.score).toBe(r.scores[d.detector]![i]);
          expect(d.vote).toBe(r.votes[d.detector]![i]);
          expect(d.threshold).toBe(model.detector(d.detector).threshold);
          expect(d.margin > 0).toBe(d.vote === 1);
          expect(d.weight).toBe(model.weights[d.detector]);
          fused += d.contribution;
        }
        expect(fused).toBeCloseTo(e.ensembleScore, 10);
        if (model === ens) {
          // the autoencoder part: shares sum to 1, per-feature errors sum to its score
          const shares = e.features.reduce((a, f) => a + f.reconstructionShare!, 0);
          expect(shares).toBeCloseTo(1, 10);
          const err = e.features.reduce((a, f) => a + f.reconstructionError!, 0);
          expect(err).toBeCloseTo(e.detectors.find((d) => d.detector === 'autoencoder')!.score, 5);
          expect(e.topReconstructionFeature).toBeDefined();
        } else {
          // the default's equal weights: each detector's share is a quarter of its normalised score
          for (const d of e.detectors) {
            expect(d.weight).toBeCloseTo(1 / 4, 15);
            expect(d.contribution).toBeCloseTo(d.normalizedScore / 4, 15);
          }
          // no autoencoder, no reconstruction part
          for (const f of e.features) {
            expect(f.reconstructionShare).toBeUndefined();
            expect(f.reconstructionError).toBeUndefined();
          }
          expect(e.topReconstructionFeature).toBeUndefined();
          expect(e.summary).not.toContain('reconstruction');
        }
        // most unusual first
        for (let j = 1; j < e.features.length; j++) expect(Math.abs(e.features[j - 1].z)).toBeGreaterThanOrEqual(Math.abs(e.features[j].z));
        expect(e.features.map((f) => f.feature).sort()).toEqual([...FEATURES].sort());
      });
    }
  });

  it('compares values with the training data: robust z and percentile with a profile, the scaler without', () => {
    const i = plantedRows[0];
    const withP = explainRow(ens, data, i, { profile });
    const f = withP.features.find((x) => x.feature === planted[i])!;
    const j = FEATURES.indexOf(planted[i]!);
    expect(f.value).toBe(data.X.data[i * FEATURES.length + j]);
    expect(f.reference).toBe(profile.median[j]);
    expect(f.z).toBeCloseTo((f.value - profile.median[j]) / profile.scale[j], 12);
    expect(f.percentile).toBeGreaterThan(95);
    const noP = explainRow(ens, data, i);
    const g = noP.features.find((x) => x.feature === planted[i])!;
    expect(g.percentile).toBeUndefined();
    expect(g.reference).toBe(ens.scaler.mean[j]);
    expect(g.z).toBeCloseTo((g.value - ens.scaler.mean[j]) / ens.scaler.scale[j], 12);
    expect(noP.zScale).toBe('scaler');
    expect(withP.zScale).toBe('robust');
  });

  it('is deterministic and survives a save and load', async () => {
    const a = explainRows(ens, data, plantedRows.slice(0, 3), { profile });
    expect(explainRows(ens, data, plantedRows.slice(0, 3), { profile })).toEqual(a);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-explain-'));
    await ens.save(dir);
    const back = await AnomalyEnsemble.load(dir);
    expect(explainRows(back, data, plantedRows.slice(0, 3), { profile })).toEqual(a);
    back.dispose();
  });

  it('gives tables for display', () => {
    const e = explainRow(ens, data, plantedRows[1], { profile });
    const t = explanationTable(e);
    expect(t[0].feature).toBe(planted[plantedRows[1]]);
    expect(Object.keys(t[0])).toEqual(['feature', 'value', 'reference', 'z', 'unusual', 'percentile', 'reconstruction_share']);
    expect(detectorTable(e).map((r) => r.detector)).toEqual([
      'Isolation Forest',
      'One-Class SVM',
      'Local Outlier Factor',
      'Autoencoder',
      'k-Nearest Neighbours',
      'HBOS',
      'PCA',
    ]);
    expect(Object.keys(detectorTable(e)[0])).toEqual(['detector', 'vote', 'score', 'threshold', 'margin', 'weight', 'contribution']);
    // the default ensemble: its four detectors, and no reconstruction column without an autoencoder
    const d = explainRow(def, data, plantedRows[1], { profile });
    const td = explanationTable(d);
    expect(td[0].feature).toBe(planted[plantedRows[1]]);
    expect(Object.keys(td[0])).toEqual(['feature', 'value', 'reference', 'z', 'unusual', 'percentile']);
    expect(detectorTable(d).map((r) => r.detector)).toEqual(['Isolation Forest', 'k-Nearest Neighbours', 'HBOS', 'PCA']);
  });

  it('refuses rows outside the data, a profile of other features and a bad threshold', () => {
    expect(() => explainRows(ens, data, [data.X.rows])).toThrow(/row must be an integer in \[0, 639\]. Got 640/);
    expect(() => explainRow(ens, data, 0, { profile: featureProfile([[1, 2]], ['a', 'b']) })).toThrow(/profile's features/);
    expect(() => explainRow(ens, data, 0, { unusualZ: 0 })).toThrow(/'unusualZ'/);
  });
});
