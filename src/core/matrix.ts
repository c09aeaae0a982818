/**
 * The library's numeric matrix: row-major `Float64Array` with its shape. Every detector takes a
 * {@link MatrixLike} (a `number[][]`, a {@link DenseMatrix}, or an `ml-matrix` `Matrix`) and works
 * on a {@link DenseMatrix} internally, so no detector copies rows into arrays of arrays.
 */
import { Matrix as MlMatrix } from 'ml-matrix';
import { DataValidationError } from './errors';

/** Row-major dense matrix of doubles. */
export interface DenseMatrix {
  readonly rows: number;
  readonly cols: number;
  /** `rows * cols` values, row i at `data[i*cols .. i*cols+cols)`. */
  readonly data: Float64Array;
}

/** Anything the library accepts as a feature matrix. */
export type MatrixLike = DenseMatrix | readonly (readonly number[])[] | MlMatrix;

/** True when `x` is a {@link DenseMatrix}. */
export function isDenseMatrix(x: unknown): x is DenseMatrix {
  return (
    typeof x === 'object' &&
    x !== null &&
    (x as DenseMatrix).data instanceof Float64Array &&
    typeof (x as DenseMatrix).rows === 'number' &&
    typeof (x as DenseMatrix).cols === 'number'
  );
}

/** Build a {@link DenseMatrix}, checking that the buffer has `rows*cols` values. */
export function denseMatrix(rows: number, cols: number, data?: Float64Array): DenseMatrix {
  const d = data ?? new Float64Array(rows * cols);
  if (d.length !== rows * cols) {
    throw new RangeError(`denseMatrix: buffer has ${d.length} values, expected ${rows}x${cols}.`);
  }
  return { rows, cols, data: d };
}

/**
 * Convert any {@link MatrixLike} to a {@link DenseMatrix}. A DenseMatrix is returned as is (not
 * copied: callers must not mutate it). Ragged arrays are refused with the offending row.
 */
export function toDense(x: MatrixLike, what = 'X'): DenseMatrix {
  if (isDenseMatrix(x)) return x;
  if (x instanceof MlMatrix || MlMatrix.isMatrix(x)) {
    const m = x as MlMatrix;
    const out = new Float64Array(m.rows * m.columns);
    for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.columns; j++) out[i * m.columns + j] = m.get(i, j);
    return { rows: m.rows, cols: m.columns, data: out };
  }
  if (!Array.isArray(x)) {
    throw new TypeError(`${what} must be a number[][], a DenseMatrix or an ml-matrix Matrix.`);
  }
  const rows = x.length;
  const cols = rows > 0 ? (x[0] as readonly number[]).length : 0;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const r = x[i] as readonly number[];
    if (!r || r.length !== cols) {
      throw new DataValidationError(`${what} has ${r ? r.length : 0} values in this row, expected ${cols}.`, {
        row: i + 1,
      });
    }
    for (let j = 0; j < cols; j++) out[i * cols + j] = r[j];
  }
  return { rows, cols, data: out };
}

/** Row `i` as a subarray view (no copy). */
export function row(m: DenseMatrix, i: number): Float64Array {
  return m.data.subarray(i * m.cols, (i + 1) * m.cols);
}

/** The rows at `indices`, copied into a new matrix. */
export function takeRows(m: DenseMatrix, indices: ArrayLike<number>): DenseMatrix {
  const out = new Float64Array(indices.length * m.cols);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    out.set(m.data.subarray(i * m.cols, (i + 1) * m.cols), k * m.cols);
  }
  return { rows: indices.length, cols: m.cols, data: out };
}

/** Column `j` copied out. */
export function column(m: DenseMatrix, j: number): Float64Array {
  const out = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) out[i] = m.data[i * m.cols + j];
  return out;
}

/** The matrix as `number[][]` (for display and JSON). */
export function toArrays(m: DenseMatrix): number[][] {
  const out: number[][] = new Array(m.rows);
  for (let i = 0; i < m.rows; i++) out[i] = Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols));
  return out;
}

/** The matrix as an `ml-matrix` Matrix. */
export function toMlMatrix(m: DenseMatrix): MlMatrix {
  return new MlMatrix(toArrays(m));
}
