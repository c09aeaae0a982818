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

  it('"auto" puts the fence at Q3 + 3 IQR, capped at the largest training score', () => {
    const scores = [5, 1, 2, 3, 4, 6, 7, 8, 100];
    // sorted 1..8,100: Q1 = 3, Q3 = 7, IQR 4 -> 7 + 12 = 19
    expect(calibrateThreshold(scores, 'auto')).toBe(19);
    // no far tail: the fence (19) lies beyond every score, so the largest score is the threshold
    expect(calibrateThreshold([5, 1, 2, 3, 4, 6, 7, 8, 9], 'auto')).toBe(9);
    // ties: IQR 0 -> the largest score, so ties are not flagged
    expect(calibrateThreshold([2, 2, 2, 2, 3], 'auto')).toBe(3);
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
