/**
 * The worker-thread and generated-kernel paths give the same numbers, to the bit, as the plain
 * single-threaded definitions (NAL_THREADS forces the number of threads).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DenseMatrix } from '../../src/core/matrix';
import { Random } from '../../src/core/random';
import { knnSearch } from '../../src/compute/knn';
import { LocalOutlierFactor } from '../../src/detectors/local-outlier-factor';
import { IsolationForest } from '../../src/detectors/isolation-forest';
import { OneClassSvm } from '../../src/detectors/one-class-svm';
import { parallelStats } from '../../src/compute/parallel';
import { busyCores, busyFromLoadavg, holdRunningThreads, reserveThreads, threadCount } from '../../src/compute/parallel';

function gaussian(n: number, d: number, seed: number, levels = 0): DenseMatrix {
  const rng = new Random(seed);
  const data = new Float64Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = levels ? rng.int(levels) : rng.standardNormal();
  return { rows: n, cols: d, data };
}

function withThreads<T>(n: number, f: () => T): T {
  const saved = process.env.NAL_THREADS;
  process.env.NAL_THREADS = String(n);
  try {
    return f();
  } finally {
    if (saved === undefined) delete process.env.NAL_THREADS;
    else process.env.NAL_THREADS = saved;
  }
}

async function withThreadsAsync<T>(n: number, f: () => Promise<T>): Promise<T> {
  const saved = process.env.NAL_THREADS;
  process.env.NAL_THREADS = String(n);
  try {
    return await f();
  } finally {
    if (saved === undefined) delete process.env.NAL_THREADS;
    else process.env.NAL_THREADS = saved;
  }
}

afterEach(() => {
  delete process.env.NAL_THREADS;
});

describe('parallel kernels', () => {
  it('NAL_THREADS sets the thread count', () => {
    expect(withThreads(3, threadCount)).toBe(3);
    expect(withThreads(1, threadCount)).toBe(1);
  });

  it('the default count leaves out the cores other processes keep busy (the runnable tasks of /proc/loadavg)', () => {
    // 2 cores: this thread alone, one busy process, two, and the library's own reserved thread
    expect(busyFromLoadavg('0.10 0.20 0.30 1/412 9', 2, 2, 0)).toBe(0);
    expect(busyFromLoadavg('1.00 0.20 0.30 2/412 9', 2, 2, 0)).toBe(1);
    expect(busyFromLoadavg('2.00 0.20 0.30 3/412 9', 2, 2, 0)).toBe(2);
    expect(busyFromLoadavg('1.00 0.20 0.30 2/412 9', 2, 2, 1)).toBe(0);
    // a container allowed 2 of the host's 64 cores sees the host's tasks: scaled to its share
    expect(busyFromLoadavg('9 9 9 33/2000 9', 2, 64, 0)).toBe(1);
    // unreadable text counts nothing
    expect(busyFromLoadavg('', 2, 2, 0)).toBe(0);
    expect(busyFromLoadavg('0.1 0.2 0.3', 2, 2, 0)).toBe(0);
    // the library's own running threads (the autoencoder's worker) are not other processes' load
    const release = holdRunningThreads(1000);
    expect(busyCores(2)).toBe(0);
    release();
    release();
    expect(busyCores(2)).toBeGreaterThanOrEqual(0);
    expect(Number.isInteger(busyCores(2))).toBe(true);
    // NAL_THREADS is taken as given, whatever the load
    expect(withThreads(2, threadCount)).toBe(2);
    const t = threadCount();
    expect(t).toBeGreaterThanOrEqual(1);
    expect(t).toBeLessThanOrEqual(8);
  });

  it('reserveThreads lowers the count until released (once), never below 1', () => {
    withThreads(3, () => {
      const release = reserveThreads(1);
      expect(threadCount()).toBe(2);
      const release2 = reserveThreads(5);
      expect(threadCount()).toBe(1);
      release2();
      release2(); // a second call releases nothing more
      expect(threadCount()).toBe(2);
      release();
      expect(threadCount()).toBe(3);
    });
  });

  it('knnSearch on worker threads equals the naive definition (ties included) and the one-thread search', () => {
    for (const [index, queries, k] of [
      [gaussian(2000, 10, 1), gaussian(700, 10, 2), 25],
      [gaussian(1500, 6, 3, 3), gaussian(801, 6, 4, 3), 200], // many exact ties and duplicates
    ] as const) {
      const one = withThreads(1, () => knnSearch(index, queries, k));
      const many = withThreads(3, () => knnSearch(index, queries, k));
      expect(Array.from(many.indices)).toEqual(Array.from(one.indices));
      expect(Array.from(many.distances)).toEqual(Array.from(one.distances));
      // spot-check against the definition: sorted by (squared distance, index)
      const d = index.cols;
      for (const q of [0, 1, 399, queries.rows - 1]) {
        const all = Array.from({ length: index.rows }, (_, j) => {
          let s = 0;
          for (let f = 0; f < d; f++) {
            const t = index.data[j * d + f] - queries.data[q * d + f];
            s += t * t;
          }
          return { j, s };
        }).sort((a, b) => a.s - b.s || a.j - b.j);
        expect(Array.from(many.indices.subarray(q * k, (q + 1) * k))).toEqual(all.slice(0, k).map((e) => e.j));
        expect(Array.from(many.distances.subarray(q * k, (q + 1) * k))).toEqual(all.slice(0, k).map((e) => Math.sqrt(e.s)));
      }
    }
  });

  it('leave-one-out search as queries on threads (self dropped) equals the pairwise kernel, duplicates included', () => {
    for (const [X, k] of [
      [gaussian(800, 10, 11), 20],
      [gaussian(900, 8, 12, 2), 60], // 256 distinct rows: many duplicates at distance 0
    ] as const) {
      const pairwise = withThreads(1, () => knnSearch(X, X, k, { excludeSelf: true }));
      const queries = withThreads(3, () => knnSearch(X, X, k, { excludeSelf: true }));
      expect(Array.from(queries.indices)).toEqual(Array.from(pairwise.indices));
      expect(Array.from(queries.distances)).toEqual(Array.from(pairwise.distances));
      for (let q = 0; q < X.rows; q++) expect(queries.indices.subarray(q * k, (q + 1) * k)).not.toContain(q);
    }
  });

  it('LOF scores do not depend on the number of threads', async () => {
    const train = gaussian(1200, 10, 5);
    const test = gaussian(900, 10, 6);
    const lof = await withThreadsAsync(1, () => new LocalOutlierFactor({ nNeighbors: 50 }).fit(train));
    const lof4 = await withThreadsAsync(4, () => new LocalOutlierFactor({ nNeighbors: 50 }).fit(train));
    expect(Array.from(lof4.trainingScores)).toEqual(Array.from(lof.trainingScores));
    const one = withThreads(1, () => lof.anomalyScore(test));
    const many = withThreads(4, () => lof.anomalyScore(test));
    expect(Array.from(many)).toEqual(Array.from(one));
  });

  it('Isolation Forest scores do not depend on the number of threads (large batches on workers)', async () => {
    const forest = await new IsolationForest({ seed: 3 }).fit(gaussian(2000, 6, 9));
    const test = gaussian(25_001, 6, 10); // 25,001 rows x 100 trees: the parallel path, odd last block
    const one = withThreads(1, () => forest.anomalyScore(test));
    const before = parallelStats.jobs;
    const many = withThreads(3, () => forest.anomalyScore(test));
    expect(parallelStats.jobs).toBeGreaterThan(before);
    expect(Array.from(many)).toEqual(Array.from(one));
    expect(Array.from(withThreads(2, () => forest.anomalyScore(test)))).toEqual(Array.from(one));
  });

  it('One-Class SVM scores (generated kernel, any thread count) equal the plain decision function', async () => {
    const X = gaussian(2000, 9, 7);
    const svm = await new OneClassSvm({ nu: 0.4, seed: 1 }).fit(X);
    const snap = svm.exportSnapshot();
    const sv = snap.arrays.supportVectors as Float64Array;
    const coef = snap.arrays.dualCoef as Float64Array;
    const rho = snap.params.rho as number;
    const gamma = snap.params.gamma as number;
    const m = coef.length;
    const d = X.cols;
    const test = gaussian(3001, 9, 8);
    expect(test.rows * m).toBeGreaterThan(2_000_000); // large enough for the parallel path
    // the plain definition, in the same order of operations
    const want = new Float64Array(test.rows);
    for (let i = 0; i < test.rows; i++) {
      let xn = 0;
      for (let f = 0; f < d; f++) xn += test.data[i * d + f] ** 2;
      let acc = 0;
      for (let j = 0; j < m; j++) {
        let nj = 0;
        for (let f = 0; f < d; f++) nj += sv[j * d + f] * sv[j * d + f];
        let dot = 0;
        for (let f = 0; f < d; f++) dot += test.data[i * d + f] * sv[j * d + f];
        let d2 = xn + nj - 2 * dot;
        if (d2 < 0) d2 = 0;
        acc += coef[j] * Math.exp(-gamma * d2);
      }
      want[i] = rho - acc;
    }
    for (const t of [1, 2, 3]) {
      const got = withThreads(t, () => svm.anomalyScore(test));
      expect(Array.from(got)).toEqual(Array.from(want));
    }
  });
});
