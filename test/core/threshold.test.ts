import { describe, expect, it } from 'vitest';
import { calibrateThreshold, checkContamination, quantileSorted } from '../../src/core/threshold';

describe('threshold calibration', () => {
  it('quantiles interpolate like numpy.percentile', () => {
    // np.percentile([1,2,3,4,10], [85, 25.3]) -> [6.4, 2.012]
    const s = [1, 2, 3, 4, 10];
    expect(quantileSorted(s, 0.85)).toBeCloseTo(6.4, 12);
    expect(quantileSorted(s, 0.253)).toBeCloseTo(2.012, 12);
    expect(quantileSorted([5], 0.3)).toBe(5);
  });

  it('a contamination c flags a share c of the training scores', () => {
    const scores = Array.from({ length: 1000 }, (_, i) => i);
    const t = calibrateThreshold(scores, 0.15);
    expect(scores.filter((s) => s > t).length).toBe(150);
  });

  it('"auto" puts the fence at Q3 + 3 IQR, capped so that at most 1 % of the training rows score above it', () => {
    // 200 rows 1..200 and five far ones: Q1 = 52, Q3 = 154, IQR 102 -> fence 460 (the 99 % quantile is 2960)
    const far = [...Array.from({ length: 200 }, (_, i) => i + 1), 1000, 2000, 3000, 4000, 5000];
    expect(calibrateThreshold(far, 'auto')).toBeCloseTo(460, 10);
    expect(far.filter((s) => s > calibrateThreshold(far, 'auto'))).toEqual([1000, 2000, 3000, 4000, 5000]);
    // clean data (nothing far out): the fence lies beyond every score, the cap is the 99 % quantile
    const clean = Array.from({ length: 1000 }, (_, i) => i);
    const t = calibrateThreshold(clean, 'auto');
    expect(t).toBeCloseTo(989.01, 10);
    expect(clean.filter((s) => s > t).length).toBe(10);
    // ties: IQR 0 -> the cap; tied rows are never flagged
    const ties = [...Array(300).fill(2), 3, 4];
    expect(calibrateThreshold(ties, 'auto')).toBe(2);
    expect(calibrateThreshold([2, 2, 2, 2, 3], 'auto')).toBeCloseTo(2.96, 10);
  });

  it('validates contamination', () => {
    expect(checkContamination(0.5, 'X')).toBe(0.5);
    expect(checkContamination('auto', 'X')).toBe('auto');
    for (const bad of [0, 0.51, -0.1, NaN, 'x', null]) {
      expect(() => checkContamination(bad, 'IsolationForest')).toThrow(
        /The 'contamination' option of IsolationForest must be a number in \(0, 0.5\] or "auto"/,
      );
    }
  });
});
