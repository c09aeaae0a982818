import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/core/errors';
import type { DenseMatrix } from '../../src/core/matrix';
import { Random } from '../../src/core/random';
import { IsolationForest, averagePathLength } from '../../src/detectors/isolation-forest';
import { rocAuc } from '../../src/metrics/classification';
import { blob, stack } from '../support/data';


describe('averagePathLength', () => {
  it('matches hand-computed c(n)', () => {
    expect(averagePathLength(0)).toBe(0);
    expect(averagePathLength(1)).toBe(0);
    expect(averagePathLength(2)).toBe(1);
    // c(3) = 2(ln 2 + γ) - 4/3
    expect(averagePathLength(3)).toBeCloseTo(2 * (0.6931471805599453 + 0.5772156649015329) - 4 / 3, 14);
    expect(averagePathLength(3)).toBeCloseTo(1.2073923575896232, 13);
    // c(256) = 2(ln 255 + γ) - 2·255/256 = 2(5.541263545158426 + 0.5772156649015329) - 1.9921875
    expect(averagePathLength(256)).toBeCloseTo(10.244770920119918, 12);
  });
});

describe('IsolationForest', () => {
  const rng = new Random(42);
  const inliers = blob(500, 4, rng);
  const outliers = blob(10, 4, rng, 6, 4);
  const X = stack(inliers, outliers);

  it('scores planted outliers above the blob, all scores in (0, 1)', async () => {
    const forest = await new IsolationForest({ seed: 1 }).fit(X);
    const s = forest.anomalyScore(X);
    expect(s.length).toBe(X.rows);
    for (const v of s) {
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThan(1);
    }
    let maxInlier = -Infinity;
    for (let i = 0; i < inliers.rows; i++) maxInlier = Math.max(maxInlier, s[i]);
    let minOutlier = Infinity;
    for (let i = inliers.rows; i < X.rows; i++) minOutlier = Math.min(minOutlier, s[i]);
    expect(minOutlier).toBeGreaterThan(maxInlier);
    expect(forest.psi).toBe(256);
    expect(forest.name).toBe('isolationForest');
    // Training scores are the full-forest scores of the training rows.
    expect(Array.from(forest.trainingScores)).toEqual(Array.from(s));
  });

  it('gives identical scores for the same seed and different ones for another seed', async () => {
    const a = (await new IsolationForest({ seed: 7, nEstimators: 20 }).fit(X)).anomalyScore(X);
    const b = (await new IsolationForest({ seed: 7, nEstimators: 20 }).fit(X)).anomalyScore(X);
    const c = (await new IsolationForest({ seed: 8, nEstimators: 20 }).fit(X)).anomalyScore(X);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it('round-trips through exportSnapshot / load with bit-identical scores', async () => {
    const forest = await new IsolationForest({ seed: 3, nEstimators: 30, maxSamples: 64 }).fit(X);
    const snap = forest.exportSnapshot();
    expect(snap.className).toBe('IsolationForest');
    const loaded = await IsolationForest.load(snap);
    const Q = blob(200, 4, new Random(9), 1);
    const want = forest.anomalyScore(Q);
    const got = loaded.anomalyScore(Q);
    for (let i = 0; i < want.length; i++) expect(Object.is(got[i], want[i])).toBe(true);
    expect(loaded.threshold).toBe(forest.threshold);
    expect(loaded.seed).toBe(3);
    expect(loaded.psi).toBe(64);
    expect(loaded.nNodes).toBe(forest.nNodes);
    expect(Array.from(loaded.predict(Q))).toEqual(Array.from(forest.predict(Q)));
  });

  it('refuses a snapshot of another class or with broken arrays', async () => {
    const forest = await new IsolationForest({ seed: 3, nEstimators: 5 }).fit(X);
    const snap = forest.exportSnapshot();
    await expect(IsolationForest.load({ ...snap, className: 'LocalOutlierFactor' })).rejects.toThrow(ModelFormatError);
    const left = snap.arrays.left.slice() as Int32Array;
    left[0] = 1e6;
    await expect(IsolationForest.load({ ...snap, arrays: { ...snap.arrays, left } })).rejects.toThrow(ModelFormatError);
    await expect(IsolationForest.load({ ...snap, arrays: { ...snap.arrays, split: new Float64Array(1) } })).rejects.toThrow(
      ModelFormatError,
    );
  });

  it('grows trees of depth <= ceil(log2 psi) on psi rows, with psi = n when there are fewer rows', async () => {
    const small = blob(40, 3, new Random(5));
    const forest = await new IsolationForest({ seed: 2, nEstimators: 10 }).fit(small);
    expect(forest.psi).toBe(40);
    const snap = forest.exportSnapshot();
    expect(snap.params.maxDepth).toBe(6);
    const offsets = snap.arrays.treeOffsets as Int32Array;
    const size = snap.arrays.nodeSize as Int32Array;
    const feature = snap.arrays.feature as Int32Array;
    let leafRows = 0;
    for (let t = 0; t < 10; t++) {
      expect(size[offsets[t]]).toBe(40); // root holds the whole subsample
      for (let v = offsets[t]; v < offsets[t + 1]; v++) if (feature[v] < 0) leafRows += size[v];
    }
    expect(leafRows).toBe(400); // every subsample row ends in exactly one leaf
  });

  it('makes a leaf where every feature is constant (duplicated rows)', async () => {
    const data = new Float64Array(20 * 2);
    for (let i = 0; i < 20; i++) data.set(i < 10 ? [1, 1] : [2, 5], i * 2);
    const forest = await new IsolationForest({ seed: 4, nEstimators: 5 }).fit({ rows: 20, cols: 2, data });
    const snap = forest.exportSnapshot();
    // Each tree: one split separates the two groups, then two constant leaves of 10 rows.
    expect(snap.arrays.feature.length).toBe(15);
    const s = forest.anomalyScore([[1, 1], [2, 5]]);
    // h = 1 + c(10) for both groups, score = 2^(-(1 + c(10)) / c(20))
    const want = Math.pow(2, -(1 + averagePathLength(10)) / averagePathLength(20));
    expect(s[0]).toBeCloseTo(want, 14);
    expect(s[1]).toBeCloseTo(want, 14);
  });

  it('validates options with RangeError in the one message shape', () => {
    expect(() => new IsolationForest({ nEstimators: 0 })).toThrow(
      new RangeError("The 'nEstimators' option of IsolationForest must be an integer >= 1. Got 0."),
    );
    expect(() => new IsolationForest({ nEstimators: 2.5 })).toThrow(RangeError);
    expect(() => new IsolationForest({ maxSamples: 1 })).toThrow(
      new RangeError("The 'maxSamples' option of IsolationForest must be an integer >= 2. Got 1."),
    );
    expect(() => new IsolationForest({ contamination: 0.7 })).toThrow(RangeError);
    expect(() => new IsolationForest({ seed: -1 })).toThrow(RangeError);
    expect(new IsolationForest().options).toMatchObject({ nEstimators: 100, maxSamples: 256, contamination: 0.1 });
  });

  it('needs 2 training rows', async () => {
    await expect(new IsolationForest().fit([[1, 2]])).rejects.toThrow(/at least 2 training rows/);
  });

  it('reaches ROC-AUC > 0.95 on a 10-d blob with 200 rows shifted by +4 in 3 features', async () => {
    const r = new Random(2024);
    const train = blob(2000, 10, r);
    const test = stack(blob(500, 10, r), blob(200, 10, r, 4, 3));
    const labels = new Uint8Array(700).fill(1, 500);
    const forest = await new IsolationForest({ seed: 11 }).fit(train);
    expect(rocAuc(labels, forest.anomalyScore(test))).toBeGreaterThan(0.95);
    // Also when the shifted rows are part of the training data.
    const contaminated = stack(train, blob(200, 10, r, 4, 3));
    const cLabels = new Uint8Array(2200).fill(1, 2000);
    const f2 = await new IsolationForest({ seed: 11 }).fit(contaminated);
    expect(rocAuc(cLabels, f2.trainingScores)).toBeGreaterThan(0.95);
  });
});
