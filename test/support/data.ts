/** Small matrices and assertions shared by tests. */
import { expect } from 'vitest';
import { DataValidationError } from '../../src/core/errors';
import type { DenseMatrix } from '../../src/core/matrix';
import type { Random } from '../../src/core/random';

/** `n` rows of `d` standard normals, `shift` added to the first `nShifted` features. */
export function blob(n: number, d: number, rng: Random, shift = 0, nShifted = 0): DenseMatrix {
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let f = 0; f < d; f++) data[i * d + f] = rng.standardNormal() + (f < nShifted ? shift : 0);
  return { rows: n, cols: d, data };
}

/** Rows of `a` followed by rows of `b`. */
export function stack(a: DenseMatrix, b: DenseMatrix): DenseMatrix {
  const data = new Float64Array(a.data.length + b.data.length);
  data.set(a.data);
  data.set(b.data, a.data.length);
  return { rows: a.rows + b.rows, cols: a.cols, data };
}

/** Run `f`, expect it to throw a DataValidationError, and return it. */
export function dataError(f: () => unknown): DataValidationError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DataValidationError);
    return e as DataValidationError;
  }
  throw new Error('expected a DataValidationError');
}
