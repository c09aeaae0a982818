/**
 * Standardisation fitted on training rows: `(x - mean) / scale`, scale = population standard
 * deviation (scikit-learn's `StandardScaler`). A constant column gets scale 1, so it maps to 0
 * instead of NaN.
 */
import { NotFittedError, FeatureMismatchError } from '../core/errors';
import { toDense, type DenseMatrix, type MatrixLike } from '../core/matrix';
import { assertFinite, assertMinRows } from '../core/validation';

/** JSON form of a fitted scaler. */
export interface StandardScalerState {
  mean: number[];
  scale: number[];
}

export class StandardScaler {
  private fitted?: { mean: Float64Array; scale: Float64Array };

  /**
   * Learn column means and standard deviations.
   * @throws DataValidationError on non-finite values or no rows
   */
  fit(X: MatrixLike): this {
    const m = toDense(X);
    assertMinRows(m, 1, 'StandardScaler');
    assertFinite(m);
    const { rows, cols, data } = m;
    const mean = new Float64Array(cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) mean[j] += data[i * cols + j];
    for (let j = 0; j < cols; j++) mean[j] /= rows;
    const varr = new Float64Array(cols);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const d = data[i * cols + j] - mean[j];
        varr[j] += d * d;
      }
    }
    const scale = new Float64Array(cols);
    for (let j = 0; j < cols; j++) {
      const sd = Math.sqrt(varr[j] / rows);
      // a column constant up to rounding noise is constant (scikit-learn's _is_constant_feature)
      scale[j] = sd > 10 * Number.EPSILON * Math.max(1, Math.abs(mean[j])) ? sd : 1;
    }
    this.fitted = { mean, scale };
    return this;
  }

  /** Column means. */
  get mean(): Float64Array {
    return this.require().mean;
  }

  /** Column scales (1 for constant columns). */
  get scale(): Float64Array {
    return this.require().scale;
  }

  /** Standardised copy of `X` (the input is not modified). */
  transform(X: MatrixLike): DenseMatrix {
    const { mean, scale } = this.require();
    const m = toDense(X);
    if (m.cols !== mean.length) throw new FeatureMismatchError('StandardScaler', mean.length, m.cols);
    const out = new Float64Array(m.data.length);
    const c = m.cols;
    for (let i = 0; i < m.rows; i++) {
      for (let j = 0; j < c; j++) out[i * c + j] = (m.data[i * c + j] - mean[j]) / scale[j];
    }
    return { rows: m.rows, cols: c, data: out };
  }

  /** `fit(X)` then `transform(X)`. */
  fitTransform(X: MatrixLike): DenseMatrix {
    return this.fit(X).transform(X);
  }

  /** Undo {@link transform}. */
  inverseTransform(X: MatrixLike): DenseMatrix {
    const { mean, scale } = this.require();
    const m = toDense(X);
    if (m.cols !== mean.length) throw new FeatureMismatchError('StandardScaler', mean.length, m.cols);
    const out = new Float64Array(m.data.length);
    const c = m.cols;
    for (let i = 0; i < m.rows; i++) for (let j = 0; j < c; j++) out[i * c + j] = m.data[i * c + j] * scale[j] + mean[j];
    return { rows: m.rows, cols: c, data: out };
  }

  /** JSON-safe state. */
  toJSON(): StandardScalerState {
    const { mean, scale } = this.require();
    return { mean: Array.from(mean), scale: Array.from(scale) };
  }

  /** Rebuild from {@link toJSON}. */
  static fromJSON(s: StandardScalerState): StandardScaler {
    const sc = new StandardScaler();
    if (!Array.isArray(s?.mean) || !Array.isArray(s?.scale) || s.mean.length !== s.scale.length) {
      throw new TypeError('StandardScaler state must have mean and scale arrays of equal length.');
    }
    sc.fitted = { mean: Float64Array.from(s.mean), scale: Float64Array.from(s.scale) };
    return sc;
  }

  private require() {
    if (!this.fitted) throw new NotFittedError('StandardScaler');
    return this.fitted;
  }
}
