import { describe, expect, it } from 'vitest';
import { DataValidationError, ModelFormatError } from '../../src/core/errors';
import type { DenseMatrix } from '../../src/core/matrix';
import { Random } from '../../src/core/random';
import { LocalOutlierFactor, setKeepDistancesMax } from '../../src/detectors/local-outlier-factor';
import { rocAuc } from '../../src/metrics/classification';
import { blob, stack } from '../support/data';


/** LOF straight from the definitions (sklearn novelty formulas), O(n²) with full sorts. */
function naiveLof(train: number[][], queries: number[][] | null, k: number): number[] {
  const dist = (a: number[], b: number[]) => Math.sqrt(a.reduce((s, v, f) => s + (v - b[f]) ** 2, 0));
  const neighbours = (x: number[], self: number) =>
    train
      .map((t, j) => ({ j, d: dist(x, t) }))
      .filter((e) => e.j !== self)
      .sort((a, b) => a.d - b.d || a.j - b.j)
      .slice(0, k);
  const trainNb = train.map((x, i) => neighbours(x, i));
  const kDist = trainNb.map((nb) => nb[k - 1].d);
  const lrdOf = (nb: { j: number; d: number }[]) => 1 / (nb.reduce((s, e) => s + Math.max(e.d, kDist[e.j]), 0) / k + 1e-10);
  const lrd = trainNb.map(lrdOf);
  const lof = (nb: { j: number; d: number }[]) => {
    const own = lrdOf(nb);
    return nb.reduce((s, e) => s + lrd[e.j] / own, 0) / k;
  };
  return queries ? queries.map((q) => lof(neighbours(q, -1))) : trainNb.map(lof);
}

describe('LocalOutlierFactor', () => {
  it("reproduces scikit-learn's doctest (n_neighbors=2): -negative_outlier_factor_", async () => {
    const lof = await new LocalOutlierFactor({ nNeighbors: 2 }).fit([[-1.1], [0.2], [101.1], [0.3]]);
    const want = [0.98214286, 1.03703704, 73.36970899, 0.98214286];
    const got = lof.trainingScores;
    for (let i = 0; i < 4; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-6);
    expect(lof.name).toBe('localOutlierFactor');
    expect(lof.nNeighborsUsed).toBe(2);
  });

  it('matches a naive implementation on training (leave-one-out) and new rows', async () => {
    const r = new Random(5);
    const train = blob(60, 3, r);
    const test = stack(blob(15, 3, r), blob(5, 3, r, 5, 2));
    const rows = (m: DenseMatrix) => Array.from({ length: m.rows }, (_, i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
    const lof = await new LocalOutlierFactor({ nNeighbors: 7 }).fit(train);
    const wantTrain = naiveLof(rows(train), null, 7);
    const wantTest = naiveLof(rows(train), rows(test), 7);
    const gotTrain = lof.trainingScores;
    const gotTest = lof.anomalyScore(test);
    for (let i = 0; i < train.rows; i++) expect(gotTrain[i]).toBeCloseTo(wantTrain[i], 10);
    for (let i = 0; i < test.rows; i++) expect(gotTest[i]).toBeCloseTo(wantTest[i], 10);
    for (let i = 15; i < 20; i++) expect(gotTest[i]).toBeGreaterThan(1.5);
  });

  it('with several k, scores the mean of the LOFs with each k (one search at the largest), capped at n - 1', async () => {
    const r = new Random(6);
    const train = blob(60, 3, r);
    const test = stack(blob(15, 3, r), blob(5, 3, r, 5, 2));
    const rows = (m: DenseMatrix) => Array.from({ length: m.rows }, (_, i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
    const lof = await new LocalOutlierFactor({ nNeighbors: [12, 3, 7, 7] }).fit(train);
    expect(lof.nNeighborsList).toEqual([3, 7, 12]);
    expect(lof.nNeighborsUsed).toBe(12);
    const mean3 = (a: number[], b: number[], c: number[]) => a.map((x, i) => (x + b[i] + c[i]) / 3);
    const wantTrain = mean3(...([3, 7, 12].map((k) => naiveLof(rows(train), null, k)) as [number[], number[], number[]]));
    const wantTest = mean3(...([3, 7, 12].map((k) => naiveLof(rows(train), rows(test), k)) as [number[], number[], number[]]));
    const gotTrain = lof.trainingScores;
    const gotTest = lof.anomalyScore(test);
    for (let i = 0; i < train.rows; i++) expect(gotTrain[i]).toBeCloseTo(wantTrain[i], 10);
    for (let i = 0; i < test.rows; i++) expect(gotTest[i]).toBeCloseTo(wantTest[i], 10);
    // a round trip keeps them; every k above the training rows - 1 becomes n - 1
    const loaded = await LocalOutlierFactor.load(lof.exportSnapshot());
    expect(Array.from(loaded.anomalyScore(test))).toEqual(Array.from(gotTest));
    const small = await new LocalOutlierFactor({ nNeighbors: [2, 50, 200] }).fit(blob(20, 2, r));
    expect(small.nNeighborsList).toEqual([2, 19]);
  });

  it('with several k on a large low-dimensional set (kd-tree, warm starts, worker threads) equals the mean of single-k LOFs', async () => {
    const r = new Random(9);
    const train = stack(blob(2500, 3, r), blob(40, 3, r, 6, 0.3));
    const Q = stack(blob(12000, 3, r), blob(300, 3, r, 4, 1));
    const multi = await new LocalOutlierFactor({ nNeighbors: [10, 70] }).fit(train);
    const a = await new LocalOutlierFactor({ nNeighbors: 10 }).fit(train);
    const b = await new LocalOutlierFactor({ nNeighbors: 70 }).fit(train);
    const got = multi.anomalyScore(Q);
    const sa = a.anomalyScore(Q);
    const sb = b.anomalyScore(Q);
    for (let i = 0; i < Q.rows; i++) expect(got[i]).toBeCloseTo((sa[i] + sb[i]) / 2, 9);
    const ta = a.trainingScores;
    const tb = b.trainingScores;
    for (let i = 0; i < train.rows; i++) expect(multi.trainingScores[i]).toBeCloseTo((ta[i] + tb[i]) / 2, 9);
  }, 120_000);

  it('loads a snapshot written before several k (params without ks)', async () => {
    const lof = await new LocalOutlierFactor({ nNeighbors: 4 }).fit(blob(30, 2, new Random(2)));
    const snap = lof.exportSnapshot();
    const { ks: _ks, ...old } = snap.params;
    const loaded = await LocalOutlierFactor.load({ ...snap, params: old });
    const Q = blob(10, 2, new Random(4));
    expect(Array.from(loaded.anomalyScore(Q))).toEqual(Array.from(lof.anomalyScore(Q)));
    expect(loaded.nNeighborsList).toEqual([4]);
  });

  it('gives the same training scores to the bit with the neighbour distances kept or recomputed (large fits), one k or several', async () => {
    const r = new Random(8);
    for (const X of [stack(blob(900, 3, r), blob(40, 3, r, 4, 2)), blob(300, 20, r)]) {
      for (const nNeighbors of [70, [10, 35, 70]]) {
        const kept = await new LocalOutlierFactor({ nNeighbors }).fit(X);
        const prev = setKeepDistancesMax(0); // every fit recomputes them
        try {
          const recomputed = await new LocalOutlierFactor({ nNeighbors }).fit(X);
          expect(Array.from(recomputed.trainingScores)).toEqual(Array.from(kept.trainingScores));
          expect(Array.from(recomputed.anomalyScore(X))).toEqual(Array.from(kept.anomalyScore(X)));
        } finally {
          setKeepDistancesMax(prev);
        }
      }
    }
  });

  it('scores a training row without leaving it out (it is its own neighbour at distance 0)', async () => {
    const X = [[-1.1], [0.2], [101.1], [0.3]];
    const lof = await new LocalOutlierFactor({ nNeighbors: 2 }).fit(X);
    const scored = lof.anomalyScore(X);
    expect(Array.from(scored)).toEqual(naiveLof(X, X, 2));
    expect(scored[2]).not.toBeCloseTo(lof.trainingScores[2], 3);
  });

  it('gives finite scores with duplicated rows', async () => {
    const X = [[0, 0], [0, 0], [0, 0], [0, 0], [1, 1], [5, 5]];
    const lof = await new LocalOutlierFactor({ nNeighbors: 3 }).fit(X);
    for (const v of lof.trainingScores) expect(Number.isFinite(v)).toBe(true);
    for (const v of lof.anomalyScore([[0, 0], [3, 3]])) expect(Number.isFinite(v)).toBe(true);
  });

  it('round-trips through exportSnapshot / load with bit-identical scores', async () => {
    const r = new Random(8);
    const train = blob(300, 5, r);
    const lof = await new LocalOutlierFactor({ nNeighbors: 10, contamination: 0.05 }).fit(train);
    const snap = lof.exportSnapshot();
    const loaded = await LocalOutlierFactor.load(snap);
    const Q = blob(100, 5, r, 1.5, 2);
    const want = lof.anomalyScore(Q);
    const got = loaded.anomalyScore(Q);
    for (let i = 0; i < want.length; i++) expect(Object.is(got[i], want[i])).toBe(true);
    expect(loaded.threshold).toBe(lof.threshold);
    expect(loaded.options.nNeighbors).toBe(10);
    await expect(LocalOutlierFactor.load({ ...snap, className: 'IsolationForest' })).rejects.toThrow(ModelFormatError);
    await expect(LocalOutlierFactor.load({ ...snap, arrays: { ...snap.arrays, lrd: new Float64Array(3) } })).rejects.toThrow(
      ModelFormatError,
    );
  });

  it('does not depend on the caller keeping its training buffer', async () => {
    const r = new Random(3);
    const train = blob(50, 2, r);
    const lof = await new LocalOutlierFactor({ nNeighbors: 5 }).fit(train);
    const Q = blob(10, 2, r);
    const before = lof.anomalyScore(Q);
    train.data.fill(0);
    expect(Array.from(lof.anomalyScore(Q))).toEqual(Array.from(before));
  });

  it('scores an empty batch as an empty array', async () => {
    const lof = await new LocalOutlierFactor({ nNeighbors: 2 }).fit([[1], [2], [3]]);
    expect(lof.anomalyScore([]).length).toBe(0);
  });

  it('validates options and needs nNeighbors + 1 rows', async () => {
    expect(() => new LocalOutlierFactor({ nNeighbors: 0 })).toThrow(
      new RangeError("The 'nNeighbors' option of LocalOutlierFactor must be an integer >= 1 or a non-empty list of them. Got 0."),
    );
    expect(() => new LocalOutlierFactor({ nNeighbors: 3.5 })).toThrow(RangeError);
    expect(() => new LocalOutlierFactor({ nNeighbors: [] })).toThrow(RangeError);
    expect(() => new LocalOutlierFactor({ nNeighbors: [5, 0] })).toThrow(RangeError);
    expect(() => new LocalOutlierFactor({ nNeighbors: [5, 10], maxTrainRows: 10 })).toThrow(/must be 0 \(no limit\) or an integer > nNeighbors \(10\)/);
    expect(new LocalOutlierFactor({ nNeighbors: [20, 5, 10] }).minTrainRows()).toBe(6);
    expect(() => new LocalOutlierFactor({ contamination: 0 })).toThrow(RangeError);
    expect(new LocalOutlierFactor().options).toMatchObject({ nNeighbors: 20, contamination: 0.1 });
    expect(new LocalOutlierFactor().minTrainRows()).toBe(21);
    const fit = new LocalOutlierFactor({ nNeighbors: 3 }).fit([[1], [2], [3]]);
    await expect(fit).rejects.toThrow(DataValidationError);
    await expect(new LocalOutlierFactor({ nNeighbors: 3 }).fit([[1], [2], [3]])).rejects.toThrow(/at least 4 training rows/);
  });

  it('reaches ROC-AUC > 0.95 on a 10-d blob with 200 rows shifted by +4 in 3 features', async () => {
    const r = new Random(2024);
    const train = blob(2000, 10, r);
    const test = stack(blob(500, 10, r), blob(200, 10, r, 4, 3));
    const labels = new Uint8Array(700).fill(1, 500);
    const lof = await new LocalOutlierFactor().fit(train);
    expect(rocAuc(labels, lof.anomalyScore(test))).toBeGreaterThan(0.95);
  });
});

describe('LocalOutlierFactor neighbour search', () => {
  it('gives the same scores to the bit with the kd-tree and the brute force', async () => {
    const r = new Random(9);
    const train = blob(700, 3, r);
    for (let i = 0; i < 100; i++) train.data[i * 3] = Math.round(train.data[i * 3]); // ties
    const test = stack(blob(300, 3, r), blob(20, 3, r, 5, 2));
    const run = async (method: string) => {
      const saved = process.env.NAL_KNN_METHOD;
      process.env.NAL_KNN_METHOD = method;
      try {
        const lof = await new LocalOutlierFactor({ nNeighbors: 20 }).fit(train);
        return [Array.from(lof.trainingScores), Array.from(lof.anomalyScore(test))];
      } finally {
        if (saved === undefined) delete process.env.NAL_KNN_METHOD;
        else process.env.NAL_KNN_METHOD = saved;
      }
    };
    expect(await run('tree')).toEqual(await run('brute'));
  });

  it('scores the same with its training rows\' neighbour lists (kept from fit, rebuilt after a load) and without', async () => {
    const r = new Random(12);
    const train = blob(3000, 3, r);
    const test = stack(blob(5000, 3, r), blob(200, 3, r, 5, 2));
    const lof = await new LocalOutlierFactor({ nNeighbors: 70 }).fit(train);
    const state = (lof as unknown as { state: { neighbours?: Int32Array } }).state;
    expect(state.neighbours?.length).toBe(3000 * 70); // the kd-tree applies: kept
    const withLists = lof.anomalyScore(test);
    const saved = state.neighbours;
    state.neighbours = undefined;
    const small = lof.anomalyScore({ rows: 10, cols: 3, data: test.data.subarray(0, 30) });
    expect(state.neighbours).toBeUndefined(); // a small call does not rebuild them
    expect(Array.from(small)).toEqual(Array.from(withLists.subarray(0, 10)));
    state.neighbours = saved;
    const loaded = await LocalOutlierFactor.load(lof.exportSnapshot());
    const loadedState = (loaded as unknown as { state: { neighbours?: Int32Array } }).state;
    expect(loadedState.neighbours).toBeUndefined(); // not saved
    expect(Array.from(loaded.anomalyScore(test))).toEqual(Array.from(withLists));
    expect(Array.from(loadedState.neighbours ?? [])).toEqual(Array.from(saved!)); // rebuilt by the large call
    const saved2 = process.env.NAL_KNN_METHOD;
    process.env.NAL_KNN_METHOD = 'brute';
    try {
      expect(Array.from(lof.anomalyScore(test))).toEqual(Array.from(withLists));
    } finally {
      if (saved2 === undefined) delete process.env.NAL_KNN_METHOD;
      else process.env.NAL_KNN_METHOD = saved2;
    }
  });
});
