/**
 * The Mahalanobis kernels of src/compute/mahalanobis.ts (the PCA detector's default score): the
 * covariance, the blocked Cholesky factor and the blocked forward substitution, each against a
 * plain loop, with the WebAssembly tile and its JavaScript twin giving the same bits.
 */
import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random';
import { BLOCK, covariance, cholesky, forwardScores, largestEigenvalue } from '../../src/compute/mahalanobis';
import { EVD, Matrix } from 'ml-matrix';
import { denseKernels } from '../../src/compute/dense';

function rows(n: number, d: number, seed: number): Float64Array {
  const rng = new Random(seed);
  const a = new Float64Array(n * d);
  // correlated columns with different scales, and a constant one
  for (let i = 0; i < n; i++) {
    const z = rng.standardNormal();
    for (let j = 0; j < d; j++) a[i * d + j] = j === 1 ? 3 : (j + 1) * rng.standardNormal() + (j % 3) * z;
  }
  return a;
}

const relClose = (got: number, want: number, tol: number) => expect(Math.abs(got - want)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want)));

describe('covariance', () => {
  it.each([
    [5, 3],
    [40, 7],
    [300, 13],
    [260, 600], // several row blocks (R = 218 at 600 columns), fewer rows than columns
  ])('equals the plain two-pass covariance; WebAssembly and JavaScript agree to the bit (n=%i, d=%i)', (n, d) => {
    const X = rows(n, d, n + d);
    const { mean, cov } = covariance(X, n, d);
    const js = covariance(X, n, d, true);
    expect(Array.from(js.cov)).toEqual(Array.from(cov));
    expect(Array.from(js.mean)).toEqual(Array.from(mean));
    for (let a = 0; a < d; a += Math.max(1, Math.floor(d / 17))) {
      for (let b = 0; b < d; b += Math.max(1, Math.floor(d / 13))) {
        let s = 0;
        for (let i = 0; i < n; i++) s += (X[i * d + a] - mean[a]) * (X[i * d + b] - mean[b]);
        relClose(cov[a * d + b], s / (n - 1), 1e-12);
        expect(cov[a * d + b]).toBe(cov[b * d + a]);
      }
    }
    expect(cov[1 * d + 1]).toBe(0);
  });
});

const at = (i: number) => (i * (i + 1)) / 2;

describe('Cholesky', () => {
  it.each([9, BLOCK, BLOCK + 1, 3 * BLOCK + 5])('L Lᵀ = A + ridge·I; blocked with the tile, the same bits either way (d=%i)', (d) => {
    const n = d + 30;
    const X = rows(n, d, d);
    const { cov } = covariance(X, n, d);
    const ridge = 1e-3;
    const L = cholesky(cov, d, ridge)!;
    expect(Array.from(cholesky(cov, d, ridge, true)!)).toEqual(Array.from(L));
    for (let i = 0; i < d; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let k = 0; k <= j; k++) s += L[at(i) + k] * L[at(j) + k];
        expect(Math.abs(s - (cov[i * d + j] + (i === j ? ridge : 0)))).toBeLessThan(1e-11 * Math.max(1, cov[i * d + i], cov[j * d + j]));
      }
    }
  });

  it('the largest eigenvalue by 30 steps of power iteration: within 1 % of ml-matrix\'s, and no overflow on huge values', () => {
    for (const d of [9, 40]) {
      const { cov } = covariance(rows(200, d, d), 200, d);
      const C = new Matrix(d, d);
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) C.set(i, j, cov[i * d + j]);
      const want = Math.max(...new EVD(C, { assumeSymmetric: true }).realEigenvalues);
      relClose(largestEigenvalue(cov, d), want, 1e-2);
    }
    // variances near 1e300: the estimate stays finite (the squares of the iterate are scaled first)
    expect(largestEigenvalue(Float64Array.from([1e300, 0, 0, 5e299]), 2)).toBeCloseTo(1e300, -290);
    expect(largestEigenvalue(Float64Array.from([NaN, 0, 0, 1]), 2)).toBeNaN();
    expect(largestEigenvalue(new Float64Array(4), 2)).toBe(0);
  });

  it('the largest eigenvalue by power iteration: no unit vector has a larger Rayleigh quotient', () => {
    const d = 9;
    const { cov } = covariance(rows(50, d, 3), 50, d);
    const top = largestEigenvalue(cov, d, 200);
    const rng = new Random(9);
    for (let t = 0; t < 50; t++) {
      const v = Array.from({ length: d }, () => rng.standardNormal());
      const nv = Math.hypot(...v);
      let q = 0;
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) q += (v[i] * cov[i * d + j] * v[j]) / (nv * nv);
      expect(q).toBeLessThanOrEqual(top * (1 + 1e-9));
    }
  });

  it('is undefined when a pivot is not positive (the constant column without a ridge; a non-finite matrix)', () => {
    const d = 9;
    const { cov } = covariance(rows(50, d, 3), 50, d);
    expect(cholesky(cov, d, 0)).toBeUndefined();
    expect(cholesky(Float64Array.from([1, 2, 2, 1]), 2, 0)).toBeUndefined();
    expect(cholesky(Float64Array.from([Infinity, 0, 0, 1]), 2, 1)).toBeUndefined();
  });
});

describe('forwardScores', () => {
  it.each([
    [3, 6],
    [11, 37],
    [BLOCK + 3, 5],
    [300, 600], // five column blocks, three batches of rows
  ])('equal ‖y‖², L y = x − m, by a plain substitution; WebAssembly and JavaScript agree to the bit (d=%i, rows=%i)', (d, m) => {
    const n = d + 20;
    const X = rows(n, d, d);
    const { mean, cov } = covariance(X, n, d);
    const L = cholesky(cov, d, 1e-6)!;
    const Y = rows(m, d, d + 1);
    const got = forwardScores(L, mean, Y, m, d);
    expect(Array.from(forwardScores(L, mean, Y, m, d, true))).toEqual(Array.from(got));
    for (let r = 0; r < m; r += Math.max(1, Math.floor(m / 23))) {
      const y = new Float64Array(d);
      let s = 0;
      for (let i = 0; i < d; i++) {
        let t = Y[r * d + i] - mean[i];
        for (let k = 0; k < i; k++) t -= L[at(i) + k] * y[k];
        y[i] = t / L[at(i) + i];
        s += y[i] * y[i];
      }
      relClose(got[r], s, 1e-9);
    }
  });

  it('a row scores the same alone, in a small batch or in a large one (the tile reads zero norms for every panel of a block)', () => {
    // wide enough that a block's panels (up to 16) outnumber a small batch's rows
    for (const d of [2 * BLOCK + 5, BLOCK + 40]) {
      const n = d + 40;
      const X = rows(n, d, 7 * d);
      const { mean, cov } = covariance(X, n, d);
      const L = cholesky(cov, d, 1e-6)!;
      const m = 300;
      const Y = rows(m, d, d + 3);
      const all = forwardScores(L, mean, Y, m, d);
      for (const r of [0, 1, 57, 299]) {
        expect(forwardScores(L, mean, Y.subarray(r * d, (r + 1) * d), 1, d)[0], `d=${d} row ${r} alone`).toBe(all[r]);
        expect(forwardScores(L, mean, Y.subarray(r * d, (r + 1) * d), 1, d, true)[0]).toBe(all[r]);
      }
      const five = forwardScores(L, mean, Y.subarray(10 * d, 15 * d), 5, d);
      expect(Array.from(five)).toEqual(Array.from(all.subarray(10, 15)));
      // and the value itself, by a plain substitution
      const y = new Float64Array(d);
      let s = 0;
      for (let i = 0; i < d; i++) {
        let t = Y[i] - mean[i];
        for (let k = 0; k < i; k++) t -= L[at(i) + k] * y[k];
        y[i] = t / L[at(i) + i];
        s += y[i] * y[i];
      }
      relClose(all[0], s, 1e-9);
    }
  });

  it('run on WebAssembly SIMD here (the test machine has it)', () => {
    expect(denseKernels()).toBeDefined();
  });
});
