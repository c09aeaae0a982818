import { describe, expect, it } from 'vitest';
import { averagePrecision, confusion, detectionMetrics, rates, rocAuc, rocCurve } from '../../src/metrics/classification';

// /usr/bin/python3 sklearn 1.2.1: roc_auc_score(y, s) = 0.8125, average_precision_score(y, s) = 0.7678571428571428
const y = [0, 0, 1, 1, 0, 1, 0, 0, 1, 0];
const s = [0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.2, 0.4, 0.4, 0.05];

describe('metrics', () => {
  it('ROC-AUC and average precision match scikit-learn, ties included', () => {
    expect(rocAuc(y, s)).toBeCloseTo(0.8125, 12);
    expect(averagePrecision(y, s)).toBeCloseTo(0.7678571428571428, 12);
  });

  it('confusion counts and rates', () => {
    const flags = [0, 1, 1, 1, 0, 0, 0, 0, 1, 0];
    const c = confusion(y, flags);
    expect(c).toEqual({ tp: 3, fp: 1, fn: 1, tn: 5 });
    const r = rates(c);
    expect(r.accuracy).toBeCloseTo(0.8);
    expect(r.precision).toBeCloseTo(0.75);
    expect(r.recall).toBeCloseTo(0.75);
    expect(r.f1).toBeCloseTo(0.75);
  });

  it('undefined ratios are 0 and AUCs NaN when a class is missing', () => {
    const m = detectionMetrics([0, 0, 0], [0, 0, 0], [1, 2, 3]);
    expect(m.precision).toBe(0);
    expect(m.recall).toBe(0);
    expect(m.f1).toBe(0);
    expect(Number.isNaN(m.rocAuc)).toBe(true);
    expect(Number.isNaN(m.prAuc)).toBe(true);
  });

  it('ROC curve runs from (0,0) to (1,1) monotonically', () => {
    const pts = rocCurve(y, s);
    expect(pts[0]).toMatchObject({ x: 0, y: 0 });
    expect(pts[pts.length - 1]).toMatchObject({ x: 1, y: 1 });
    for (let i = 1; i < pts.length; i++) {
      expect(pts[i].x).toBeGreaterThanOrEqual(pts[i - 1].x);
      expect(pts[i].y).toBeGreaterThanOrEqual(pts[i - 1].y);
    }
  });

  it('refuses mismatched lengths', () => {
    expect(() => rocAuc([0, 1], [1])).toThrow(RangeError);
  });
});
