/**
 * One contract over every detector (scikit-learn's estimator checks, PyOD's detector sweeps).
 */
import { describe, expect, it } from 'vitest';
import type { BaseDetector } from '../../src/core/detector';
import { DataValidationError, FeatureMismatchError, NotFittedError } from '../../src/core/errors';
import type { DenseMatrix } from '../../src/core/matrix';
import { Random } from '../../src/core/random';
import { Autoencoder } from '../../src/detectors/autoencoder';
import { IsolationForest } from '../../src/detectors/isolation-forest';
import { LocalOutlierFactor } from '../../src/detectors/local-outlier-factor';
import { OneClassSvm } from '../../src/detectors/one-class-svm';
import { KNearestNeighbors } from '../../src/detectors/knn';
import { Ecod } from '../../src/detectors/ecod';
import { Copod } from '../../src/detectors/copod';
import { Hbos } from '../../src/detectors/hbos';
import { Pca } from '../../src/detectors/pca';

type AnyDetector = BaseDetector<any, any>;
interface Case {
  name: string;
  make: (seed?: number) => AnyDetector;
  load: (s: ReturnType<AnyDetector['exportSnapshot']>) => Promise<AnyDetector>;
  /** Whether different seeds must give different scores (deterministic methods do not). */
  stochastic: boolean;
}

const CASES: Case[] = [
  { name: 'IsolationForest', make: (seed) => new IsolationForest({ seed }), load: (s) => IsolationForest.load(s), stochastic: true },
  { name: 'OneClassSvm', make: (seed) => new OneClassSvm({ seed }), load: (s) => OneClassSvm.load(s), stochastic: false },
  { name: 'LocalOutlierFactor', make: (seed) => new LocalOutlierFactor({ seed }), load: (s) => LocalOutlierFactor.load(s), stochastic: false },
  {
    name: 'LocalOutlierFactor, several k',
    make: (seed) => new LocalOutlierFactor({ seed, nNeighbors: [5, 10, 20] }),
    load: (s) => LocalOutlierFactor.load(s),
    stochastic: false,
  },
  {
    name: 'Autoencoder',
    make: (seed) => new Autoencoder({ seed, epochs: 4, batchSize: 32 }),
    load: (s) => Autoencoder.load(s),
    stochastic: true,
  },
  { name: 'KNearestNeighbors', make: (seed) => new KNearestNeighbors({ seed }), load: (s) => KNearestNeighbors.load(s), stochastic: false },
  {
    name: 'KNearestNeighbors, mean',
    make: (seed) => new KNearestNeighbors({ seed, nNeighbors: 10, method: 'mean' }),
    load: (s) => KNearestNeighbors.load(s),
    stochastic: false,
  },
  {
    name: 'KNearestNeighbors, several k',
    make: (seed) => new KNearestNeighbors({ seed, nNeighbors: [5, 20, 60] }),
    load: (s) => KNearestNeighbors.load(s),
    stochastic: false,
  },
  { name: 'Ecod', make: (seed) => new Ecod({ seed }), load: (s) => Ecod.load(s), stochastic: false },
  { name: 'Copod', make: (seed) => new Copod({ seed }), load: (s) => Copod.load(s), stochastic: false },
  { name: 'Hbos', make: (seed) => new Hbos({ seed }), load: (s) => Hbos.load(s), stochastic: false },
  { name: 'Pca', make: (seed) => new Pca({ seed }), load: (s) => Pca.load(s), stochastic: false },
];

/** 300 rows of a 5-d standard normal blob plus 8 planted outliers far away; returns the matrix and the outlier rows. */
function blobWithOutliers(seed: number): { X: DenseMatrix; outliers: number[]; inliers: DenseMatrix } {
  const rng = new Random(seed);
  const n = 300;
  const d = 5;
  const k = 8;
  const data = new Float64Array((n + k) * d);
  for (let i = 0; i < n * d; i++) data[i] = rng.normal(0, 1);
  // scattered outliers: random directions at radius 6-7 (a tight cluster would be a dense region)
  for (let i = n; i < n + k; i++) {
    const dir = Array.from({ length: d }, () => rng.normal(0, 1));
    const norm = Math.hypot(...dir);
    const radius = 6 + rng.random();
    for (let j = 0; j < d; j++) data[i * d + j] = (dir[j] / norm) * radius;
  }
  return {
    X: { rows: n + k, cols: d, data },
    outliers: Array.from({ length: k }, (_, i) => n + i),
    inliers: { rows: n, cols: d, data: data.slice(0, n * d) },
  };
}

const { X, outliers } = blobWithOutliers(11);

describe.each(CASES)('detector contract: $name', (c) => {
  let fitted: AnyDetector;
  let scores: Float64Array;

  it('fits, returns itself, and gives one finite score per row', async () => {
    const det = c.make(7);
    expect(await det.fit(X)).toBe(det);
    fitted = det;
    scores = det.anomalyScore(X);
    expect(scores.length).toBe(X.rows);
    for (const s of scores) expect(Number.isFinite(s)).toBe(true);
    expect(Number.isFinite(det.threshold)).toBe(true);
  });

  it('scores planted outliers above every inlier median', () => {
    const sorted = Array.from(scores.slice(0, 300)).sort((a, b) => a - b);
    const median = sorted[150];
    for (const i of outliers) expect(scores[i]).toBeGreaterThan(median);
    // and they are ranked near the top
    const rank = (i: number) => Array.from(scores).filter((s) => s > scores[i]).length;
    for (const i of outliers) expect(rank(i)).toBeLessThan(30);
  });

  it('predict equals score > threshold, and the threshold comes from training (single rows score the same)', () => {
    const flags = fitted.predict(X);
    for (let i = 0; i < X.rows; i++) expect(flags[i]).toBe(scores[i] > fitted.threshold ? 1 : 0);
    const one: DenseMatrix = { rows: 1, cols: X.cols, data: X.data.slice(outliers[0] * X.cols, (outliers[0] + 1) * X.cols) };
    expect(fitted.anomalyScore(one)[0]).toBe(scores[outliers[0]]);
    expect(fitted.predict(one)[0]).toBe(1);
  });

  it('throws NotFittedError before fit', () => {
    const det = c.make(1);
    expect(() => det.anomalyScore(X)).toThrow(NotFittedError);
    expect(() => det.threshold).toThrow(NotFittedError);
    expect(() => det.exportSnapshot()).toThrow(NotFittedError);
  });

  it('refuses a wrong feature count and non-finite values, naming row and column', () => {
    const narrow: DenseMatrix = { rows: 2, cols: 4, data: new Float64Array(8) };
    expect(() => fitted.anomalyScore(narrow)).toThrow(FeatureMismatchError);
    expect(() => fitted.anomalyScore(narrow)).toThrow(/fitted with 5 features, got 4/);
    const bad = X.data.slice(0, 15);
    bad[7] = NaN;
    expect(() => fitted.anomalyScore({ rows: 3, cols: 5, data: bad })).toThrow(DataValidationError);
    expect(() => fitted.anomalyScore({ rows: 3, cols: 5, data: bad })).toThrow(/row 2, column '#3'/);
    const badFit = X.data.slice();
    badFit[0] = Infinity;
    return expect(c.make(1).fit({ rows: X.rows, cols: 5, data: badFit })).rejects.toThrow(DataValidationError);
  });

  it('same seed gives identical scores', async () => {
    const again = await c.make(7).fit(X);
    expect(Array.from(again.anomalyScore(X))).toEqual(Array.from(scores));
    if (c.stochastic) {
      const other = await c.make(8).fit(X);
      expect(Array.from(other.anomalyScore(X))).not.toEqual(Array.from(scores));
    }
  });

  it('a save/load round trip reproduces scores exactly', async () => {
    const snap = JSON.parse(JSON.stringify({ ...fitted.exportSnapshot(), arrays: {}, files: {} }));
    const s = fitted.exportSnapshot();
    const loaded = await c.load({ ...s, options: snap.options, params: snap.params });
    expect(Array.from(loaded.anomalyScore(X))).toEqual(Array.from(scores));
    expect(loaded.threshold).toBe(fitted.threshold);
  });

  it('does not mutate its inputs', async () => {
    const copy = X.data.slice();
    const det = await c.make(3).fit(X);
    det.anomalyScore(X);
    expect(Array.from(X.data)).toEqual(Array.from(copy));
  });

  it('refuses too few training rows with a clear message', async () => {
    const det = c.make(1);
    const min = det.minTrainRows();
    const tiny: DenseMatrix = { rows: min - 1, cols: 5, data: X.data.slice(0, (min - 1) * 5) };
    await expect(det.fit(tiny)).rejects.toThrow(new RegExp(`needs at least ${min} training rows, got ${min - 1}`));
  });

  it('handles identical rows and a constant column without NaN', async () => {
    const n = Math.max(64, c.make(1).minTrainRows() + 1);
    const data = new Float64Array(n * 3);
    for (let i = 0; i < n; i++) {
      data[i * 3] = 1;
      data[i * 3 + 1] = i % 2;
      data[i * 3 + 2] = 0;
    }
    const det = await c.make(2).fit({ rows: n, cols: 3, data });
    for (const s of det.anomalyScore({ rows: n, cols: 3, data })) expect(Number.isFinite(s)).toBe(true);
    const same = new Float64Array(n * 3).fill(2);
    const det2 = await c.make(2).fit({ rows: n, cols: 3, data: same });
    for (const s of det2.anomalyScore({ rows: 2, cols: 3, data: new Float64Array([2, 2, 2, 9, 9, 9]) })) expect(Number.isFinite(s)).toBe(true);
  });
});
