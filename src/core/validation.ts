/** Input checks shared by detectors, the scaler and the ensemble. */
import { DataValidationError } from './errors';
import type { DenseMatrix } from './matrix';

/**
 * Throw a {@link DataValidationError} naming the first non-finite cell (NaN, Infinity, -Infinity).
 * Rows are reported 1-based; `columnNames` (when given) name the column.
 */
export function assertFinite(m: DenseMatrix, what = 'X', columnNames?: readonly string[]): void {
  const d = m.data;
  for (let k = 0; k < d.length; k++) {
    const v = d[k];
    if (v - v !== 0) {
      // NaN or +-Infinity: v - v is NaN for all three
      const i = Math.floor(k / m.cols);
      const j = k - i * m.cols;
      throw new DataValidationError(`${what} has a non-finite value (${v}); remove or impute it before fitting or scoring.`, {
        row: i + 1,
        column: columnNames?.[j] ?? `#${j + 1}`,
      });
    }
  }
}

/** Throw unless `m` has at least `min` rows; `why` says who needs them. */
export function assertMinRows(m: DenseMatrix, min: number, why: string): void {
  if (m.rows < min) {
    throw new DataValidationError(`${why} needs at least ${min} training rows, got ${m.rows}.`);
  }
}

/** Throw unless `m` has at least one column. */
export function assertHasColumns(m: DenseMatrix, what = 'X'): void {
  if (m.cols < 1) throw new DataValidationError(`${what} has no feature columns.`);
}
