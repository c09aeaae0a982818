/**
 * Per-column empirical distribution functions of training rows, the shared arithmetic of
 * {@link Ecod} and {@link Copod}: each column's training values sorted once, then for any value
 * the share of training values at or below it (left tail) and at or above it (right tail), found by
 * binary search. Plus the sign of each column's skewness, which both methods use to pick a tail.
 */
import type { DenseMatrix } from '../core/matrix';

/** Sorted training columns: column `j`'s values ascending at `sorted[j*n .. j*n + n)`. */
export interface SortedColumns {
  /** Training rows. */
  n: number;
  /** Columns. */
  d: number;
  /** `d x n`, column-major, each column ascending. */
  sorted: Float64Array;
}

/** Sort every column of `X` (row-major) into a column-major block. */
export function sortColumns(X: DenseMatrix): SortedColumns {
  const { rows: n, cols: d, data } = X;
  const sorted = new Float64Array(n * d);
  for (let j = 0; j < d; j++) {
    const col = sorted.subarray(j * n, j * n + n);
    for (let i = 0; i < n; i++) col[i] = data[i * d + j];
    col.sort();
  }
  return { n, d, sorted };
}

/** Number of values in the ascending `s[lo .. lo + n)` that are `<= x`. */
export function countAtMost(s: Float64Array, lo: number, n: number, x: number): number {
  let a = 0;
  let b = n;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (s[lo + m] <= x) a = m + 1;
    else b = m;
  }
  return a;
}

/** Number of values in the ascending `s[lo .. lo + n)` that are `>= x`. */
export function countAtLeast(s: Float64Array, lo: number, n: number, x: number): number {
  let a = 0;
  let b = n;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (s[lo + m] < x) a = m + 1;
    else b = m;
  }
  return n - a;
}

/**
 * Negative log tail probabilities of every cell of `X` against the training columns:
 * `left[i*d + j] = -ln P(train_j <= x_ij)`, `right[i*d + j] = -ln P(train_j >= x_ij)`.
 *
 * A scored row counts as one more row of the training data (PyOD's ECOD and COPOD score new rows
 * by refitting on the training rows plus the new ones): P = (count + 1) / (n + 1), so a value beyond
 * every training value has probability 1 / (n + 1), never 0. With `leaveOneOut` the rows of `X`
 * are the training rows themselves and each is left out of its own count, which gives count / n,
 * the same formula applied to the other n - 1 rows.
 */
export function tailLogProbabilities(cols: SortedColumns, X: DenseMatrix, leaveOneOut = false): { left: Float64Array; right: Float64Array } {
  const { n, d, sorted } = cols;
  const m = X.rows;
  const left = new Float64Array(m * d);
  const right = new Float64Array(m * d);
  const denom = leaveOneOut ? n : n + 1;
  const add = leaveOneOut ? 0 : 1;
  for (let j = 0; j < d; j++) {
    const lo = j * n;
    for (let i = 0; i < m; i++) {
      const x = X.data[i * d + j];
      left[i * d + j] = -Math.log((countAtMost(sorted, lo, n, x) + add) / denom);
      right[i * d + j] = -Math.log((countAtLeast(sorted, lo, n, x) + add) / denom);
    }
  }
  return { left, right };
}

/**
 * Sign of each column's sample skewness (-1, 0 or 1), from the sorted columns: the third central
 * moment's sign (0 for a constant or exactly symmetric column, as scipy's `skew` with NaN read as 0).
 */
export function skewSigns(cols: SortedColumns): Int8Array {
  const { n, d, sorted } = cols;
  const out = new Int8Array(d);
  for (let j = 0; j < d; j++) {
    const c = sorted.subarray(j * n, j * n + n);
    let mean = 0;
    for (let i = 0; i < n; i++) mean += c[i];
    mean /= n;
    let m2 = 0;
    let m3 = 0;
    for (let i = 0; i < n; i++) {
      const e = c[i] - mean;
      m2 += e * e;
      m3 += e * e * e;
    }
    // relative to the spread, so rounding noise of a symmetric or constant column reads as 0
    const scale = Math.pow(m2 / n, 1.5);
    const g = scale > 0 ? m3 / n / scale : 0;
    out[j] = Math.abs(g) < 1e-12 ? 0 : g > 0 ? 1 : -1;
  }
  return out;
}
