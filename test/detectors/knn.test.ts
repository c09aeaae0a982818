import { describe, expect, it } from 'vitest';
import type { DenseMatrix } from '../../src/core/matrix';
import { Random } from '../../src/core/random';
import { knnSearch, knnSearchGeneric, type KnnResult } from '../../src/detectors/knn';

function gaussian(n: number, d: number, seed: number): DenseMatrix {
  const rng = new Random(seed);
  const data = new Float64Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = rng.standardNormal();
  return { rows: n, cols: d, data };
}

/** Small integers: many exactly tied distances and duplicated rows. */
function grid(n: number, d: number, seed: number, levels = 3): DenseMatrix {
  const rng = new Random(seed);
  const data = new Float64Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(levels);
  return { rows: n, cols: d, data };
}

/** Every distance, sorted by (squared distance, index): the definition knnSearch must match. */
function naive(index: DenseMatrix, queries: DenseMatrix, k: number, excludeSelf = false): KnnResult {
  const d = index.cols;
  const indices = new Int32Array(queries.rows * k);
  const distances = new Float64Array(queries.rows * k);
  for (let q = 0; q < queries.rows; q++) {
    const all: { j: number; s: number }[] = [];
    for (let j = 0; j < index.rows; j++) {
      if (excludeSelf && j === q) continue;
      let s = 0;
      for (let f = 0; f < d; f++) {
        const t = index.data[j * d + f] - queries.data[q * d + f];
        s += t * t;
      }
      all.push({ j, s });
    }
    all.sort((a, b) => a.s - b.s || a.j - b.j);
    for (let r = 0; r < k; r++) {
      indices[q * k + r] = all[r].j;
      distances[q * k + r] = Math.sqrt(all[r].s);
    }
  }
  return { k, indices, distances };
}

function expectSame(got: KnnResult, want: KnnResult): void {
  expect(got.k).toBe(want.k);
  expect(Array.from(got.indices)).toEqual(Array.from(want.indices));
  expect(Array.from(got.distances)).toEqual(Array.from(want.distances));
}

describe('knnSearch', () => {
  it.each([
    [1, 5],
    [3, 7],
    [10, 20],
    [17, 4],
  ])('matches a naive search on Gaussian data (d=%i, k=%i), odd and even query counts', (d, k) => {
    const index = gaussian(150, d, 1 + d);
    for (const m of [37, 38]) {
      const queries = gaussian(m, d, 100 + d + m);
      expectSame(knnSearch(index, queries, k), naive(index, queries, k));
      expectSame(knnSearchGeneric(index, queries, k), naive(index, queries, k));
    }
  });

  it.each([1, 4, 10])('matches a naive leave-one-out search (excludeSelf, d=%i)', (d) => {
    const X = gaussian(120, d, 7 * d);
    const want = naive(X, X, 9, true);
    expectSame(knnSearch(X, X, 9, { excludeSelf: true }), want);
    expectSame(knnSearchGeneric(X, X, 9, { excludeSelf: true }), want);
    // A copy of the rows is accepted as "the same rows".
    const copy = { rows: X.rows, cols: X.cols, data: X.data.slice() };
    expectSame(knnSearch(X, copy, 9, { excludeSelf: true }), want);
  });

  it('breaks ties by the lower index and sees duplicates (but not itself) leave-one-out', () => {
    const X = grid(200, 3, 5);
    for (const k of [1, 6, 30]) {
      expectSame(knnSearch(X, X, k, { excludeSelf: true }), naive(X, X, k, true));
      expectSame(knnSearchGeneric(X, X, k, { excludeSelf: true }), naive(X, X, k, true));
      const Q = grid(41, 3, 6);
      expectSame(knnSearch(X, Q, k), naive(X, Q, k));
    }
    const loo = knnSearch(X, X, 30, { excludeSelf: true });
    for (let i = 0; i < X.rows; i++) for (let j = 0; j < 30; j++) expect(loo.indices[i * 30 + j]).not.toBe(i);
  });

  it('finds a query equal to an index row at distance exactly 0 when not leaving one out', () => {
    const X = gaussian(50, 6, 3);
    const { indices, distances } = knnSearch(X, X, 1);
    for (let i = 0; i < X.rows; i++) {
      expect(indices[i]).toBe(i);
      expect(distances[i]).toBe(0);
    }
  });

  it('handles k = 0, k = n, no queries, and refuses a bad k, width or excludeSelf', () => {
    const X = gaussian(10, 2, 1);
    expect(knnSearch(X, X, 0).indices.length).toBe(0);
    expectSame(knnSearch(X, X, 10), naive(X, X, 10));
    expectSame(knnSearch(X, X, 9, { excludeSelf: true }), naive(X, X, 9, true));
    expect(knnSearch(X, { rows: 0, cols: 2, data: new Float64Array(0) }, 3).indices.length).toBe(0);
    expect(() => knnSearch(X, X, 11)).toThrow(RangeError);
    expect(() => knnSearch(X, X, 10, { excludeSelf: true })).toThrow(RangeError);
    expect(() => knnSearch(X, X, 1.5)).toThrow(RangeError);
    expect(() => knnSearch(X, gaussian(3, 3, 1), 1)).toThrow(RangeError);
    expect(() => knnSearch(X, gaussian(10, 2, 2), 1, { excludeSelf: true })).toThrow(RangeError);
  });
});
