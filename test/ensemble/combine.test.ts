import { describe, expect, it } from 'vitest';
import { confidence, countVotes, fuseScores, majorityVote, normalizeScores, scoreStats, severity } from '../../src/ensemble/combine';

describe('vote combination', () => {
  const flags = [
    [1, 1, 0, 0, 1],
    [1, 0, 0, 0, 1],
    [1, 1, 1, 0, 0],
    [1, 0, 0, 0, 0],
  ];

  it('counts votes, decides by majority, and derives confidence and severity', () => {
    const votes = countVotes(flags);
    expect(Array.from(votes)).toEqual([4, 2, 1, 0, 2]);
    const dec = majorityVote(votes, 2);
    expect(Array.from(dec)).toEqual([1, 1, 0, 0, 1]);
    expect(Array.from(confidence(votes, dec, 4))).toEqual([1, 0.5, 0.75, 1, 0.5]);
    expect(severity(votes, dec, 4)).toEqual(['high', 'low', 'none', 'none', 'low']);
    expect(severity([3], [1], 4)).toEqual(['medium']);
  });

  it('confidence of a majority vote lies in [0.5, 1] for every vote count', () => {
    for (let v = 0; v <= 4; v++) {
      const c = confidence([v], majorityVote([v], 2), 4)[0];
      expect(c).toBeGreaterThanOrEqual(0.5);
      expect(c).toBeLessThanOrEqual(1);
    }
  });

  it('normalises with training statistics and fuses with weights', () => {
    const st = scoreStats([1, 2, 3, 4, 5], 4);
    expect(st.median).toBe(3);
    expect(st.iqr).toBe(2);
    expect(Array.from(normalizeScores([3, 7], st, 'robust'))).toEqual([0, 2]);
    const z = normalizeScores([3], st, 'zscore');
    expect(z[0]).toBeCloseTo(0);
    expect(Array.from(fuseScores([[0, 2], [2, 4]]))).toEqual([1, 3]);
    expect(Array.from(fuseScores([[0, 2], [2, 4]], [3, 1]))).toEqual([0.5, 2.5]);
    expect(() => fuseScores([[1], [1, 2]])).toThrow(RangeError);
  });

  it('robust-log is robust up to the threshold and logarithmic above it, keeping order', () => {
    const st = scoreStats([1, 2, 3, 4, 5], 7); // median 3, IQR 2, threshold 2 IQRs out
    const n = normalizeScores([1, 3, 7, 11, 1003], st, 'robust-log');
    expect(Array.from(n.subarray(0, 3))).toEqual([-1, 0, 2]);
    expect(n[3]).toBeCloseTo(2 * (1 + Math.log(2)));
    expect(n[4]).toBeCloseTo(2 * (1 + Math.log(250)));
    expect(n[4]).toBeLessThan(15); // 500 IQRs out counts like 13
    // a finite score whose (s - median) / IQR overflows (a tiny IQR) gets the same value in log space
    const tiny = { median: 0, iqr: 1e-12, mean: 0, std: 1e-12, threshold: 2e-12 };
    const big = normalizeScores([1e300, 1e10], tiny, 'robust-log');
    expect(big[0]).toBeCloseTo(2 * (1 + Math.log(1e300) - Math.log(1e-12) - Math.log(2)), 9);
    expect(big[1]).toBeCloseTo(2 * (1 + Math.log(1e22 / 2)), 9);
    expect(big[0]).toBeGreaterThan(big[1]);
    // the scale below the threshold is at least 1 IQR
    expect(normalizeScores([9], scoreStats([1, 2, 3, 4, 5], 3), 'robust-log')[0]).toBeCloseTo(1 + Math.log(3));
  });

  it('constant training scores do not divide by zero', () => {
    const st = scoreStats([2, 2, 2], 2);
    const n = normalizeScores([2, 3], st, 'robust');
    expect(Number.isFinite(n[1])).toBe(true);
    expect(n[0]).toBe(0);
  });
});

import { agreementWeights, ranks, spearman } from '../../src/ensemble/combine';

describe('agreement weights', () => {
  it('ranks average ties and spearman matches hand values', () => {
    expect(Array.from(ranks([3, 1, 3, 2]))).toEqual([2.5, 0, 2.5, 1]);
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1);
    expect(spearman([1, 1, 1], [1, 2, 3])).toBe(0);
  });

  it('down-weights the detector that disagrees with the others', () => {
    const a = [1, 2, 3, 4, 5, 6, 7, 8];
    const b = [1, 3, 2, 4, 5, 7, 6, 8];
    const c = [2, 1, 3, 4, 6, 5, 7, 8];
    const odd = [8, 1, 7, 2, 6, 3, 5, 4];
    // agreement alone (floor 0, as before issue 12): the dissenter all but vanishes
    const alone = agreementWeights([a, b, c, odd], 12, 0);
    expect(alone.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 12);
    expect(alone[3]).toBeLessThan(1e-6);
    // the default floor: it keeps half its equal share (1/8), the others share the rest
    const w = agreementWeights([a, b, c, odd]);
    expect(w.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 12);
    expect(w[3]).toBeCloseTo(0.5 / 4 + 0.5 * alone[3], 12);
    expect(w[3]).toBeLessThan(Math.min(w[0], w[1], w[2]));
    for (let i = 0; i < 3; i++) expect(w[i]).toBeCloseTo(0.5 * alone[i] + 0.125, 12);
    expect(agreementWeights([a])).toEqual([1]);
    expect(agreementWeights([a, b], 12, 1)).toEqual([0.5, 0.5]);
    expect(() => agreementWeights([a, b], 12, 1.5)).toThrow(RangeError);
  });
});

import { fuseScores, topCount, topMeanScores } from '../../src/ensemble/combine';

describe('top fusion', () => {
  it('averages the highest third of the normalised scores per row (ceil(k / 3) of k)', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 9].map(topCount)).toEqual([1, 1, 1, 2, 2, 2, 3, 3]);
    const cols = [
      [0, 5, 1, -2],
      [1, 0, 1, -1],
      [2, 0, 9, -3],
      [3, 0, 1, -4],
      [4, 0, 1, -5],
      [5, 0, 1, -6],
    ];
    // 6 detectors: the mean of each row's 2 highest, worked by hand
    expect(Array.from(topMeanScores(cols))).toEqual([4.5, 2.5, 5, -1.5]);
    expect(Array.from(topMeanScores(cols, 1))).toEqual([5, 5, 9, -1]);
    // all of them: the plain mean
    const all = topMeanScores(cols, 6);
    const mean = fuseScores(cols);
    for (let i = 0; i < 4; i++) expect(all[i]).toBeCloseTo(mean[i], 12);
  });

  it('cannot silence a detector: one that alone finds a row extreme lifts it above rows the others rank higher', () => {
    // five detectors agree row 0 is the most unusual; the sixth alone finds row 3 far out
    const agree = [3, 2, 1, 0];
    const cols = [agree, agree, agree, agree, agree, [0, 0, 0, 12]];
    const top = topMeanScores(cols);
    expect(Array.from(top)).toEqual([3, 2, 1, 6]);
    // a mean of equal weights ranks it last but one; agreement weights (floor 0) would drop the sixth
    const mean = fuseScores(cols);
    expect(mean[3]).toBeGreaterThan(mean[1]);
    expect(mean[3]).toBeLessThan(mean[0]);
  });

  it('treats NaN as the lowest score and checks its input', () => {
    expect(Array.from(topMeanScores([[NaN], [1], [2]], 2))).toEqual([1.5]);
    expect(() => topMeanScores([])).toThrow(RangeError);
    expect(() => topMeanScores([[1], [1, 2]])).toThrow(/column 1 has 2 rows, expected 1/);
    expect(() => topMeanScores([[1], [2]], 3)).toThrow(/count must be an integer in \[1, 2\]/);
  });
});
