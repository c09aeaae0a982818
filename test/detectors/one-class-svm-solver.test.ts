/**
 * The One-Class SVM's own solver (one-class-svm-solver.ts) gives libsvm's model exactly: the same
 * support vectors, coefficients and offset as libsvm-js (the C library compiled to WebAssembly),
 * on Gaussian rows, rows with ties and duplicates, several widths and ν; and the scoring paths
 * (distance tiles, the kernel generated per width, the plain loop) give the same scores to the bit.
 */
import { describe, expect, it } from 'vitest';
import type { DenseMatrix } from '../../src/core/matrix';
import { Random } from '../../src/core/random';
import { fitWithLibsvm, OneClassSvm, oneClassScoresWith } from '../../src/detectors/one-class-svm';
import { solveOneClass } from '../../src/detectors/one-class-svm-solver';
import { RbfKernelColumns } from '../../src/compute/dense';
import { parallelStats } from '../../src/compute/parallel';

function rows(n: number, d: number, seed: number, levels = 0): DenseMatrix {
  const r = new Random(seed);
  const data = new Float64Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = levels ? r.int(levels) : r.standardNormal();
  return { rows: n, cols: d, data };
}

describe('One-Class SVM solver', () => {
  it.each([
    [200, 3, 0.1, 0],
    [900, 10, 0.15, 0],
    [700, 57, 0.1, 0],
    [400, 6, 0.5, 0],
    [500, 5, 0.2, 3], // small integers: duplicated rows, tied kernel values
    [1200, 20, 0.05, 0],
  ])("equals libsvm's model (n=%i, d=%i, nu=%f, integer levels %i)", async (n, d, nu, levels) => {
    const X = rows(n, d, n + d, levels);
    const gamma = 1 / d;
    const ref = await fitWithLibsvm(X, { nu, gamma, tolerance: 1e-3, cacheSizeMb: 200 });
    // a small cache too: columns evicted and recomputed, partial columns extended
    for (const cacheSizeMb of [200, (3 * n * 4) / 2 ** 20]) {
      const sol = solveOneClass(X, { nu, gamma, eps: 1e-3, cacheSizeMb });
      const picked: number[] = [];
      for (let i = 0; i < n; i++) if (sol.alpha[i] !== 0) picked.push(i);
      expect(picked.length).toBe(ref.nSupportVectors);
      expect(picked.map((i) => sol.alpha[i])).toEqual(Array.from(ref.dualCoef));
      expect(sol.rho).toBe(ref.rho);
      const sv = new Float64Array(picked.length * d);
      picked.forEach((i, k) => sv.set(X.data.subarray(i * d, i * d + d), k * d));
      expect(Array.from(sv)).toEqual(Array.from(ref.supportVectors));
    }
  });

  it('computes kernel columns as libsvm, whichever way: one column, a part of one, several at once, after swaps', () => {
    const X = rows(37, 9, 5);
    const gamma = 0.3;
    const wasm = new RbfKernelColumns(X, gamma);
    const js = new RbfKernelColumns(X, gamma, true);
    const direct = (i: number, r: number): number => {
      let xi = 0;
      let xr = 0;
      let dot = 0;
      for (let f = 0; f < 9; f++) {
        xi += X.data[i * 9 + f] * X.data[i * 9 + f];
        xr += X.data[r * 9 + f] * X.data[r * 9 + f];
        dot += X.data[i * 9 + f] * X.data[r * 9 + f];
      }
      return Math.fround(Math.exp(-gamma * (xi + xr - 2 * dot)));
    };
    const perm = Array.from({ length: 37 }, (_, i) => i);
    for (const K of [wasm, js]) {
      const one = new Float32Array(37);
      K.column(6, 0, 37, one);
      expect(Array.from(one)).toEqual(perm.map((r) => direct(6, r)));
      const three = K.columnsInto([3, 36, 20]);
      [3, 36, 20].forEach((i, c) => expect(Array.from(three.subarray(c * K.columnStride, c * K.columnStride + 37))).toEqual(perm.map((r) => direct(i, r))));
    }
    // positions swapped: columns by position
    for (const [a, b] of [[2, 30], [0, 5], [30, 36]]) {
      wasm.swap(a, b);
      js.swap(a, b);
      [perm[a], perm[b]] = [perm[b], perm[a]];
    }
    for (const K of [wasm, js]) {
      const part = new Float32Array(37).fill(-1);
      K.column(30, 5, 23, part);
      for (let r = 0; r < 37; r++) expect(part[r]).toBe(r >= 5 && r < 23 ? direct(perm[30], perm[r]) : -1);
    }
  });

  it('computes up to 64 whole columns at once, on worker threads too, and an older instance refuses once a newer one took the arena', () => {
    const X = rows(301, 30, 8);
    const gamma = 0.05;
    const K = new RbfKernelColumns(X, gamma);
    const positions = Array.from({ length: 61 }, (_, c) => (c * 37) % 301);
    const one = positions.map((i) => {
      const col = new Float32Array(301);
      K.column(i, 0, 301, col);
      return Array.from(col);
    });
    for (const threads of [1, 2]) {
      const all = K.columnsInto(positions, threads);
      positions.forEach((_, c) => expect(Array.from(all.subarray(c * K.columnStride, c * K.columnStride + 301))).toEqual(one[c]));
    }
    expect(() => K.columnsInto(Array.from({ length: 65 }, (_, c) => c))).toThrow(/at most 64/);
    const newer = new RbfKernelColumns(X, gamma);
    expect(() => K.column(0, 0, 301, new Float32Array(301))).toThrow(/newer instance/);
    const col = new Float32Array(301);
    newer.column(positions[5], 0, 301, col);
    expect(Array.from(col)).toEqual(one[5]);
  });

  it('splits a long column over worker threads with the same values', () => {
    // 1,100 columns x 1,000 positions: above the million multiply-adds a column needs to be split
    const X = rows(1000, 1100, 9);
    const gamma = 1 / 1100;
    const single = new RbfKernelColumns(X, gamma);
    const want = [0, 999, 3].map((i) => {
      const col = new Float32Array(1000);
      single.column(i, 0, 1000, col);
      return Array.from(col);
    });
    const part = new Float32Array(1000).fill(-1);
    single.column(7, 13, 998, part);
    const split = new RbfKernelColumns(X, gamma, false, 2);
    const jobs = parallelStats.jobs;
    [0, 999, 3].forEach((i, c) => {
      const col = new Float32Array(1000);
      split.column(i, 0, 1000, col);
      expect(Array.from(col)).toEqual(want[c]);
    });
    const part2 = new Float32Array(1000).fill(-1);
    split.column(7, 13, 998, part2);
    expect(Array.from(part2)).toEqual(Array.from(part));
    expect(parallelStats.jobs).toBe(jobs + 4);
  });

  it.each([24, 57, 122])('scores the same to the bit by distance tiles, the generated kernel and the plain loop (d=%i)', async (d) => {
    const X = rows(300, d, d);
    const det = await new OneClassSvm({ nu: 0.2, seed: 1 }).fit(X);
    const Q = rows(777, d, d + 1);
    const generic = oneClassScoresWith(det, Q, 'generic');
    expect(Array.from(oneClassScoresWith(det, Q, 'tile'))).toEqual(Array.from(generic));
    if (d <= 64) expect(Array.from(oneClassScoresWith(det, Q, 'unrolled'))).toEqual(Array.from(generic));
    expect(Array.from(det.anomalyScore(Q))).toEqual(Array.from(generic));
  });
});
