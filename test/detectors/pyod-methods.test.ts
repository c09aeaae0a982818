/**
 * The detectors added from PyOD's fast methods (kNN distance, ECOD, COPOD, HBOS, PCA), each against
 * values worked out by hand from its definition. The contract suite (test/contract) covers the rest.
 */
import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random';
import { Copod } from '../../src/detectors/copod';
import { Ecod } from '../../src/detectors/ecod';
import { Hbos } from '../../src/detectors/hbos';
import { KNearestNeighbors } from '../../src/detectors/knn';
import { Pca } from '../../src/detectors/pca';
import { inverse, Matrix } from 'ml-matrix';

const col = (...v: number[]) => v.map((x) => [x]);
const close = (got: ArrayLike<number>, want: number[], digits = 12) => {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => expect(got[i]).toBeCloseTo(w, digits));
};

describe('KNearestNeighbors', () => {
  it('scores the distance to the k-th neighbour (leave-one-out on training rows), or the mean of the k', async () => {
    const X = col(0, 1, 2, 10);
    const largest = await new KNearestNeighbors({ nNeighbors: 1 }).fit(X);
    expect(Array.from(largest.trainingScores)).toEqual([1, 1, 1, 8]);
    expect(Array.from(largest.anomalyScore(col(5, 2)))).toEqual([3, 0]);
    const mean = await new KNearestNeighbors({ nNeighbors: 2, method: 'mean' }).fit(X);
    expect(Array.from(mean.trainingScores)).toEqual([1.5, 1, 1.5, 8.5]);
    expect(() => new KNearestNeighbors({ nNeighbors: 0 })).toThrow(/The 'nNeighbors' option of KNearestNeighbors must be an integer >= 1 or a non-empty list of them. Got 0./);
    expect(() => new KNearestNeighbors({ method: 'median' as never })).toThrow(RangeError);
    await expect(new KNearestNeighbors({ nNeighbors: 4 }).fit(X)).rejects.toThrow(/at least 5 training rows, got 4/);
  });

  it('with several k scores the mean of each k\'s distance over its training median, the same on every search path', async () => {
    const X = col(0, 1, 2, 4, 10);
    const multi = await new KNearestNeighbors({ nNeighbors: [2, 1] }).fit(X);
    // leave-one-out: k = 1 distances [1, 1, 1, 2, 6] (median 1); k = 2 [2, 1, 2, 3, 8] (median 2)
    close(multi.trainingScores, [(1 + 2 / 2) / 2, (1 + 1 / 2) / 2, (1 + 2 / 2) / 2, (2 + 3 / 2) / 2, (6 + 8 / 2) / 2]);
    // a scored row 7: nearest 4 (3), then 10 (3)
    close(multi.anomalyScore(col(7)), [(3 / 1 + 3 / 2) / 2]);
    const mean = await new KNearestNeighbors({ nNeighbors: [1, 2], method: 'mean' }).fit(X);
    // k = 2 mean distances [1.5, 1, 1.5, 2.5, 7] (median 1.5)
    close(mean.trainingScores, [(1 + 1.5 / 1.5) / 2, (1 + 1 / 1.5) / 2, (1 + 1.5 / 1.5) / 2, (2 + 2.5 / 1.5) / 2, (6 + 7 / 1.5) / 2]);
    // many rows (kd-tree, worker threads) give what the definition gives row by row
    const r = new Random(12);
    const big = Array.from({ length: 3000 }, () => [r.standardNormal(), r.standardNormal()]);
    const q = Array.from({ length: 9000 }, () => [2 * r.standardNormal(), r.standardNormal()]);
    const knn = await new KNearestNeighbors({ nNeighbors: [5, 70] }).fit(big);
    const k5 = await new KNearestNeighbors({ nNeighbors: 5 }).fit(big);
    const k70 = await new KNearestNeighbors({ nNeighbors: 70 }).fit(big);
    const median = (v: Float64Array) => { const s = v.slice().sort(); return (s[1499] + s[1500]) / 2; };
    const m5 = median(k5.trainingScores);
    const m70 = median(k70.trainingScores);
    const got = knn.anomalyScore(q);
    const a = k5.anomalyScore(q);
    const b = k70.anomalyScore(q);
    for (let i = 0; i < q.length; i++) expect(got[i]).toBeCloseTo((a[i] / m5 + b[i] / m70) / 2, 12);
    // training scores (leave-one-out, searched a batch of rows at a time): the same from the single-k models
    for (let i = 0; i < big.length; i++) expect(knn.trainingScores[i]).toBeCloseTo((k5.trainingScores[i] / m5 + k70.trainingScores[i] / m70) / 2, 12);
    // wide rows (a brute-force search) over more rows than one leave-one-out batch (8,192)
    const wide = Array.from({ length: 8500 }, () => Array.from({ length: 20 }, () => r.standardNormal()));
    const w = await new KNearestNeighbors({ nNeighbors: [3, 30], method: 'mean' }).fit(wide);
    const w3 = await new KNearestNeighbors({ nNeighbors: 3, method: 'mean' }).fit(wide);
    const w30 = await new KNearestNeighbors({ nNeighbors: 30, method: 'mean' }).fit(wide);
    const med = (v: Float64Array) => { const s = v.slice().sort(); return (s[4249] + s[4250]) / 2; };
    const [m3, m30] = [med(w3.trainingScores), med(w30.trainingScores)];
    for (let i = 0; i < wide.length; i++) expect(w.trainingScores[i]).toBeCloseTo((w3.trainingScores[i] / m3 + w30.trainingScores[i] / m30) / 2, 12);
    const again = await KNearestNeighbors.load(knn.exportSnapshot());
    expect(Array.from(again.anomalyScore(q.slice(0, 50)))).toEqual(Array.from(got.slice(0, 50)));
  }, 120_000);
});

describe('KNearestNeighbors on identical training rows', () => {
  it('scales a zero training median by 1e-10, so an ordinary row scores finite', async () => {
    const same = Array.from({ length: 20 }, () => [1, 2]);
    const knn = await new KNearestNeighbors({ nNeighbors: [2, 3] }).fit(same);
    expect(Array.from(knn.trainingScores)).toEqual(new Array(20).fill(0));
    // distance 5 from every training row: (5 / 1e-10 + 5 / 1e-10) / 2
    const s = knn.anomalyScore([[4, 6]]);
    expect(Number.isFinite(s[0])).toBe(true);
    expect(s[0]).toBeCloseTo(5e10, 0);
  });
});

describe('Ecod and Copod', () => {
  it('add up per-column negative log tail probabilities of the empirical distribution (PyOD)', async () => {
    // a symmetric column (no skew): both tails count; training rows leave themselves out (count / n)
    const ecod = await new Ecod().fit(col(1, 2, 3, 4));
    const l = (p: number) => -Math.log(p);
    close(ecod.trainingScores, [l(1 / 4) + l(4 / 4), l(2 / 4) + l(3 / 4), l(3 / 4) + l(2 / 4), l(4 / 4) + l(1 / 4)]);
    // a scored row counts as one more training row: (count + 1) / (n + 1), never 0 beyond the range
    close(ecod.anomalyScore(col(10, 2.5)), [l(5 / 5) + l(1 / 5), l(3 / 5) + l(3 / 5)]);
    // a right-skewed column: the larger tail (ECOD); max(right tail, mean of both) (COPOD)
    const skewed = col(1, 1, 1, 1, 10);
    const e = await new Ecod().fit(skewed);
    const c = await new Copod().fit(skewed);
    const left = l(6 / 6);
    const right = l(1 / 6);
    close(e.anomalyScore(col(20)), [Math.max(left, right)]);
    close(c.anomalyScore(col(20)), [Math.max(right, (left + right) / 2)]);
    const lo = col(0);
    close(c.anomalyScore(lo), [Math.max(l(6 / 6), (l(1 / 6) + l(6 / 6)) / 2)]);
  });
});

describe('Hbos', () => {
  it('scores -Σ log2(density + alpha) of each value\'s bin; outside the range, the outermost bin within tol, else the rarest', async () => {
    // 10 bins over [0, 9] (width 0.9): nine rows in the first bin, one in the last
    const h = await new Hbos({ nBins: 10, alpha: 0.1, tol: 0.5 }).fit(col(0, 0, 0, 0, 0, 0, 0, 0, 0, 9));
    const dense = -Math.log2(9 / (10 * 0.9) + 0.1);
    const single = -Math.log2(1 / (10 * 0.9) + 0.1);
    const empty = -Math.log2(0 + 0.1);
    close(h.trainingScores, [...Array(9).fill(dense), single]);
    close(h.anomalyScore(col(4.5, 9.3, 100, -0.4, -5)), [empty, single, empty, dense, empty]);
    expect(() => new Hbos({ nBins: 1 })).toThrow(/The 'nBins' option of Hbos must be an integer >= 2. Got 1./);
    // a constant column gets the range [v - 0.5, v + 0.5] (numpy) and finite scores
    const k = await new Hbos().fit(col(3, 3, 3));
    for (const s of k.anomalyScore(col(3, 7))) expect(Number.isFinite(s)).toBe(true);
  });
});

describe('Pca', () => {
  // correlated 2-d rows, plus the covariance and its eigen decomposition worked out in closed form
  const r = new Random(4);
  const X = Array.from({ length: 300 }, () => {
    const a = r.standardNormal();
    const b = r.standardNormal();
    return [3 * a + 1, 2 * a + 0.5 * b - 2];
  });
  const m = [0, 1].map((j) => X.reduce((s, x) => s + x[j], 0) / X.length);
  const cov = (i: number, j: number) => X.reduce((s, x) => s + (x[i] - m[i]) * (x[j] - m[j]), 0) / (X.length - 1);
  const [a, b, c] = [cov(0, 0), cov(0, 1), cov(1, 1)];
  const Q = [[5, 5], [1, -2], [-4, -6]];

  // the largest eigenvalue of [[a, b], [b, c]]
  const l1 = (a + c) / 2 + Math.sqrt(((a - c) / 2) ** 2 + b * b);
  /** (q - m)ᵀ [[a + δ, b], [b, c + δ]]⁻¹ (q - m) for each row q of Q, in closed form. */
  const mahalanobis2 = (delta: number) =>
    Q.map(([x, y]) => {
      const [ar, cr] = [a + delta, c + delta];
      const u = x - m[0];
      const v = y - m[1];
      return (cr * u * u - 2 * b * u * v + ar * v * v) / (ar * cr - b * b);
    });

  it('Mahalanobis score (default): (x - m)ᵀ (C + δI)⁻¹ (x - m), δ = 1e-9 of the largest variance', async () => {
    const pca = await new Pca().fit(X);
    expect(pca.nMajorComponents).toBeUndefined();
    close(pca.anomalyScore(Q), mahalanobis2(1e-9 * l1), 10);
    // the ridge is what a direction without variance gets: a constant column counts 1/δ
    const flat = await new Pca().fit(X.map(([x]) => [x, 7]));
    const s = flat.anomalyScore([[m[0], 8]])[0];
    expect(s / (1 / (1e-9 * a))).toBeCloseTo(1, 6);
  });

  it('a model saved in the eigen form (earlier versions\' Mahalanobis models) still scores from its components', async () => {
    const pca = await new Pca().fit(X);
    const snap = pca.exportSnapshot();
    expect(snap.params.form).toBe('cholesky');
    // the eigen decomposition of [[a, b], [b, c]] in closed form, as an earlier version saved it
    const l2 = a + c - l1;
    const v1 = [b, l1 - a].map((x, _, v) => x / Math.hypot(v[0], v[1]));
    const v2 = [-v1[1], v1[0]];
    const old = {
      ...snap,
      params: { base: snap.params.base, q: 2, nMajor: 1 },
      arrays: { mean: Float64Array.from(m), components: Float64Array.from([...v1, ...v2]), variances: Float64Array.from([l1, l2]) },
    };
    const loaded = await Pca.load(old);
    expect(loaded.nMajorComponents).toBe(1);
    close(loaded.anomalyScore(Q), mahalanobis2(0), 8);
    // and the Cholesky form round-trips to the bit
    expect(Array.from((await Pca.load(snap)).anomalyScore(Q))).toEqual(Array.from(pca.anomalyScore(Q)));
    await expect(Pca.load({ ...snap, arrays: { ...snap.arrays, factor: new Float64Array(2) } })).rejects.toThrow(/inconsistent Cholesky factor/);
    const bad = (f: (a: Float64Array) => void) => {
      const factor = (snap.arrays.factor as Float64Array).slice();
      f(factor);
      return Pca.load({ ...snap, arrays: { ...snap.arrays, factor } });
    };
    await expect(bad((a) => (a[2] = 0))).rejects.toThrow(/inconsistent Cholesky factor/); // a zero pivot
    await expect(bad((a) => (a[0] = -1))).rejects.toThrow(/inconsistent Cholesky factor/);
    await expect(bad((a) => (a[1] = NaN))).rejects.toThrow(/inconsistent Cholesky factor/);
    await expect(Pca.load({ ...snap, params: { ...snap.params, ridge: Infinity } })).rejects.toThrow(/inconsistent Cholesky factor/);
    await expect(Pca.load({ ...snap, options: { ...snap.options, score: 'reconstruction' } })).rejects.toThrow(/Cholesky factor \(the Mahalanobis score\) but options with score 'reconstruction'/);
  });

  it('at more columns than one block of the factor: the Mahalanobis distance with the ridge, by ml-matrix\'s inverse', async () => {
    const d = 70;
    const rr = new Random(8);
    const Xw = Array.from({ length: 120 }, () => {
      const z = rr.standardNormal();
      return Array.from({ length: d }, (_, j) => (j % 5) * z + (1 + (j % 3)) * rr.standardNormal());
    });
    const pca = await new Pca().fit(Xw);
    const ridge = pca.exportSnapshot().params.ridge as number;
    const mw = Array.from({ length: d }, (_, j) => Xw.reduce((s, x) => s + x[j], 0) / Xw.length);
    const C = new Matrix(d, d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) C.set(i, j, Xw.reduce((s, x) => s + (x[i] - mw[i]) * (x[j] - mw[j]), 0) / (Xw.length - 1) + (i === j ? ridge : 0));
    }
    const Ci = inverse(C);
    const Qw = Array.from({ length: 9 }, () => Array.from({ length: d }, () => 2 * rr.standardNormal()));
    const want = Qw.map((q) => {
      const u = q.map((v, j) => v - mw[j]);
      let s = 0;
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) s += u[i] * Ci.get(i, j) * u[j];
      return s;
    });
    const got = pca.anomalyScore(Qw);
    want.forEach((w, i) => expect(Math.abs(got[i] - w) / w).toBeLessThan(1e-8));
  });

  it('reconstruction error: the squared distance to the major components\' subspace', async () => {
    const pca = await new Pca({ score: 'reconstruction', varianceRetained: 0.9 }).fit(X);
    expect(pca.nMajorComponents).toBe(1);
    // the major eigenvector of [[a, b], [b, c]]
    const v = [b, l1 - a];
    const n = Math.hypot(v[0], v[1]);
    const want = Q.map(([x, y]) => {
      const u = [x - m[0], y - m[1]];
      const p = (u[0] * v[0] + u[1] * v[1]) / n;
      return u[0] ** 2 + u[1] ** 2 - p * p;
    });
    close(pca.anomalyScore(Q), want, 8);
    expect(() => new Pca({ varianceRetained: 0 })).toThrow(/The 'varianceRetained' option of Pca must be a number in \(0, 1\]. Got 0./);
    expect(() => new Pca({ score: 'svd' as never })).toThrow(RangeError);
  });
});
