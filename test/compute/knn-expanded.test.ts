/**
 * The brute force by matrix products (knn-expanded.ts) returns exactly the direct brute force's
 * neighbours and distances, to the bit: ties, duplicates, huge values, every k, worker threads,
 * the WebAssembly tile and its JavaScript twin.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DenseMatrix } from '../../src/core/matrix';
import { Random } from '../../src/core/random';
import { knnReduce, knnSearch, knnSearchWith, withExpandedSearch, type KnnResult, type NeighbourReducer } from '../../src/compute/knn';
import { expandedStats } from '../../src/compute/knn-expanded';

function gaussian(n: number, d: number, seed: number, scale = 1): DenseMatrix {
  const rng = new Random(seed);
  const data = new Float64Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = rng.standardNormal() * scale;
  return { rows: n, cols: d, data };
}

/** One-hot-like rows: small integers, many duplicated rows and exactly tied distances. */
function grid(n: number, d: number, seed: number, levels = 2): DenseMatrix {
  const rng = new Random(seed);
  const data = new Float64Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(levels);
  return { rows: n, cols: d, data };
}

/** `f`'s result, checking that it ran the search by matrix products. */
function expanded<T>(mode: 'wasm' | 'js', f: () => T): T {
  const before = expandedStats.searches;
  const r = withExpandedSearch(mode, f);
  expect(expandedStats.searches).toBeGreaterThan(before);
  return r;
}

function same(a: KnnResult, b: KnnResult): void {
  expect(a.k).toBe(b.k);
  expect(Array.from(a.indices)).toEqual(Array.from(b.indices));
  expect(Array.from(a.distances)).toEqual(Array.from(b.distances));
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

afterEach(() => {
  delete process.env.NAL_THREADS;
});

const MODES = ['wasm', 'js'] as const;

describe('knnSearch by matrix products', () => {
  it.each([
    [3, 1],
    [24, 5],
    [57, 20],
    [122, 60],
    [130, 150],
  ])('equals the direct brute force on Gaussian rows (d=%i, k=%i), leave-one-out too', (d, k) => {
    const index = gaussian(260, d, d);
    const queries = gaussian(37, d, 1000 + d);
    const want = knnSearchWith('brute', index, queries, k, { generic: true });
    const wantSelf = knnSearchWith('brute', index, index, k, { excludeSelf: true, generic: true });
    for (const mode of MODES) {
      same(expanded(mode, () => knnSearchWith('brute', index, queries, k)), want);
      same(expanded(mode, () => knnSearchWith('brute', index, index, k, { excludeSelf: true })), wantSelf);
    }
  });

  it('breaks ties by the lower index among duplicated rows and exactly tied distances', () => {
    for (const [d, k] of [
      [30, 7],
      [64, 40],
      [100, 200],
    ]) {
      const index = grid(300, d, d, 2);
      // duplicates of index rows among the queries, and rows of their own
      const queries: DenseMatrix = { rows: 40, cols: d, data: new Float64Array(40 * d) };
      queries.data.set(index.data.subarray(0, 20 * d));
      queries.data.set(grid(20, d, 99, 2).data, 20 * d);
      const want = knnSearchWith('brute', index, queries, k, { generic: true });
      const wantSelf = knnSearchWith('brute', index, index, k, { excludeSelf: true, generic: true });
      for (const mode of MODES) {
        same(expanded(mode, () => knnSearchWith('brute', index, queries, k)), want);
        same(expanded(mode, () => knnSearchWith('brute', index, index, k, { excludeSelf: true })), wantSelf);
      }
    }
  });

  it('keeps tiny distances apart among large norms (near-duplicates)', () => {
    const d = 32;
    const index = gaussian(200, d, 5);
    const queries = gaussian(20, d, 6);
    // near-duplicates: distances of 1e-12 against norms of about d * 1e6
    for (let f = 0; f < d; f++) {
      index.data[10 * d + f] = 1000 + f;
      index.data[11 * d + f] = 1000 + f + (f === 0 ? 1e-12 : 0);
      queries.data[4 * d + f] = 1000 + f + (f === 1 ? 1e-12 : 0);
    }
    for (const k of [1, 4, 30]) {
      const want = knnSearchWith('brute', index, queries, k, { generic: true });
      for (const mode of MODES) same(expanded(mode, () => knnSearchWith('brute', index, queries, k)), want);
    }
  });

  it('searches directly where float32 norms would overflow: huge finite values find their true nearest', () => {
    const d = 16;
    const rows = (vals: number[][]): DenseMatrix => {
      const data = new Float64Array(vals.length * d);
      vals.forEach((v, r) => v.forEach((x, f) => (data[r * d + f] = x)));
      return { rows: vals.length, cols: d, data };
    };
    // norms near 1.6e19: float32 squares overflow (a bound of +Infinity) while float64 is exact;
    // row 1 (distance 1e19) is nearer the query than row 0 (1.3e19)
    const index = rows([[0], [1.3e19, 1e19], [2.6e19, 1e19], [1.3e19]]);
    const queries = rows([[1.3e19]]);
    for (const mode of MODES) {
      const got = withExpandedSearch(mode, () => knnSearch(index, queries, 2));
      same(got, knnSearchWith('brute', index, queries, 2, { generic: true }));
      expect(got.indices[0]).toBe(3);
      expect(got.indices[1]).toBe(1);
      same(
        withExpandedSearch(mode, () => knnSearch(index, index, 1, { excludeSelf: true })),
        knnSearchWith('brute', index, index, 1, { generic: true, excludeSelf: true }),
      );
    }
    // values near the float64 limit: squared norms overflow in float64 too
    const big = gaussian(200, 32, 5);
    const bigQ = gaussian(20, 32, 6);
    for (const r of [3, 50, 51, 199]) for (let f = 0; f < 32; f++) big.data[r * 32 + f] = (f % 2 ? 1 : -1) * 1e200;
    for (let f = 0; f < 32; f++) bigQ.data[2 * 32 + f] = (f % 2 ? 1 : -1) * 1e200;
    for (const k of [1, 4, 30]) {
      const want = knnSearchWith('brute', big, bigQ, k, { generic: true });
      for (const mode of MODES) same(withExpandedSearch(mode, () => knnSearch(big, bigQ, k)), want);
    }
  });

  it('equals the direct brute force on worker threads, and knnReduce gets the same lists', () => {
    const d = 48;
    const index = gaussian(1500, d, 11);
    const queries = gaussian(700, d, 12);
    const k = 25;
    const want = withThreads(1, () => withExpandedSearch('off', () => knnSearch(index, queries, k)));
    const kd = new Float64Array(index.rows).map((_, i) => (i % 7) / 3);
    const lrd = new Float64Array(index.rows).map((_, i) => 1 + (i % 5));
    const reducer: NeighbourReducer = {
      fn: (D, I, base, kk, a, b) => {
        let s = 0;
        for (let j = 0; j < kk; j++) s += (D[base + j] + a[I[base + j]]) * b[I[base + j]] * (j + 1);
        return s;
      },
      a: kd,
      b: lrd,
    };
    const wantReduced = withThreads(1, () => withExpandedSearch('off', () => knnReduce(index, queries, k, reducer)));
    for (const threads of [1, 2, 3]) {
      for (const mode of MODES) {
        same(withThreads(threads, () => expanded(mode, () => knnSearch(index, queries, k))), want);
        expect(Array.from(withThreads(threads, () => expanded(mode, () => knnReduce(index, queries, k, reducer))))).toEqual(Array.from(wantReduced));
      }
    }
  });
});
