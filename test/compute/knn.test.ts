import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DenseMatrix } from '../../src/core/matrix';
import { Random } from '../../src/core/random';
import { knnAutoMethod, knnLeaveOneOut, knnReduce, knnSearch, knnSearchGeneric, knnSearchWith, type KnnResult, type NeighbourReducer } from '../../src/compute/knn';
import { parallelStats } from '../../src/compute/parallel';

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

/** Rows on a few clusters of integer points: low intrinsic dimension, many exact ties and duplicates. */
function clustered(n: number, d: number, seed: number): DenseMatrix {
  const rng = new Random(seed);
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = rng.int(4) * 10;
    for (let f = 0; f < d; f++) data[i * d + f] = c + rng.int(3);
  }
  return { rows: n, cols: d, data };
}

function withEnv<T>(name: string, value: string, f: () => T): T {
  const saved = process.env[name];
  process.env[name] = value;
  try {
    return f();
  } finally {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
  }
}

describe('knnSearch kd-tree', () => {
  const methods = [
    ['tree', false],
    ['tree', true],
    ['brute', false],
    ['brute', true],
  ] as const;

  it.each([
    ['Gaussian', 1],
    ['Gaussian', 2],
    ['Gaussian', 5],
    ['Gaussian', 10],
    ['Gaussian', 40],
    ['grid', 2],
    ['grid', 3],
    ['grid', 12],
    ['clustered', 4],
  ] as const)('gives the naive search, to the bit, on %s data (d=%i), k = 1 .. n', (kind, d) => {
    const make = kind === 'Gaussian' ? gaussian : kind === 'grid' ? grid : clustered;
    const index = make(300, d, 11 + d);
    const queries = make(61, d, 12 + d);
    for (const k of [1, 7, 40, 300]) {
      const want = naive(index, queries, k);
      for (const [method, generic] of methods) expectSame(knnSearchWith(method, index, queries, k, { generic }), want);
    }
  });

  it.each([1, 3, 10])('gives the naive leave-one-out search (excludeSelf, d=%i), k = 1 .. n - 1, with duplicates', (d) => {
    for (const X of [gaussian(257, d, 3 * d), grid(257, d, 4 * d, 2), clustered(257, d, 5 * d)]) {
      for (const k of [1, 5, 33, 256]) {
        const want = naive(X, X, k, true);
        for (const [method, generic] of methods) expectSame(knnSearchWith(method, X, X, k, { excludeSelf: true, generic }), want);
      }
    }
  });

  it('handles all-identical rows and a single distinct coordinate (zero-width boxes)', () => {
    const same: DenseMatrix = { rows: 200, cols: 3, data: new Float64Array(600).fill(1.5) };
    const line: DenseMatrix = { rows: 200, cols: 3, data: new Float64Array(600) };
    for (let i = 0; i < 200; i++) line.data[i * 3 + 1] = i % 7;
    for (const X of [same, line]) {
      for (const k of [1, 20, 199]) {
        expectSame(knnSearchWith('tree', X, X, k, { excludeSelf: true }), naive(X, X, k, true));
        expectSame(knnSearchWith('tree', X, gaussian(30, 3, 9), k), naive(X, gaussian(30, 3, 9), k));
      }
    }
  });

  it('equals the brute force on many queries split over worker threads', () => {
    const X = clustered(3000, 3, 21);
    const Q = clustered(5000, 3, 22);
    for (const k of [1, 25]) {
      const want = withEnv('NAL_THREADS', '1', () => knnSearchWith('brute', X, Q, k));
      const before = parallelStats.jobs;
      const got = withEnv('NAL_THREADS', '2', () => knnSearchWith('tree', X, Q, k));
      expect(parallelStats.jobs).toBeGreaterThan(before);
      expectSame(got, want);
      expectSame(withEnv('NAL_THREADS', '1', () => knnSearchWith('tree', X, Q, k)), want);
    }
    for (const k of [10, 90]) {
      // from k + 1 = 64 each row (in tree order) starts from the previous row's list
      const loo = withEnv('NAL_THREADS', '1', () => knnSearchWith('brute', X, X, k, { excludeSelf: true }));
      expectSame(withEnv('NAL_THREADS', '2', () => knnSearchWith('tree', X, X, k, { excludeSelf: true })), loo);
      expectSame(withEnv('NAL_THREADS', '1', () => knnSearchWith('tree', X, X, k, { excludeSelf: true })), loo);
    }
  });

  it('gives the same result started from the index rows\' neighbour lists (indexNeighbours), whatever they hold', () => {
    const cases = [gaussian(300, 5, 31), grid(300, 3, 32), clustered(300, 4, 33)];
    for (const index of cases) {
      const d = index.cols;
      const queries = (d === 3 ? grid : d === 4 ? clustered : gaussian)(61, d, 40 + d);
      const n = index.rows;
      const rng = new Random(d);
      // the true lists, shorter and longer ones, and arbitrary rows (repeats, the row itself)
      const hints = [5, 40, 299].map((h) => knnSearch(index, index, h, { excludeSelf: true }).indices);
      hints.push(Int32Array.from({ length: n * 12 }, () => rng.int(n)));
      for (const k of [1, 7, 40, 100, 300]) {
        const want = naive(index, queries, k);
        for (const indexNeighbours of hints) {
          expectSame(knnSearchWith('tree', index, queries, k, { indexNeighbours }), want);
          expectSame(knnSearchWith('tree', index, queries, k, { indexNeighbours, generic: true }), want);
          expectSame(knnSearchWith('brute', index, queries, k, { indexNeighbours }), want);
        }
      }
    }
  });

  it('gives the same result with indexNeighbours on worker threads, call after call', () => {
    const X = clustered(3000, 3, 23);
    const Q = clustered(6000, 3, 24);
    const k = 80; // lists are used from k = 64
    const want = withEnv('NAL_THREADS', '1', () => knnSearchWith('brute', X, Q, k));
    const indexNeighbours = knnSearch(X, X, k, { excludeSelf: true }).indices;
    for (let call = 0; call < 3; call++) {
      const before = parallelStats.jobs;
      expectSame(withEnv('NAL_THREADS', '2', () => knnSearchWith('tree', X, Q, k, { indexNeighbours })), want);
      expect(parallelStats.jobs).toBeGreaterThan(before);
    }
    expectSame(withEnv('NAL_THREADS', '1', () => knnSearchWith('tree', X, Q, k, { indexNeighbours })), want);
  });

  it('knnReduce gives the reducer of knnSearch\'s lists in index order, to the bit, on worker threads or not', () => {
    const X = clustered(3000, 3, 25);
    const Q = clustered(6001, 3, 26);
    const weight = Float64Array.from({ length: 3000 }, (_, i) => 1 + (i % 7) / 3);
    const reducer: NeighbourReducer = {
      fn: (D, I, base, k, a, b) => {
        let s = 0;
        for (let j = 0; j < k; j++) s += D[base + j] * a[I[base + j]] + b[0];
        return s / k;
      },
      a: weight,
      b: Float64Array.of(0.25),
    };
    // the reducer sees each list in ascending index order
    const byHand = (r: KnnResult, m: number) =>
      Array.from({ length: m }, (_, q) => {
        const order = Array.from({ length: r.k }, (_, j) => q * r.k + j).sort((x, y) => r.indices[x] - r.indices[y]);
        return reducer.fn(Float64Array.from(order, (j) => r.distances[j]), Int32Array.from(order, (j) => r.indices[j]), 0, r.k, reducer.a, reducer.b);
      });
    for (const k of [1, 40, 100]) {
      const want = byHand(withEnv('NAL_THREADS', '1', () => knnSearchWith('brute', X, Q, k)), Q.rows);
      const indexNeighbours = knnSearch(X, X, 30, { excludeSelf: true }).indices;
      const before = parallelStats.jobs;
      expect(Array.from(withEnv('NAL_THREADS', '2', () => knnReduce(X, Q, k, reducer, { indexNeighbours })))).toEqual(want);
      expect(parallelStats.jobs).toBeGreaterThan(before);
      expect(Array.from(withEnv('NAL_THREADS', '2', () => knnReduce(X, Q, k, reducer)))).toEqual(want);
      expect(Array.from(withEnv('NAL_THREADS', '1', () => knnReduce(X, Q, k, reducer, { indexNeighbours })))).toEqual(want);
    }
    // the brute force on a small index selects instead of keeping heaps: same lists, ties included
    for (const [Xs, Qs] of [
      [grid(700, 4, 27, 2), grid(1501, 4, 28, 3)], // many exact ties and duplicated rows
      [gaussian(900, 6, 29), gaussian(777, 6, 30)],
    ] as const) {
      const w = Float64Array.from({ length: Xs.rows }, (_, i) => 1 + (i % 5));
      const r2 = { ...reducer, a: w };
      const byHand2 = (r: KnnResult, m: number) =>
        Array.from({ length: m }, (_, q) => {
          const order = Array.from({ length: r.k }, (_, j) => q * r.k + j).sort((x, y) => r.indices[x] - r.indices[y]);
          return r2.fn(Float64Array.from(order, (j) => r.distances[j]), Int32Array.from(order, (j) => r.indices[j]), 0, r.k, r2.a, r2.b);
        });
      for (const k of [1, 13, 200, Xs.rows]) {
        const want = byHand2(withEnv('NAL_THREADS', '1', () => knnSearchWith('brute', Xs, Qs, k)), Qs.rows);
        for (const threads of ['1', '2']) {
          expect(Array.from(withEnv('NAL_THREADS', threads, () => withEnv('NAL_KNN_METHOD', 'brute', () => knnReduce(Xs, Qs, k, r2))))).toEqual(want);
        }
      }
    }
    // non-finite values keep the heap search's semantics
    const Xn = gaussian(300, 2, 31);
    Xn.data[7] = NaN;
    const Qn = gaussian(50, 2, 32);
    const wn = { ...reducer, a: new Float64Array(300).fill(1) };
    const wantN = knnSearch(Xn, Qn, 9);
    const gotN = knnReduce(Xn, Qn, 9, wn);
    for (let q = 0; q < Qn.rows; q++) {
      const order = Array.from({ length: 9 }, (_, j) => q * 9 + j).sort((x, y) => wantN.indices[x] - wantN.indices[y]);
      expect(gotN[q]).toBe(wn.fn(Float64Array.from(order, (j) => wantN.distances[j]), Int32Array.from(order, (j) => wantN.indices[j]), 0, 9, wn.a, wn.b));
    }
    // leave-one-out and an empty query set go through the same checks as knnSearch
    const loo = byHand(knnSearch(X, X, 5, { excludeSelf: true }), X.rows);
    expect(Array.from(knnReduce(X, X, 5, reducer, { excludeSelf: true }))).toEqual(loo);
    expect(knnReduce(X, { rows: 0, cols: 3, data: new Float64Array(0) }, 5, reducer)).toHaveLength(0);
    expect(() => knnReduce(X, Q, 3001, reducer)).toThrow(/k must be an integer in \[0, 3000\]/);
  });

  it('refuses neighbour lists that do not fit the index, naming the bad entry', () => {
    const X = gaussian(200, 2, 3);
    const Q = gaussian(10, 2, 4);
    expect(() => knnSearch(X, Q, 3, { indexNeighbours: new Int32Array(201) })).toThrow(/indexNeighbours must be an Int32Array of 200 rows x h neighbours \(got length 201\)/);
    const bad = new Int32Array(400);
    bad[77] = 200;
    expect(() => knnSearch(X, Q, 3, { indexNeighbours: bad })).toThrow(/indexNeighbours\[77\] = 200 is not a row of the 200-row index/);
    bad[77] = -1;
    expect(() => knnSearch(X, Q, 3, { indexNeighbours: bad })).toThrow(/indexNeighbours\[77\] = -1/);
  });

  it('keeps the brute force for non-finite values', () => {
    const X = gaussian(300, 2, 1);
    X.data[5] = NaN;
    X.data[17] = Infinity;
    const Q = gaussian(20, 2, 2);
    expectSame(knnSearchWith('tree', X, Q, 5), knnSearchWith('brute', X, Q, 5));
  });

  it('chooses the tree for low intrinsic dimension and the brute force for high', () => {
    const low = clustered(4000, 3, 1);
    expect(knnAutoMethod(low, clustered(2000, 3, 2), 20).method).toBe('tree');
    const high = gaussian(4000, 40, 3);
    expect(knnAutoMethod(high, gaussian(2000, 40, 4), 20).method).toBe('brute');
    // too small to be worth a tree
    expect(knnAutoMethod(gaussian(100, 2, 5), gaussian(100, 2, 6), 5).method).toBe('brute');
  });

  it('remembers the verdict per index and k, and refuses an unknown NAL_KNN_METHOD', () => {
    const X = clustered(4000, 3, 7);
    const Q = clustered(2000, 3, 8);
    const first = knnSearch(X, Q, 20);
    expectSame(knnSearch(X, Q, 20), first); // second call: remembered verdict, same result
    const saved = process.env.NAL_KNN_METHOD;
    process.env.NAL_KNN_METHOD = 'kdtree';
    try {
      expect(() => knnSearch(X, Q, 20)).toThrow(/NAL_KNN_METHOD must be auto, brute or tree, got 'kdtree'/);
    } finally {
      if (saved === undefined) delete process.env.NAL_KNN_METHOD;
      else process.env.NAL_KNN_METHOD = saved;
    }
  });

  it('property: the tree gives the naive search on small integer data (ties everywhere)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 2, max: 150 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 1e6 }),
        fc.boolean(),
        (d, n, m, seed, loo) => {
          const X = grid(n, d, seed, 1 + (seed % 4));
          const Q = loo ? X : grid(m, d, seed + 1, 3);
          const k = 1 + (seed % (loo ? n - 1 : n));
          const want = naive(X, Q, k, loo);
          expectSame(knnSearchWith('tree', X, Q, k, { excludeSelf: loo }), want);
          expectSame(knnSearchWith('tree', X, Q, k, { excludeSelf: loo, generic: true }), want);
        },
      ),
      { numRuns: 60, seed: 7 },
    );
  });
});

describe('knnLeaveOneOut', () => {
  it('hands every row its leave-one-out neighbours of knnSearch, a batch at a time (tree, brute force, matrix products)', () => {
    for (const [X, k] of [
      [gaussian(900, 3, 1), 40], // low-dimensional: the kd-tree
      [grid(700, 4, 2), 12], // ties and duplicates
      [gaussian(500, 30, 3), 25], // wide: matrix products
    ] as const) {
      for (const method of ['auto', 'brute', 'tree'] as const) {
        const want = knnSearchWith(method, X, X, k, { excludeSelf: true });
        const I = new Int32Array(X.rows * k).fill(-1);
        const D = new Float64Array(X.rows * k).fill(-1);
        const seen = new Set<number>();
        let batches = 0;
        const saved = process.env.NAL_KNN_METHOD;
        process.env.NAL_KNN_METHOD = method;
        try {
          knnLeaveOneOut(X, k, (rows, bi, bd, m) => {
            batches++;
            expect(m).toBeLessThanOrEqual(128);
            for (let r = 0; r < m; r++) {
              expect(seen.has(rows[r])).toBe(false);
              seen.add(rows[r]);
              I.set(bi.subarray(r * k, r * k + k), rows[r] * k);
              D.set(bd.subarray(r * k, r * k + k), rows[r] * k);
            }
          }, 128);
        } finally {
          if (saved === undefined) delete process.env.NAL_KNN_METHOD;
          else process.env.NAL_KNN_METHOD = saved;
        }
        expect(seen.size).toBe(X.rows);
        expect(batches).toBe(Math.ceil(X.rows / 128));
        expectSame({ k, indices: I, distances: D }, want);
      }
    }
  });
});
